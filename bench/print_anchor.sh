#!/usr/bin/env bash
# An anchor for the 纸质版 row of the bench (docs/performance.md): how many pages a second qpdf
# puts into one PDF when it merges PDFs like the bench's (100 files of 40 A4 pages, a line of
# Helvetica text on each). The 纸质版 does more per page (it fits each page to A4, adds a cover,
# a 目录 with 起止页, page numbers and bookmarks), so this is the floor it is read against, not a bar.
# Needs qpdf (apt-get install qpdf) and python3. Settings: FILES=100 PAGES=40 RUNS=3.
set -euo pipefail
command -v qpdf >/dev/null || { echo "qpdf is not installed: apt-get install qpdf" >&2; exit 1; }
files=${FILES:-100}
pages=${PAGES:-40}
runs=${RUNS:-3}
scratch=$(mktemp -d -t yingjian-print-anchor.XXXXXX)
trap 'rm -rf -- "$scratch"' EXIT

# Minimal PDFs with a correct cross-reference table, written by hand so nothing else is needed.
python3 - "$scratch" "$files" "$pages" <<'PY'
import sys

folder, files, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for n in range(files):
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for p in range(pages):
        text = f"BT /F1 14 Tf 72 760 Td (Evidence {n} page {p}) Tj ET".encode()
        objects.append(f"<< /Length {len(text)} >>\nstream\n{text.decode()}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       f"/Contents {len(objects)} 0 R /Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>"
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    with open(f"{folder}/in-{n:03d}.pdf", "wb") as f:
        f.write(out)
PY

total=$(( files * pages ))
times=()
for _ in $(seq "$runs"); do
    rm -f "$scratch/out.pdf"
    sync
    start=$EPOCHREALTIME
    qpdf --empty --pages "$scratch"/in-*.pdf -- "$scratch/out.pdf"
    end=$EPOCHREALTIME
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
done
got=$(qpdf --show-npages "$scratch/out.pdf")
[ "$got" = "$total" ] || { echo "qpdf wrote $got pages, not $total" >&2; exit 1; }
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "qpdf $(qpdf --version | head -1 | awk '{print $NF}'): $files PDFs × $pages pages merged into one, median of $runs: ${median} s = $(awk -v p="$total" -v t="$median" 'BEGIN { printf "%.0f", p / t }') pages/s (runs: ${times[*]})"
