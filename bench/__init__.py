"""Benchmarks of the reference server: `python -m bench.bench_server` (run by `tox -e bench`)."""
