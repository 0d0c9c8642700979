#!/usr/bin/env python3
"""Times commands in interleaved rounds: every command once per round, in turn.

On a shared machine the load drifts over seconds, so commands timed one after another (as
hyperfine does, all runs of one command, then the next) see different machines. Interleaved,
each round's commands see about the same one, and a ratio is taken within each round; the
median of those per-round ratios is what the benchmark scripts report.

    interleave.py --rounds 8 --out times.json name='command args' name2='command args' ...

Each command's stdout goes to /dev/null. A command that exits with anything but 0 stops the
run, except exit status 1 for the commands whose NAME starts with a `--findings-exit` prefix
(changelint and Checkov exit 1 when they find a problem). Writes per command: wall seconds per
round, user and system seconds, and peak RSS in KiB.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


def run_once(argv, may_find):
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ((0, 1) if may_find else (0,)):
        sys.exit(f"interleave: `{shlex.join(argv)}` exited with {code}")
    return wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (at least 1)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--out", required=True, help="JSON file of the timings")
    parser.add_argument("--findings-exit", action="append", default=[], metavar="PREFIX",
                        help="commands whose NAME starts with PREFIX may exit with 1")
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")

    commands = []
    for spec in args.commands:
        name, sep, command = spec.partition("=")
        if not sep or not command:
            parser.error(f"expected NAME=COMMAND, got {spec!r}")
        may_find = any(name.startswith(prefix) for prefix in args.findings_exit)
        commands.append((name, shlex.split(command), may_find))

    results = {name: {"wall": [], "user": [], "sys": [], "max_rss_kib": []} for name, _, _ in commands}
    for round_ in range(args.warmup + args.rounds):
        for name, argv, may_find in commands:
            wall, user, system, rss = run_once(argv, may_find)
            if round_ >= args.warmup:
                for key, value in zip(("wall", "user", "sys", "max_rss_kib"), (wall, user, system, rss)):
                    results[name][key].append(value)
        if round_ >= args.warmup:
            print(f"interleave: round {round_ - args.warmup + 1}/{args.rounds} done", file=sys.stderr)

    for name, result in results.items():
        result["median"] = statistics.median(result["wall"])
        print(
            f"{name:<28} median {result['median'] * 1000:8.1f} ms"
            f"  min {min(result['wall']) * 1000:8.1f}  max {max(result['wall']) * 1000:8.1f}"
            f"  user {statistics.median(result['user']) * 1000:7.0f}  sys {statistics.median(result['sys']) * 1000:6.0f}"
            f"  peak {max(result['max_rss_kib']) / 1024:6.1f} MiB",
            file=sys.stderr,
        )
    with open(args.out, "w") as out:
        json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
