"""Throughput benchmarks of the pipeline, run by hand with `python -m benchmarks`.

Not part of the test suite: `tests/test_benchmarks_smoke.py` only checks that the runner works
at tiny sizes. Results are printed as a table and kept as JSON under `benchmarks/results/`.
"""
