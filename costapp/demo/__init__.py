"""The demo dataset: a small, realistic GPU inference fleet written out as raw source files.

Generators here write only what a real deployment would receive (a FOCUS 1.0 CSV bill, DCGM
exporter scrapes, request logs as JSON Lines); the demo loader then feeds those files through
the real ingestion services. Everything is deterministic for a given seed.
"""
