#!/usr/bin/env bash
# The tutorial (docs/tutorial.md), step by step: its code blocks are the sections below.
# tests/docs/test_tutorial.py runs it in an empty directory holding only tasks.py, with a
# fresh PostgreSQL database, as a new user would. Run by hand, it leaves nothing running.
set -euo pipefail

wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $*" >&2; exit 1; }
    sleep 0.2
  done
}
state_of() { rota --app tasks.py runs show "$1" --json | python -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
trap 'kill $NODE1 $NODE2 2>/dev/null || true; wait 2>/dev/null || true' EXIT
NODE1='' NODE2=''

# --8<-- [start:install]
python3 -m venv .venv
. .venv/bin/activate
pip install 'rota[postgres,web]'
# --8<-- [end:install]

# --8<-- [start:database]
export ROTA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/rota_tutorial
rota --app tasks.py db upgrade
rota --app tasks.py jobs
# --8<-- [end:database]

# --8<-- [start:nodes]
rota --app tasks.py run --port 8080 --queues default &   # node 1: worker, scheduler, API, dashboard
NODE1=$!
rota --app tasks.py worker --queues default,exports &    # node 2: a worker, exports too
NODE2=$!
# --8<-- [end:nodes]

wait_for 60 curl -sf http://127.0.0.1:8080/api/health
wait_for 60 sh -c '[ "$(rota --app tasks.py nodes --json | python -c "import json,sys; print(len(json.load(sys.stdin)))")" -ge 2 ]'

# --8<-- [start:launch]
rota --app tasks.py nodes
rota --app tasks.py launch make_thumbnail --arg photo_id=1 --wait
python -c 'from tasks import make_thumbnail; make_thumbnail.enqueue_many([{"photo_id": i} for i in range(2, 42)])'
# --8<-- [end:launch]

wait_for 60 sh -c '[ "$(rota --app tasks.py runs list --job make_thumbnail --state succeeded --limit 100 --json | python -c "import json,sys; print(len(json.load(sys.stdin)))")" -eq 41 ]'

# --8<-- [start:results]
rota --app tasks.py runs list --job make_thumbnail --limit 5
curl -s 'http://127.0.0.1:8080/api/runs?job=make_thumbnail&limit=40' \
  | python -c 'import json,sys; print(sorted({r["result"].split()[-1] for r in json.load(sys.stdin)["items"]}))'
# --8<-- [end:results]

# --8<-- [start:crash]
RUN=$(rota --app tasks.py launch export_album --arg album_id=7)
sleep 2                  # node 2 is exporting it...
kill -9 $NODE2           # ...and dies without a word
# --8<-- [end:crash]

wait_for 60 sh -c "[ \"\$(rota --app tasks.py runs show $RUN --json | python -c 'import json,sys; print(len(json.load(sys.stdin)[\"errors\"]))')\" -ge 1 ]"

# --8<-- [start:rescue]
rota --app tasks.py runs show $RUN                          # queued again, with a WorkerLost error
rota --app tasks.py worker --queues default,exports &       # node 2 comes back
NODE2=$!
# --8<-- [end:rescue]

wait_for 60 sh -c "[ \"\$(rota --app tasks.py runs show $RUN --json | python -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = succeeded ]"

# --8<-- [start:done]
rota --app tasks.py runs show $RUN
kill $NODE1 $NODE2       # SIGTERM: each node finishes its runs and exits
wait
# --8<-- [end:done]
echo "tutorial: done, run $RUN $(state_of "$RUN")"
