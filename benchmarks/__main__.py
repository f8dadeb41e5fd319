"""``python -m benchmarks``: the performance benchmark (see benchmarks/performance.py).

``python -m benchmarks startup`` measures only the command line's start-up (benchmarks/startup.py).
"""

import sys

if sys.argv[1:2] == ["startup"]:
    from benchmarks.startup import main

    raise SystemExit(main(sys.argv[2:]))

from benchmarks.performance import main

raise SystemExit(main())
