#!/usr/bin/env bash
# Training-step benchmark: taskalign (bench/bench_train.c) against PyTorch eager
# (bench/torch_train.py) on the same config, batch and thread count, in one run.
# Prints tokens/s for each, the ratio, and the fraction of the machine's sgemm
# peak (best OpenBLAS rate over 256..2048 and the model's MLP shape, measured in
# the same process) that the C step reaches.
#
#   bench/run_engine_bench.sh                # tiny and 10M configs, 1 thread
#   THREADS=2 REPEAT=3 bench/run_engine_bench.sh
#
# Each engine runs REPEAT times, alternating, and the best run counts (the
# machine is shared: other load only ever slows a run down). PyTorch runs both
# with its default OpenBLAS core and with OPENBLAS_CORETYPE=SkylakeX (the fix
# taskalign applies to itself, see ta_blas_fix_core); the faster counts.
set -eu
cd "$(dirname "$0")/.."
THREADS=${THREADS:-1}
REPEAT=${REPEAT:-2}
PY=${TA_PYTHON:-/usr/bin/python3}
make -s -j2 bench >/dev/null
BIN=build/release/bench/bench_train
OUT=$(mktemp -d /tmp/ta_bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

run_config() { # name config batch seq steps
    local name=$1 cfg=$2 B=$3 T=$4 S=$5
    for r in $(seq "$REPEAT"); do
        "$BIN" --config "$cfg" --batch "$B" --seq "$T" --steps "$S" --threads "$THREADS" >> "$OUT/$name.c.jsonl"
        "$PY" bench/torch_train.py --config "$cfg" --batch "$B" --seq "$T" --steps "$S" --threads "$THREADS" >> "$OUT/$name.torch.jsonl"
        OPENBLAS_CORETYPE=SkylakeX "$PY" bench/torch_train.py --config "$cfg" --batch "$B" --seq "$T" --steps "$S" \
            --threads "$THREADS" >> "$OUT/$name.torch.jsonl"
    done
}

echo "training step, $THREADS thread(s), best of $REPEAT alternating runs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run_config tiny tests/data/configs/tiny-llama-gqa.json 8 64 10
run_config 10m tests/data/configs/model-10m.json 4 256 3
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
print(f"{'config':<6} {'tokens':>7} {'taskalign tok/s':>16} {'pytorch tok/s':>14} {'ratio':>6} {'C GFLOP/s':>10} {'sgemm peak':>10} {'of peak':>8}")
for name in ("tiny", "10m"):
    c = [json.loads(l) for l in open(f"{d}/{name}.c.jsonl")]
    t = [json.loads(l) for l in open(f"{d}/{name}.torch.jsonl")]
    bc = max(c, key=lambda r: r["tokens_per_s"])
    bt = max(t, key=lambda r: r["tokens_per_s"])
    peak = max(max(r["sgemm_gflops"].values()) for r in c)
    print(f"{name:<6} {bc['batch'] * bc['seq']:>7} {bc['tokens_per_s']:>16.1f} {bt['tokens_per_s']:>14.1f} "
          f"{bc['tokens_per_s'] / bt['tokens_per_s']:>5.2f}x {bc['gflops']:>10.1f} {peak:>10.1f} {bc['gflops'] / peak:>7.1%}")
    print(f"       ({bc['params']} params, {bc['step_gflop']} GFLOP/step, blas core {bc['blas_core']}, "
          f"torch {bt['torch']}, all C runs: {[r['tokens_per_s'] for r in c]}, torch: {[r['tokens_per_s'] for r in t]})")
PY
