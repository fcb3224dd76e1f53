#!/usr/bin/env bash
# Run fuzz targets one after another, each for SECONDS (default 600), with
# the corpus in corpus/TARGET (new inputs) and seeds/TARGET (read only).
# Output goes to logs/TARGET.log; crashes to artifacts/TARGET/.
# Usage: fuzz/scripts/run.sh SECONDS TARGET...
set -u
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift
mkdir -p logs
for target in "$@"; do
    mkdir -p "corpus/$target" "seeds/$target"
    log="logs/$target.log"
    # The crate may be mid-edit by someone else: retry the build a few times.
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if RUSTC_BOOTSTRAP=1 cargo fuzz build "$target" >"$log" 2>&1; then break; fi
        echo "build attempt $attempt failed, retrying in 60 s" >>"$log.build"
        sleep 60
    done
    echo "== $(date -u +%FT%TZ) start $target for ${seconds}s" >>"$log"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >>"$log" 2>&1
    echo "== $(date -u +%FT%TZ) exit $? $target" >>"$log"
done
