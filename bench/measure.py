"""Run one command and record its wall time and peak memory: `python -m bench.measure OUT.json LOG -- CMD...`.

It runs in a process of its own for each measured step, so the peak resident set size that
getrusage reports for its children belongs to that one command and nothing else.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m bench.measure OUT.json LOG -- CMD...", file=sys.stderr)
        return 2
    out, log, command = Path(argv[0]), Path(argv[1]), argv[3:]
    with log.open("ab") as sink:
        started = time.perf_counter()
        done = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.write_text(
        json.dumps(
            {
                "returncode": done.returncode,
                "wall_s": seconds,
                "peak_rss_bytes": usage.ru_maxrss * 1024,  # Linux reports kilobytes
                "cpu_s": usage.ru_utime + usage.ru_stime,
            }
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
