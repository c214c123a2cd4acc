#!/usr/bin/env bash
# Generation speed: taskalign against llama.cpp (node-llama-cpp 3.21.1's prebuilt
# CPU binaries) on the same model, in one run. The model is a random-weight
# Llama from tests/data/configs (default model-10m: vocab 8192, 6 layers, 384
# wide, the engine's 10M config), with a byte-level BPE tokenizer of that vocab
# size trained here by `taskalign tokenizer train` on `taskalign data gen
# --scale small` conversations plus the repository's own text (the generated
# corpus alone has too few distinct words for 8192 tokens). Its 2-D weights are
# scaled up ("sharpened", as tests/oracle/test_gguf.mjs does) so greedy output
# is varied and the "same tokens" column means something. It is exported with
# `taskalign export gguf --type f32`; then bench/bench_gguf_generate.mjs runs
# `taskalign generate --stats` and node-llama-cpp's evaluate loop, interleaved,
# batch 1, greedy, 128 new tokens, EOS ignored, same prompt ids, at each
# thread count, and prints decode tokens/s on both sides and the ratio. llama.cpp
# gets an F32 KV cache (KV=F16 for node-llama-cpp's default) to match taskalign's.
#
#   bench/bench_gguf_generate.sh                      (model-10m, threads 1,2, 3 reps, llama.cpp KV f32)
#   CONFIGS="model-10m tiny-llama-gqa" THREADS=1,2 REPS=3 NEW=128 KV=F16 bench/bench_gguf_generate.sh
# Needs a release build (make) and the oracle npm packages (scripts/deps.sh --test).
set -eu
cd "$(dirname "$0")/.."
MODE=${MODE:-release}
CONFIGS=${CONFIGS:-model-10m}
THREADS=${THREADS:-1,2}
REPS=${REPS:-3}
KV=${KV:-F32}
NEW=${NEW:-128}
BIN=$PWD/build/$MODE/taskalign
[ -x "$BIN" ] || make -s -j2 MODE="$MODE" >/dev/null
[ -d tests/oracle/node_modules/node-llama-cpp ] || { echo "bench: node-llama-cpp missing: run scripts/deps.sh --test"; exit 1; }
TMP=$(mktemp -d /tmp/ta_bench_gguf.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# tokenizer corpus: generated conversations + the repository's text
"$BIN" data gen --out "$TMP/data" --scale small --seed 3 --quiet
"$BIN" data corpus --out "$TMP/corpus.txt" "$TMP/data/base_train.jsonl" "$TMP/data/sft_train.jsonl" "$TMP/data/prefs_train.jsonl" >/dev/null
git ls-files -z '*.c' '*.h' '*.md' '*.py' '*.mjs' '*.sh' | xargs -0 cat > "$TMP/repo.txt"

echo "taskalign vs llama.cpp (node-llama-cpp 3.21.1, CPU), f32 GGUF, $(nproc) cores here (shared machine: absolute numbers are noise, compare the ratio)"
for cfg in $CONFIGS; do
    V=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).vocab_size)' "tests/data/configs/$cfg.json")
    "$BIN" tokenizer train --corpus "$TMP/corpus.txt,$TMP/repo.txt" --vocab-size "$V" --out "$TMP/tok-$cfg" --quiet
    # the tokenizer's special tokens are ids 0..2 (<|endoftext|>, <|im_start|>, <|im_end|>)
    node -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1]));Object.assign(c,{bos_token_id:null,eos_token_id:2,pad_token_id:0});fs.writeFileSync(process.argv[2],JSON.stringify(c))' \
        "tests/data/configs/$cfg.json" "$TMP/$cfg.json"
    "$BIN" init --config "$TMP/$cfg.json" --out "$TMP/$cfg" --seed 11 >/dev/null
    cp "$TMP/tok-$cfg/tokenizer.json" "$TMP/tok-$cfg/tokenizer_config.json" "$TMP/$cfg/"
    node -e '
const fs = require("fs"), f = process.argv[1], b = fs.readFileSync(f), hl = Number(b.readBigUInt64LE(0));
const h = JSON.parse(b.subarray(8, 8 + hl).toString());
for (const [k, t] of Object.entries(h)) {
  if (k === "__metadata__" || t.dtype !== "F32" || t.shape.length !== 2) continue;
  const v = new Float32Array(b.buffer, b.byteOffset + 8 + hl + t.data_offsets[0], (t.data_offsets[1] - t.data_offsets[0]) / 4);
  for (let i = 0; i < v.length; i++) v[i] *= 20;
}
fs.writeFileSync(f, b);' "$TMP/$cfg/model.safetensors"
    "$BIN" export gguf --model "$TMP/$cfg" --out "$TMP/$cfg.gguf" --type f32 >/dev/null
    ids=$("$BIN" tokenize --tokenizer "$TMP/$cfg" --no-special --text "Add a task to review the quarterly budget by Friday, high priority, and remind me on Thursday." | tr -d '[] ')
    echo
    echo "== $cfg: vocab $V, $(du -h "$TMP/$cfg.gguf" | cut -f1) f32 GGUF"
    node bench/bench_gguf_generate.mjs --bin "$BIN" --model "$TMP/$cfg" --gguf "$TMP/$cfg.gguf" --ids "$ids" \
        --threads "$THREADS" --new "$NEW" --reps "$REPS" --kv "$KV"
done
