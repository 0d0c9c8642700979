#!/usr/bin/env bash
# CLI benchmark: `changelint audit` and `changelint check` on a generated corpus, against the
# raw YAML parse of the same files (libyaml-safer, every core: the `raw-parse` binary of the
# changelint-bench crate) and against Checkov's Kubernetes framework. Prints ratios from one
# run; see docs/performance.md for the method. Commands run in interleaved rounds
# (scripts/bench/interleave.py) and each ratio is the median of its per-round ratios: on a
# shared machine the load drifts between one command's runs and the next command's.
#
#   scripts/bench-cli.sh                      # 5,000 and 50,000 objects, Checkov on 500
#   BENCH_OBJECTS=1000 BENCH_SCALE=10 BENCH_RUNS=3 scripts/bench-cli.sh
#   BENCH_CHECKOV=0 scripts/bench-cli.sh      # without Checkov
#
# Needs: python3; Checkov (pip install checkov) unless BENCH_CHECKOV=0. CHECKOV may name the
# checkov executable.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/changelint-bench}
OBJECTS=${BENCH_OBJECTS:-5000}
SCALE=${BENCH_SCALE:-10}
RUNS=${BENCH_RUNS:-8}
CHECKOV_OBJECTS=${BENCH_CHECKOV_OBJECTS:-500}
CHECKOV_RUNS=${BENCH_CHECKOV_RUNS:-2}
CHECKOV=${CHECKOV:-checkov}
WITH_CHECKOV=${BENCH_CHECKOV:-1}

need() { command -v "$1" >/dev/null || { echo "bench-cli: $1 is required ($2)" >&2; exit 2; }; }
need python3 "apt-get install python3"
if [ "$WITH_CHECKOV" = 1 ]; then need "$CHECKOV" "pip install checkov, or BENCH_CHECKOV=0"; fi

echo "== building (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p changelint-cli -p changelint-bench
BIN=$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release

LARGE=$((OBJECTS * SCALE))
SMALL_DIR=$WORK/corpus-$OBJECTS
LARGE_DIR=$WORK/corpus-$LARGE
SLICE_DIR=$WORK/corpus-$CHECKOV_OBJECTS
mkdir -p "$WORK"
for pair in "$OBJECTS:$SMALL_DIR" "$LARGE:$LARGE_DIR" "$CHECKOV_OBJECTS:$SLICE_DIR"; do
    n=${pair%%:*} dir=${pair#*:}
    if [ ! -d "$dir/before" ]; then
        echo "== generating $n objects into $dir" >&2
        "$BIN/gen-corpus" --objects "$n" "$dir"
    fi
done

# A fleet whose every namespace is exempt from two rules, so that an audit uses an exemption
# for most objects: linearity with exemptions (they were once looked up in a list).
EXEMPT_POLICY=$WORK/exempt-namespaces.yaml
{
    echo "exemptions:"
    echo "  namespaces:"
    find "$SMALL_DIR/before" "$LARGE_DIR/before" -mindepth 3 -maxdepth 3 -type d -printf '%f\n' | sort -u |
        sed 's/.*/    &: [limits-missing, blast-radius-rollout]/'
} >"$EXEMPT_POLICY"

# Every report format written in one run (text to stdout): linearity of the renderers.
EVERY_FORMAT="--output json=/dev/null --output markdown=/dev/null --output html=/dev/null --output sarif=/dev/null --output junit=/dev/null --output github=/dev/null"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB" >&2
# changelint and Checkov exit 1 when they find problems (the corpus has some); the raw parse
# must exit 0.
INTERLEAVE=(python3 "$ROOT/scripts/bench/interleave.py" --findings-exit audit/ --findings-exit audit-exempt/ --findings-exit audit-every-format/ --findings-exit check/ --findings-exit checkov/)
"${INTERLEAVE[@]}" --rounds "$RUNS" --out "$WORK/cli.json" \
    "raw-parse/$OBJECTS=$BIN/raw-parse $SMALL_DIR/before" \
    "audit/$OBJECTS=$BIN/changelint audit $SMALL_DIR/before" \
    "raw-parse-both/$OBJECTS=$BIN/raw-parse $SMALL_DIR/before $SMALL_DIR/after" \
    "check/$OBJECTS=$BIN/changelint check --before $SMALL_DIR/before --after $SMALL_DIR/after" \
    "raw-parse-tree/$OBJECTS=$BIN/raw-parse --tree $SMALL_DIR/before" \
    "raw-parse-1-core/$OBJECTS=$BIN/raw-parse --threads 1 $SMALL_DIR/before" \
    "audit-exempt/$OBJECTS=$BIN/changelint audit --policy $EXEMPT_POLICY $SMALL_DIR/before" \
    "audit-every-format/$OBJECTS=$BIN/changelint audit $EVERY_FORMAT $SMALL_DIR/before" 2>&1 | grep -v '^raw-parse:' >&2
"${INTERLEAVE[@]}" --rounds "$(( (RUNS + 1) / 2 ))" --out "$WORK/cli-large.json" \
    "raw-parse/$LARGE=$BIN/raw-parse $LARGE_DIR/before" \
    "audit/$LARGE=$BIN/changelint audit $LARGE_DIR/before" \
    "raw-parse-both/$LARGE=$BIN/raw-parse $LARGE_DIR/before $LARGE_DIR/after" \
    "check/$LARGE=$BIN/changelint check --before $LARGE_DIR/before --after $LARGE_DIR/after" \
    "audit-exempt/$LARGE=$BIN/changelint audit --policy $EXEMPT_POLICY $LARGE_DIR/before" \
    "audit-every-format/$LARGE=$BIN/changelint audit $EVERY_FORMAT $LARGE_DIR/before" 2>&1 | grep -v '^raw-parse:' >&2

if [ "$WITH_CHECKOV" = 1 ]; then
    "${INTERLEAVE[@]}" --rounds "$CHECKOV_RUNS" --warmup 0 --out "$WORK/checkov.json" \
        "checkov/$CHECKOV_OBJECTS=$CHECKOV -d $SLICE_DIR/before --framework kubernetes --quiet --compact --skip-download" \
        "audit/$CHECKOV_OBJECTS=$BIN/changelint audit $SLICE_DIR/before" >&2
fi

python3 - "$WORK" "$OBJECTS" "$LARGE" "$CHECKOV_OBJECTS" "$WITH_CHECKOV" <<'EOF'
import json, statistics, sys
work, small, large, slice_, with_checkov = sys.argv[1:]
# Wall times per run of interleave.py (one JSON file each), then per command.
runs = {name: {command: r["wall"] for command, r in json.load(open(f"{work}/{name}.json")).items()}
        for name in ["cli", "cli-large"] + (["checkov"] if with_checkov == "1" else [])}
def walls(command, run=None):
    return next(times[command] for name, times in runs.items() if command in times and run in (None, name))
def per_round(a, b):
    """The median of a/b over rounds, when one run timed both; else the ratio of medians."""
    for times in runs.values():
        if a in times and b in times:
            return statistics.median(x / y for x, y in zip(times[a], times[b]))
    return statistics.median(walls(a)) / statistics.median(walls(b))
def ratio(label, a, b, target=None):
    value = per_round(a, b)
    verdict = "" if target is None else ("  (target <= %.2f: %s)" % (target, "met" if value <= target else "NOT met"))
    print(f"{label:<48} {value:8.2f}x{verdict}")
print()
print("ratios (wall time, median of the per-round ratios, one run of this script; lower is better)")
print("raw-parse = libyaml-safer events only; raw-parse-tree = events built into serde_json::Value; both on every core")
ratio(f"audit/{small} : raw-parse/{small}", f"audit/{small}", f"raw-parse/{small}", 1.5)
ratio(f"check/{small} : raw-parse-both/{small}", f"check/{small}", f"raw-parse-both/{small}", 1.5)
ratio(f"audit/{large} : raw-parse/{large}", f"audit/{large}", f"raw-parse/{large}", 1.5)
ratio(f"check/{large} : raw-parse-both/{large}", f"check/{large}", f"raw-parse-both/{large}", 1.5)
ratio(f"audit/{small} : raw-parse-tree/{small}", f"audit/{small}", f"raw-parse-tree/{small}", 1.5)
ratio(f"audit/{large} : audit/{small}", f"audit/{large}", f"audit/{small}", 11 * int(large) / int(small) / 10)
ratio(f"check/{large} : check/{small}", f"check/{large}", f"check/{small}", 11 * int(large) / int(small) / 10)
ratio(f"audit-exempt/{large} : audit-exempt/{small}", f"audit-exempt/{large}", f"audit-exempt/{small}", 11 * int(large) / int(small) / 10)
ratio(f"audit-every-format/{large} : audit-every-format/{small}", f"audit-every-format/{large}", f"audit-every-format/{small}", 11 * int(large) / int(small) / 10)
ratio(f"raw-parse/{large} : raw-parse/{small}", f"raw-parse/{large}", f"raw-parse/{small}")
ratio(f"raw-parse-tree/{small} : raw-parse/{small}", f"raw-parse-tree/{small}", f"raw-parse/{small}")
ratio(f"raw-parse-1-core/{small} : raw-parse/{small}", f"raw-parse-1-core/{small}", f"raw-parse/{small}")
if with_checkov == "1":
    median = lambda command, run: statistics.median(walls(command, run))
    per_object = (median(f"checkov/{slice_}", "checkov") / int(slice_)) / (median(f"audit/{small}", "cli") / int(small))
    print(f"{'checkov : audit, per object (' + slice_ + ' vs ' + small + ')':<48} {per_object:8.0f}x  (target >= 100: {'met' if per_object >= 100 else 'NOT met'})")
    times = runs["checkov"]
    same = statistics.median(x / y for x, y in zip(times[f"checkov/{slice_}"], times[f"audit/{slice_}"]))
    print(f"{'checkov/' + slice_ + ' : audit/' + slice_ + ' (same files)':<48} {same:8.0f}x")
EOF
