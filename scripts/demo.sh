#!/usr/bin/env bash
# The main job. Grows with the project: engine smoke run now, the full
# base -> SFT -> DPO lesson once training and evaluation land.
set -eu
cd "$(dirname "$0")/.."
MODE=${MODE:-release}
BIN=build/$MODE/taskalign
OUT=${TA_DEMO_OUT:-runs/demo}
mkdir -p "$OUT"
"$BIN" version
