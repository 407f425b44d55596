"""Benchmarks: each prints ratios against a baseline measured in the same run.

Run all with `make bench`, or one with `python -m bench.incidents` (callbacks, delivery,
outage). They talk only to processes they start on 127.0.0.1, bound their loops, and stop
by themselves. They are not part of `make test`: shared machines are too noisy for
time-limited tests.
"""
