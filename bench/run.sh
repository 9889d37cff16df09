#!/usr/bin/env bash
# Builds the release binaries and prints the benchmark table (tests/src/bin/bench/; method,
# anchors and past figures in docs/performance.md).
# Smaller smoke run: BENCH_MIB=64 BENCH_RECORDS=5000 BENCH_FILES=500 bench/run.sh
# The reader on the project's own corpus, beside tesseract and RapidOCR: BENCH_ONLY=reading bench/run.sh
# Needs openssl (hashing anchor), zip and tar (bundle anchors); qpdf, when installed, gives the
# 纸质版 row its anchor (bench/print_anchor.sh). The 纸质版 of real 300-dpi scans beside qpdf
# merging the same PDFs (needs soffice, pdftoppm and qpdf; also at the end of the whole run):
# BENCH_ONLY=paper bench/run.sh
# BENCH_SYNCTHING=1 also runs Syncthing at its most eager setting on the same machine in the
# same run (bench/syncthing_pair.sh; needs `apt-get install syncthing`, ~5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [ "${BENCH_ONLY:-}" = reading ]; then
    # The reader runs inside the bench's own process: no other binary is needed. Needs soffice
    # and pdftoppm (the corpus), tesseract-ocr-chi-sim (the anchor); RapidOCR when installed.
    cargo build --release --locked -p yingjian-tests --bin bench
    exec "$target/release/bench"
fi
cargo build --release --locked --workspace --bins
# The release binaries as built (line tables included) and with their debug information split
# off, as packaging/build ships them (from the dist profile, smaller still: docs/performance.md).
stripped=$(mktemp -d)
trap 'rm -rf "$stripped"' EXIT
echo "Release binaries, as built and with the debug information split off:"
for bin in yingjian-agent yingjian-aggregator; do
    objcopy --strip-debug "$target/release/$bin" "$stripped/$bin"
    built=$(stat -c %s "$target/release/$bin")
    shipped=$(stat -c %s "$stripped/$bin")
    awk -v b="$built" -v s="$shipped" -v n="$bin" \
        'BEGIN { printf "  %-20s built %6.1f MiB   split %6.1f MiB   %.2f of built\n", n, b / 1048576, s / 1048576, s / b }'
done
echo
"$target/release/bench"
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
