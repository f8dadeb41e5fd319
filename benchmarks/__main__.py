"""``python -m benchmarks``: the performance benchmark (see benchmarks/performance.py)."""

from benchmarks.performance import main

raise SystemExit(main())
