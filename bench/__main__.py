"""`make bench`: every benchmark in turn."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "incidents",
    "homepages",
    "callbacks",
    "delivery",
    "outage",
    "insights",
    "integration_save",
    "storm",
    "buzz",
)


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        module.main([])  # each with its own defaults
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
