"""Benchmarks, run with `python -m bench` (DATABASE_URL names the server to use)."""
