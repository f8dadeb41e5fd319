"""``python -m benchmarks``: the performance benchmark (see benchmarks/performance.py).

``python -m benchmarks startup`` measures only the command line's start-up (benchmarks/startup.py).
``python -m benchmarks demo`` measures the teaching demo's CPU time and peak memory (benchmarks/demo.py).
"""

import sys

if sys.argv[1:2] == ["startup"]:
    from benchmarks.startup import main

    raise SystemExit(main(sys.argv[2:]))

if sys.argv[1:2] == ["demo"]:
    from benchmarks.demo import main as demo_main

    raise SystemExit(demo_main(sys.argv[2:]))

from benchmarks.performance import main

raise SystemExit(main())
