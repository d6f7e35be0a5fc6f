"""How-to: schedules and misfires (docs/how-to/schedules.md; tests/examples runs it).

python examples/howto/schedules.py               # declares, stores and triggers them
rota --app examples/howto/schedules.py scheduler # fires them (rota run: worker too)
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import rota

app = rota.App()  # ROTA_DATABASE_URL, else sqlite:///rota.db
OSLO = ZoneInfo("Europe/Oslo")


# 02:00 Oslo time every night, correct across DST; a night missed while no scheduler was up
# is skipped rather than caught up (misfire="skip")
@app.periodic(cron="0 2 * * *", timezone="Europe/Oslo", misfire="skip")
def nightly_report() -> str:
    return "report sent"


# every 5 minutes, never two at once: a fire is skipped while the last run is still going
@app.periodic(every=300, overlap=False)
def sync_inventory() -> None: ...


@app.job
def remind(customer_id: int) -> str:
    return f"reminded customer {customer_id}"


def main() -> None:
    app.sync_schedules()  # what a starting scheduler does with the @app.periodic ones
    # a schedule added at run time, stored (it survives restarts), with its arguments;
    # after an outage, each missed fire time runs once (run_all, at most 100)
    app.add_schedule("remind-42", remind, every=3600, kwargs={"customer_id": 42}, misfire="run_all")
    names = [s.name for s in app.schedules.list()]
    print(names)
    print(
        [t.astimezone(OSLO).strftime("%H:%M") for t in app.schedules.upcoming("nightly_report", 3)]
    )
    app.schedules.pause("sync_inventory")  # no fire until resumed
    print(app.schedules.upcoming("sync_inventory"))
    handle = app.schedules.trigger("remind-42")  # one run now; the schedule is unchanged
    app.drain()
    print(handle.result(timeout=10))


if __name__ == "__main__":
    main()
# ['nightly_report', 'remind-42', 'sync_inventory']
# ['02:00', '02:00', '02:00']
# []
# reminded customer 42
