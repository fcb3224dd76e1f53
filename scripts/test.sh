#!/usr/bin/env bash
# The one test command of Reflex: `./scripts/test.sh` (from any directory).
#
# Steps, each stopping the run on failure:
#   1. install missing system tools      (scripts/install-deps.sh)
#   2. formatting                        (cargo fmt --check)
#   3. lints                             (cargo clippy, warnings are errors)
#   4. unit, golden and oracle tests     (cargo test; tshark/bgpdump required)
#   5. fuzz smoke run of every target    (cargo fuzz, FUZZ_SECONDS each, default 60)
#
# Environment:
#   FUZZ_SECONDS   seconds per fuzz target (default 60; 0 skips fuzzing)
#   REFLEX_SHARED_DATA  directory with pcap/ and mrt/ (default ../shared/data)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
# Tests that need tshark or bgpdump fail instead of skipping when they are missing.
export REFLEX_REQUIRE_TOOLS=1

START=$(date +%s)
STEP="(start)"
DONE_STEPS=()
TEST_LOG="$(mktemp "${TMPDIR:-/tmp}/reflex-test.XXXXXX")"

elapsed() {
    local s=$(($(date +%s) - START))
    printf '%dm%02ds' $((s / 60)) $((s % 60))
}

banner() {
    STEP="$1"
    printf '\n==================== %s ====================\n' "$1"
}

finish() {
    local rc=$?
    rm -f "$TEST_LOG"
    if ((rc != 0)); then
        printf '\n==> FAILED in step "%s" after %s (exit %d); passed before it: %s\n' \
            "$STEP" "$(elapsed)" "$rc" "${DONE_STEPS[*]:-none}"
    fi
}
trap finish EXIT

banner "install dependencies"
bash "$ROOT/scripts/install-deps.sh"
DONE_STEPS+=(deps)

banner "cargo fmt --check"
cargo fmt --all -- --check
DONE_STEPS+=(fmt)

banner "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
DONE_STEPS+=(clippy)

banner "cargo test"
cargo test --workspace --no-fail-fast 2>&1 | tee "$TEST_LOG"
DONE_STEPS+=(test)
# Sum the "test result:" lines of every test binary and doc-test run.
read -r PASSED FAILED IGNORED < <(awk '
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
            if ($(i + 1) ~ /^ignored/) g += $i
        }
    }
    END { printf "%d %d %d\n", p, f, g }' "$TEST_LOG")

banner "fuzz smoke run (${FUZZ_SECONDS}s per target)"
FUZZ_NOTE="skipped"
if ((FUZZ_SECONDS == 0)); then
    echo "FUZZ_SECONDS=0: fuzzing skipped"
elif [[ ! -f "$ROOT/fuzz/Cargo.toml" ]]; then
    echo "WARNING: fuzz/Cargo.toml does not exist yet: no fuzz targets to run"
    FUZZ_NOTE="skipped (no fuzz/Cargo.toml)"
else
    # cargo-fuzz needs nightly flags (-Zsanitizer); the stable toolchain
    # accepts them with RUSTC_BOOTSTRAP=1.
    export RUSTC_BOOTSTRAP=1
    cd "$ROOT/fuzz"
    mapfile -t TARGETS < <(cargo fuzz list)
    if ((${#TARGETS[@]} == 0)); then
        echo "WARNING: cargo fuzz list found no targets"
        FUZZ_NOTE="skipped (no targets)"
    else
        echo "targets: ${TARGETS[*]}"
        cargo fuzz build
        for target in "${TARGETS[@]}"; do
            banner "fuzz $target (${FUZZ_SECONDS}s)"
            # New inputs go to corpus/ (ignored by git); seeds/ is only read.
            mkdir -p "corpus/$target"
            corpora=("corpus/$target")
            if [[ -d "seeds/$target" ]]; then
                corpora+=("seeds/$target")
            else
                echo "(no seeds/$target: starting from an empty corpus)"
            fi
            # -timeout: an input that runs 10 s counts as a hang (a failure),
            # so a stuck target cannot stall the run past its time budget.
            cargo fuzz run "$target" "${corpora[@]}" -- \
                -max_total_time="$FUZZ_SECONDS" -timeout=10
        done
        FUZZ_NOTE="${#TARGETS[@]} targets x ${FUZZ_SECONDS}s"
    fi
    cd "$ROOT"
fi
DONE_STEPS+=(fuzz)

banner "summary"
echo "==> all steps passed in $(elapsed): deps, fmt, clippy, test, fuzz (${FUZZ_NOTE})"
echo "tests: ${PASSED} passed, ${FAILED} failed, ${IGNORED} skipped"
