"""Benchmarks of the pipeline, run by hand with `python -m benchmarks` (see `--help`).

Parts: rate efficiency per API, the pipeline's ceiling and the incremental cost of a sync
(extraction.py, against the vendor twins served by a child process: sandbox_process.py,
twins.py), peak memory of `pipeline backfill` run as a command (memory.py), and the loader
against executemany and COPY (loader.py). Not part of the test suite:
`tests/test_benchmarks_smoke.py` only checks that the runner works at tiny sizes. Results are
printed as a table and kept as JSON under `benchmarks/results/`.
"""
