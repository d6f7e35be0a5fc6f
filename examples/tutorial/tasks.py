"""The tutorial's app (docs/tutorial.md): a photo site's background jobs.

tests/docs/test_tutorial.py follows the tutorial with it, in a fresh virtual environment.
"""

from __future__ import annotations

import os
import time

import rota

# The database comes from ROTA_DATABASE_URL. A node that stops heartbeating for 10 s loses its
# runs to the others (the default is 30 s; shorter here, so that the tutorial shows it soon).
app = rota.App(lease_seconds=10)


@app.job(max_attempts=3)
def make_thumbnail(photo_id: int) -> str:
    time.sleep(0.25)  # the work: resize a photo
    return f"photo {photo_id}: thumbnail made by process {os.getpid()}"


@app.job(queue="exports")
def export_album(album_id: int, ctx: rota.Context) -> str:
    pages = 8
    for page in range(1, pages + 1):
        time.sleep(1)  # the work: render a page
        ctx.progress(page, pages, f"page {page}")
    return f"album {album_id} exported by process {os.getpid()}"


@app.periodic(every=60)
def tidy_uploads() -> str:
    return "nothing to tidy"
