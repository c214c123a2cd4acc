#!/usr/bin/env bash
# Load test of `taskalign serve` on loopback (bounded: a fixed number of
# requests per concurrency level and a time cap per level), with the node fetch
# client bench/bench_serve.mjs. The model is a random-weight Llama
# (tests/data/configs/tiny-llama-gqa.json, vocab raised to VOCAB) with a
# byte-level BPE tokenizer of that size trained here by `taskalign tokenizer
# train` (it carries the Qwen2.5 chat template the server renders).
#
# Run 1: --parallel 2 --queue 64: the queue holds every waiting request of the
#   largest level (8 users), so no request may get 503; any error fails the run.
#   POST /v1/chat/completions (non-streaming, max_tokens 32, temperature 0) at
#   1, 4, 8 users, then GET /v1/tasks (a store with 50 tasks) at 1, 4, 8 users.
# Run 2: --parallel 1 --queue 1 at 8 users: most requests are turned away with
#   503 + Retry-After (counted in "503+RA"); anything else would be an error.
# Each server is stopped with SIGTERM and must exit 0.
#
#   bench/bench_serve.sh          (env: LEVELS=1,4,8 REQUESTS=32 MAX_TOKENS=32 CAP=120 THREADS=1 VOCAB=1024 CONFIG=tiny-llama-gqa)
# Needs a release build (make) and node >= 18. No wrk needed.
set -eu
cd "$(dirname "$0")/.."
MODE=${MODE:-release}
LEVELS=${LEVELS:-1,4,8}
REQUESTS=${REQUESTS:-32}
MAX_TOKENS=${MAX_TOKENS:-32}
CAP=${CAP:-120}
THREADS=${THREADS:-1}
VOCAB=${VOCAB:-1024}
CONFIG=${CONFIG:-tiny-llama-gqa}
BIN=$PWD/build/$MODE/taskalign
[ -x "$BIN" ] || make -s -j2 MODE="$MODE" >/dev/null
TMP=$(mktemp -d /tmp/ta_bench_serve.XXXXXX)
SRV=
cleanup() { [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

"$BIN" data gen --out "$TMP/data" --scale small --seed 3 --quiet
"$BIN" data corpus --out "$TMP/corpus.txt" "$TMP/data/base_train.jsonl" "$TMP/data/sft_train.jsonl" >/dev/null
"$BIN" tokenizer train --corpus "$TMP/corpus.txt" --vocab-size "$VOCAB" --out "$TMP/tok" --quiet >/dev/null
node -e 'const fs=require("fs");const c=JSON.parse(fs.readFileSync(process.argv[1]));Object.assign(c,{vocab_size:+process.argv[3],bos_token_id:null,eos_token_id:2,pad_token_id:0,max_position_embeddings:1024});fs.writeFileSync(process.argv[2],JSON.stringify(c))' \
    "tests/data/configs/$CONFIG.json" "$TMP/cfg.json" "$VOCAB"
"$BIN" init --config "$TMP/cfg.json" --out "$TMP/model" --seed 5 >/dev/null
cp "$TMP/tok/tokenizer.json" "$TMP/tok/tokenizer_config.json" "$TMP/model/"
for i in $(seq 1 50); do
    "$BIN" tasks add --title "bench task $i" --priority high --db "$TMP/tasks.db" >/dev/null
done

# start_server LOGNAME ARGS...: starts it, sets SRV and BASE, waits for /health 200
start_server() {
    local log=$1; shift
    "$BIN" serve --model "$TMP/model" --db "$TMP/tasks.db" --host 127.0.0.1 --port 0 --quiet -t "$THREADS" "$@" \
        > "$TMP/$log.out" 2> "$TMP/$log.err" &
    SRV=$!
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -nE 's/.*127\.0\.0\.1:([0-9]+).*/\1/p' "$TMP/$log.out" | head -1)
        [ -n "$port" ] && break
        kill -0 "$SRV" 2>/dev/null || { echo "bench: server exited: $(cat "$TMP/$log.err")"; exit 1; }
        sleep 0.1
    done
    [ -n "$port" ] || { echo "bench: server printed no port"; exit 1; }
    BASE=http://127.0.0.1:$port
    for _ in $(seq 1 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health" || true)" = 200 ] && return 0
        sleep 0.1
    done
    echo "bench: server never became healthy"; exit 1
}
# stop_server: SIGTERM, then the exit status must be 0
stop_server() {
    kill -TERM "$SRV"
    local rc=0
    wait "$SRV" || rc=$?
    SRV=
    if [ $rc -ne 0 ]; then echo "bench: server exited $rc after SIGTERM"; exit 1; fi
    echo "server stopped by SIGTERM, exit status 0"
}

fail=0
echo "taskalign serve load test, loopback, model $CONFIG (vocab $VOCAB, random weights), -t $THREADS, $(nproc) cores here (shared machine: absolute numbers are noise)"
echo
echo "== run 1: --parallel 2 --queue 64 (room for every waiting request: no 503 expected)"
start_server run1 --parallel 2 --queue 64
node bench/bench_serve.mjs --base "$BASE" --route chat --levels "$LEVELS" --requests "$REQUESTS" --max-tokens "$MAX_TOKENS" --cap "$CAP" || fail=1
node bench/bench_serve.mjs --base "$BASE" --route tasks --levels "$LEVELS" --requests $((REQUESTS * 10)) --cap "$CAP" || fail=1
curl -s "$BASE/metrics" | grep -E '^taskalign_(busy_rejections_total|completion_tokens_total)' || true
stop_server
echo
echo "== run 2: --parallel 1 --queue 1 at 8 users (503 + Retry-After expected; they are rejections, not errors)"
start_server run2 --parallel 1 --queue 1
node bench/bench_serve.mjs --base "$BASE" --route chat --levels 8 --requests "$REQUESTS" --max-tokens "$MAX_TOKENS" --cap "$CAP" || fail=1
curl -s "$BASE/metrics" | grep -E '^taskalign_busy_rejections_total' || true
stop_server
[ $fail -eq 0 ] && echo "bench_serve: 0 errors" || { echo "bench_serve: ERRORS (see above)"; exit 1; }
