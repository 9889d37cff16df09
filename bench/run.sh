#!/usr/bin/env bash
# Builds the release binaries and prints the benchmark table (tests/src/bin/bench/; method,
# anchors and past figures in docs/performance.md).
# Smaller smoke run: BENCH_MIB=64 BENCH_RECORDS=5000 BENCH_FILES=500 bench/run.sh
# Needs openssl (hashing anchor), zip and tar (bundle anchors); qpdf, when installed, gives the
# 纸质版 row its anchor (bench/print_anchor.sh).
# BENCH_SYNCTHING=1 also runs Syncthing at its most eager setting on the same machine in the
# same run (bench/syncthing_pair.sh; needs `apt-get install syncthing`, ~5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace --bins
target/release/bench
if command -v qpdf >/dev/null; then
    echo
    echo "Anchor for the 纸质版 row:"
    bench/print_anchor.sh
fi
if [ "${BENCH_SYNCTHING:-0}" = 1 ]; then
    echo
    echo "Syncthing, fsWatcherDelayS=1 (compare with the agent's rows above):"
    DELAYS=1 REPS=3 BATCH_REPS=2 BIG_REPS=2 bench/syncthing_pair.sh
fi
