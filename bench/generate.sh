#!/usr/bin/env bash
# Generation benchmark: taskalign (bench/bench_generate.c) against PyTorch eager
# with a KV cache (bench/torch_generate.py), same model folder, prompts, batch
# and thread count, in one run. Greedy, 16-token prompts, 128 new tokens; best
# of REPS runs each. Prints tokens/s (whole generation, and decode steps only)
# and the ratio taskalign / torch, and whether both produced the same tokens.
#
#   bench/generate.sh [THREADS] [REPS]          (defaults: 1 thread, 3 reps)
#   CONFIGS="tiny-llama-gqa model-10m" BATCHES="1 4" bench/generate.sh
set -eu
cd "$(dirname "$0")/.."
THREADS=${1:-1}
REPS=${2:-3}
CONFIGS=${CONFIGS:-"tiny-llama-gqa model-10m"}
BATCHES=${BATCHES:-"1 4"}
NEW=${NEW:-128}
PY=/usr/bin/python3
MODE=${MODE:-release}
make -s -j2 bench MODE=$MODE >/dev/null
BIN=build/$MODE/taskalign
BENCH=build/$MODE/bench/bench_generate
TMP=$(mktemp -d /tmp/ta_bench_gen.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "generation, greedy, prompt 16, $NEW new tokens, $THREADS thread(s), best of $REPS ($(nproc) cores here)"
printf "%-16s %5s  %12s %12s %7s  %12s %12s %7s  %s\n" config batch "ta tok/s" "torch tok/s" ratio \
    "ta dec/s" "torch dec/s" ratio "same tokens"
for cfg in $CONFIGS; do
    "$BIN" init --config "tests/data/configs/$cfg.json" --out "$TMP/$cfg" --seed 1 >/dev/null 2>&1
    for b in $BATCHES; do
        c=$("$BENCH" --model "$TMP/$cfg" --batch "$b" --new "$NEW" --reps "$REPS" --threads "$THREADS")
        t=$("$PY" bench/torch_generate.py --model "$TMP/$cfg" --batch "$b" --new "$NEW" --reps "$REPS" --threads "$THREADS")
        "$PY" - "$cfg" "$b" "$c" "$t" <<'PYEOF'
import json, sys
cfg, b, c, t = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
same = "yes" if c["tokens"] == t["tokens"] else "no"
print(f"{cfg:<16} {b:>5}  {c['tok_s']:12.1f} {t['tok_s']:12.1f} {c['tok_s'] / t['tok_s']:6.2f}x  "
      f"{c['decode_tok_s']:12.1f} {t['decode_tok_s']:12.1f} {c['decode_tok_s'] / t['decode_tok_s']:6.2f}x  {same}")
PYEOF
    done
done
