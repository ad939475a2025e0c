#!/usr/bin/env python
"""Run every ``bench_*.py`` in this folder, one after the other, and print their figures (``make bench``).

    .venv/bin/python tests/benchmarks/run.py            # all of them
    .venv/bin/python tests/benchmarks/run.py fleet      # only those whose name contains "fleet"
    .venv/bin/python tests/benchmarks/run.py --latency 80 fleet   # options before the words go to every benchmark

Every benchmark that talks to the emulator runs once per latency (``--latency``, default 0 and 80 ms per request,
see _harness.bench_parser) and prints each pass with its ratio to the rate-limit floor.

Each benchmark runs in its own interpreter, so one that fails does not hide the others; the exit status is
non-zero if any failed. Benchmarks print numbers and assert nothing about time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv):
    options = []
    while argv and argv[0] in ("--latency", "--scale") and len(argv) > 1:
        options += argv[:2]
        argv = argv[2:]
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [script for script in scripts if any(word in script.stem for word in argv)]
    if not scripts:
        print("no benchmark matches %s" % " ".join(argv))
        return 2
    outcomes = []
    for script in scripts:
        print("\n### %s" % script.relative_to(HERE.parents[1]), flush=True)
        started = time.monotonic()
        # bench_import measures import time: no emulator, no latency.
        passed = options if script.stem != "bench_import" else []
        code = subprocess.call([sys.executable, str(script)] + passed, cwd=str(HERE.parents[1]))
        outcomes.append((script.name, code, time.monotonic() - started))
    print("\n### summary")
    for name, code, seconds in outcomes:
        print("%-32s %-8s %7.1f s" % (name, "ok" if code == 0 else "FAILED(%d)" % code, seconds))
    return 0 if all(code == 0 for _name, code, _seconds in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
