"""The scaling study: synthetic corpora of 5 to 50,000 articles made from the seed sentences; ingest time,
warm ask latency, peak memory and index load time per size. Same as `benchmarks/bench.py --scaling`.

    .venv/bin/python benchmarks/scaling.py --sizes 5,500,5000            # the real MiniLM at ingest
    .venv/bin/python benchmarks/scaling.py --sizes 50000 --embedding stand-in --batch-articles 1000
"""

from __future__ import annotations

import sys

from bench import main

if __name__ == "__main__":
    sys.exit(main(["--scaling", *sys.argv[1:]]))
