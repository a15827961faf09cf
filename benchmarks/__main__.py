"""``python -m benchmarks``: run the benchmarks (see run.py)."""

from benchmarks.run import main

main()
