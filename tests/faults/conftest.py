"""The integration suite's fixtures (the test's app, its marks dir, worker processes)."""

from tests.integration.conftest import app, marks, procs

__all__ = ["app", "marks", "procs"]
