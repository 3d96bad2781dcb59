#!/usr/bin/env python3
"""bench/profile --lines: where a BPF program's instructions go, by source line.

Reads a guest log with two sections: `=== SAMPLES` (perf script's sample addresses, counted:
"COUNT ADDRESS") and `=== LINES` (bwproglines: "ADDRESS PROGRAM FILE:LINE TEXT", one per BTF
line-info record). A sample is attributed to the record at or before its address within the same
program's code. Prints each program's share of all samples, then the source lines that took
the most, as shares too (under -icount, a share of the operation's instructions; bench/run
gives the operation's instructions). Programs are NAME#ID: the policies' programs of one hook
share a name. A line of the decision code that bulwarkc generates has no record of its own: it
counts to the record before it.
"""
import bisect
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_DIRS = ["bpf/lib", "bpf/templates", "bpf/templates/hooks", "bpf/runtime", "abi"]


RUNTIME_PROGRAMS = ("bw_dispatch_", "bw_pass_", "bw_guard_")


def sections(path, owners=None):
    """The SAMPLES and LINES sections of the guest log, as lists of lines. `owners`, when given,
    gets the policy that loaded each program id: the bundle of the first `=== LOADED BUNDLE`
    section (bwproglines --ids) that lists it; the runtime's own programs are "runtime"."""
    out = {"SAMPLES": [], "LINES": []}
    current, loaded = None, None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("=== "):
                title = line[4:].strip()
                loaded = title[len("LOADED "):] if title.startswith("LOADED ") else None
                current = title if title in out else None
                continue
            if loaded is not None and owners is not None:
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and parts[0] not in owners:
                    runtime = parts[1].startswith(RUNTIME_PROGRAMS)
                    owners[parts[0]] = "runtime" if runtime else os.path.basename(loaded).removesuffix(".bwb")
            if current:
                out[current].append(line)
    return out["SAMPLES"], out["LINES"]


def line_table(lines):
    """Sorted (address, program, place, text) records, and each program's end (its last record)."""
    records = []
    for line in lines:
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        try:
            addr = int(parts[0], 16)
        except ValueError:
            continue
        records.append((addr, parts[1], parts[2], parts[3].strip() if len(parts) > 3 else ""))
    records.sort()
    return records


def attribute(samples, records, slack=256):
    """Samples per record index; a sample beyond its program's last record by more than
    `slack` bytes (or before any record) is not a BPF program's."""
    addrs = [r[0] for r in records]
    last_of = {}
    for r in records:
        last_of[r[1]] = max(last_of.get(r[1], 0), r[0])
    hits = collections.Counter()
    for line in samples:
        parts = line.split()
        if len(parts) != 2:
            continue
        count, addr = int(parts[0]), int(parts[1], 16)
        i = bisect.bisect_right(addrs, addr) - 1
        if i < 0 or addr > last_of[records[i][1]] + slack:
            continue
        hits[i] += count
    return hits


def source_text(place, cache={}):
    """The source line FILE:LINE of the BPF library, templates or ABI headers ("" if none)."""
    name, _, number = place.rpartition(":")
    if name not in cache:
        cache[name] = []
        for d in SOURCE_DIRS:
            path = os.path.join(ROOT, d, name)
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    cache[name] = f.read().split("\n")
                break
    lines = cache[name]
    n = int(number) if number.isdigit() else 0
    return lines[n - 1].strip() if 0 < n <= len(lines) else ""


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: profile_lines.py LOG TOP")
    log, top = sys.argv[1], int(sys.argv[2])
    owners = {}
    samples, lines = sections(log, owners)
    records = line_table(lines)
    if not records:
        sys.exit("profile_lines.py: the log has no line table (bwproglines)")
    hits = attribute(samples, records)
    total = sum(int(line.split()[0]) for line in samples if len(line.split()) == 2)
    share = lambda n: 100.0 * n / max(total, 1)
    by_prog = collections.Counter()
    for i, n in hits.items():
        by_prog[records[i][1]] += n
    print("## BPF programs by id (share of all samples)")
    for prog, n in by_prog.most_common():
        owner = owners.get(prog.rpartition("#")[2], "")
        print(f"{share(n):7.2f}%  {prog:20} {owner}")
    print(f"## BPF source lines, the {top} that took the most (share of all samples)")
    merged = collections.Counter()
    for i, n in hits.items():
        _, prog, place, text = records[i]
        merged[(prog, place, text)] += n
    for (prog, place, text), n in merged.most_common(top):
        print(f"{share(n):7.2f}%  {prog:20} {place:24} {(text or source_text(place))[:100]}")


if __name__ == "__main__":
    main()
