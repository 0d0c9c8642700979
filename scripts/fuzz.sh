#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed time and prints a summary (executions, crashes).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 60 s for each of the five targets
#
# Targets (fuzz/fuzz_targets/): manifest_loader, unified_diff, change_record, quantity,
# admission_review. Each run starts from the committed seeds (fuzz/seeds/<target>/, read-only)
# plus the working corpus (fuzz/corpus/<target>/, gitignored, grows between runs). A crash,
# timeout (> 10 s for one input) or out-of-memory (> 2 GiB) is saved under
# fuzz/artifacts/<target>/ and makes the script exit 1 after all targets ran; reproduce one
# with `cargo fuzz run <target> fuzz/artifacts/<target>/<file>` and turn it into a unit test.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a nightly compiler for the
# sanitizer flags; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks them (set below).
set -euo pipefail

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(manifest_loader unified_diff change_record quantity admission_review)
fi

cd "$(dirname "$0")/../fuzz"
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
command -v cargo-fuzz >/dev/null || {
    echo "fuzz.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
}

# Optimised, with debug assertions and overflow checks (cargo-fuzz's default).
logs=target/fuzz-logs
mkdir -p "$logs"
cargo fuzz build >"$logs/build.log" 2>&1 || { cat "$logs/build.log" >&2; exit 2; }

failed=0
printf '%-18s %10s %12s %8s %8s  %s\n' target seconds executions exec/s crashes result
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    before=$(find "artifacts/$target" -type f | wc -l)
    log="$logs/$target.log"
    status=0
    cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    after=$(find "artifacts/$target" -type f | wc -l)
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    crashes=$((after - before))
    result=ok
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        result="FAILED (exit $status; see fuzz/$log)"
        failed=1
    fi
    printf '%-18s %10s %12s %8s %8s  %s\n' "$target" "$seconds" "${runs:-?}" "${rate:-?}" \
        "$crashes" "$result"
done
exit "$failed"
