#!/usr/bin/env bash
# Scaling benchmark: changelint on trees shaped like the fleets that once made it superlinear
# (scripts/bench/scaling.py: configs beside their workloads, a target per object, a LimitRange
# per namespace, a record naming every changed workload, a diff adding a large List, exempt
# namespaces, Helm values files of many resource blocks), each at N and 10N workloads. Prints
# each shape's time ratio against the target of docs/performance.md: 10x the input in at most
# 11x the time. Times are medians of interleaved rounds (scripts/bench/interleave.py).
#
#   scripts/bench-scaling.sh                       # N = 2,000
#   BENCH_SCALING_N=500 BENCH_RUNS=3 scripts/bench-scaling.sh
#
# Needs: python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/changelint-bench}/scaling
N=${BENCH_SCALING_N:-2000}
RUNS=${BENCH_RUNS:-5}

command -v python3 >/dev/null || { echo "bench-scaling: python3 is required" >&2; exit 2; }

echo "== building (release)" >&2
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p changelint-cli
BIN=$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/changelint

SHAPES=(configs tenants limitranges record list-diff exempt values)
COMMANDS=()
for size in "$N" $((N * 10)); do
    for shape in "${SHAPES[@]}"; do
        dir=$WORK/$shape-$size
        if [ ! -e "$dir" ]; then
            echo "== generating $shape ($size workloads)" >&2
            python3 "$ROOT/scripts/bench/scaling.py" "$shape" "$size" "$dir"
        fi
        case $shape in
            configs | tenants) run="$BIN audit --format json $dir" ;;
            limitranges | values) run="$BIN check --format json --before $dir/before --after $dir/after" ;;
            record) run="$BIN check --format json --before $dir/before --after $dir/after --record $dir/record.md" ;;
            list-diff) run="$BIN check --format json --diff $dir/change.diff" ;;
            exempt) run="$BIN audit --format json --policy $dir/policy.yaml $dir/tree" ;;
        esac
        COMMANDS+=("$shape/$size=$run")
    done
done

python3 "$ROOT/scripts/bench/interleave.py" --rounds "$RUNS" --out "$WORK/scaling.json" \
    --findings-exit "" "${COMMANDS[@]}" >&2

python3 - "$WORK/scaling.json" "$N" "${SHAPES[@]}" <<'EOF'
import json, statistics, sys
path, small, shapes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {name: result["wall"] for name, result in json.load(open(path)).items()}
large = small * 10
print()
print(f"10x the workloads ({small} -> {large}); median of the per-round ratios; target <= 11x")
for shape in shapes:
    ratio = statistics.median(b / a for a, b in zip(runs[f"{shape}/{small}"], runs[f"{shape}/{large}"]))
    times = f"{statistics.median(runs[f'{shape}/{small}']) * 1000:7.1f} ms -> {statistics.median(runs[f'{shape}/{large}']) * 1000:8.1f} ms"
    print(f"{shape:<12} {times}  {ratio:6.2f}x  ({'met' if ratio <= 11 else 'NOT met'})")
EOF
