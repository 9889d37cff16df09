#!/bin/sh
# Re-derives the three PP-OCR models in this folder from the PyPI package they were taken from and
# checks them against SHA256SUMS. Needs pip, unzip and sha256sum; writes only into this folder.
# Usage: sh reader/models/fetch.sh
set -eu

PACKAGE=rapidocr-onnxruntime
VERSION=1.4.4
WHEEL=rapidocr_onnxruntime-1.4.4-py3-none-any.whl
WHEEL_SHA256=971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf
MODELS="ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx ch_ppocr_mobile_v2.0_cls_infer.onnx"

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pip download --no-deps --quiet "$PACKAGE==$VERSION" -d "$work"
echo "$WHEEL_SHA256  $work/$WHEEL" | sha256sum -c -
for model in $MODELS; do
    unzip -q -o -j "$work/$WHEEL" "rapidocr_onnxruntime/models/$model" -d "$work"
    cp "$work/$model" "$here/$model"
done
cd "$here" && sha256sum -c SHA256SUMS
