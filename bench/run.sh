#!/usr/bin/env bash
# Builds the release binaries and prints the benchmark table (see tests/src/bin/bench.rs).
# Smaller smoke run: BENCH_MIB=64 BENCH_RECORDS=5000 BENCH_FILES=500 bench/run.sh
# Needs openssl (hashing anchor), zip and tar (bundle anchors).
# BENCH_SYNCTHING=1 also runs Syncthing at its most eager setting on the same machine in the
# same run (../shared/bench/syncthing_pair.sh; needs `apt-get install syncthing`, ~5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace --bins
target/release/bench
if [ "${BENCH_SYNCTHING:-0}" = 1 ]; then
    echo
    echo "Syncthing, fsWatcherDelayS=1 (compare with the agent's rows above):"
    DELAYS=1 REPS=3 BATCH_REPS=2 BIG_REPS=2 ../shared/bench/syncthing_pair.sh
fi
