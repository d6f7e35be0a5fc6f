"""The peers of ``benchmarks/peers.py``, one module each, run in the benchmark venv only."""
