#!/usr/bin/env python3
"""Page faults per cold start, by the section of the binary they land in.

    infra/scripts/cold-start-faults.py [--lambda-dir DIR] [--runs N] FUNCTION ...

Runs `cold_start` (built with `cargo build --release -p pivota-bench --bin cold_start`) under
`perf record -e page-faults -c 1 -d`, which records every page fault with the address it touched, and
sorts each function's faults by where that address lies: a section of its `bootstrap` (`.data.rel.ro`
is the copy-on-write the loader's relocations cause; `.text` and `.rodata` are code and constants read
for the first time) or outside it (the heap, stacks, libc). Prints the mean per start. Needs `perf` with
access to software events and `readelf`.
"""

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MMAP = re.compile(r"PERF_RECORD_MMAP2 (\d+)/\d+: \[0x([0-9a-f]+)\(0x[0-9a-f]+\) @ (0x[0-9a-f]+|0) .*? (\S+/bootstrap)$")
SECTION = re.compile(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)")
SHOWN = [".data.rel.ro", ".text", ".rodata", ".rela.dyn"]


def sections(binary):
    """(start, end, name) of each allocated section, at the addresses the binary was linked for, by start:
    the last one ends the binary's image."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = SECTION.match(line)
        if m and int(m.group(2), 16):
            start = int(m.group(2), 16)
            found.append((start, start + int(m.group(3), 16), m.group(1)))
    return sorted(found)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lambda-dir", default="target/lambda")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-start", default="target/release/cold_start")
    parser.add_argument("functions", nargs="+")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        command = ["perf", "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-o", str(data), "--",
                   args.cold_start, "--lambda-dir", args.lambda_dir, "--runs", str(args.runs), *args.functions]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        script = subprocess.run(["perf", "script", "-i", str(data), "--show-mmap-events", "-F", "pid,addr"],
                                capture_output=True, text=True, check=True).stdout

    base = {}  # pid -> (function, load address of the bootstrap)
    layout = {}  # function -> its sections
    faults = collections.defaultdict(collections.Counter)
    for line in script.splitlines():
        m = MMAP.search(line)
        if m:
            pid, start, offset, binary = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4)
            function = Path(binary).parent.name
            if offset == 0 and function in args.functions:
                base[pid] = (function, start)
                if function not in layout:  # readelf once per function, not once per start
                    layout[function] = sections(binary)
            continue
        fields = line.split()
        if len(fields) != 2 or fields[0] not in base:
            continue
        function, start = base[fields[0]]
        at = int(fields[1], 16) - start
        name = next((n for lo, hi, n in layout[function] if lo <= at < hi), None)
        if name is None:
            name = "(rest of the binary)" if 0 <= at < layout[function][-1][1] else "(outside the binary)"
        faults[function][name] += 1

    starts = collections.Counter(function for function, _ in base.values())
    columns = SHOWN + ["(rest of the binary)", "(outside the binary)"]
    print(f"page faults per cold start: the mean over {args.runs} runs and the warm-up (perf record -e page-faults)")
    print(f"{'function':<18}" + "".join(f"{c:>22}" for c in columns) + f"{'total':>8}")
    for function in args.functions:
        if not starts[function]:
            print(f"{function:<18} (no starts recorded)", file=sys.stderr)
            continue
        counts = faults[function]
        other = sum(v for k, v in counts.items() if k not in columns)
        counts["(rest of the binary)"] += other
        row = [counts[c] / starts[function] for c in columns]
        print(f"{function:<18}" + "".join(f"{v:>22.1f}" for v in row) + f"{sum(row):>8.1f}")


if __name__ == "__main__":
    main()
