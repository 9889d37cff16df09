#!/usr/bin/env bash
# Builds the release binaries and prints the benchmark table (see tests/src/bin/bench.rs).
# Smaller smoke run: BENCH_MIB=64 BENCH_RECORDS=5000 BENCH_FILES=500 bench/run.sh
# Needs openssl for the hashing anchor; Syncthing's figures come from ../shared/bench/syncthing_pair.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --workspace --bins
exec target/release/bench
