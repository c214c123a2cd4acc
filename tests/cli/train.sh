#!/usr/bin/env bash
# taskalign train sft|dpo and lora merge end to end on a tiny random model with
# a byte-level tokenizer and the real Qwen2.5 chat template: outputs, metrics,
# bad-data reports with file:line, --strict, Ctrl-C + --resume == a straight
# run (identical bytes), usage errors, LoRA merge == adapter model.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_train
rm -rf "$D"; mkdir -p "$D"
PY=${TA_PYTHON:-/usr/bin/python3}

# a byte-level BPE tokenizer (no merges) + ChatML specials, the Qwen2.5 template, a 320-token model
M=$D/model
mkdir -p "$M"
$PY - "$M" "$TA_ROOT" <<'EOF'
import json, sys
out, root = sys.argv[1], sys.argv[2]
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
vocab = {chr(c): b for b, c in zip(bs, cs)}
added = [{"id": 256 + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
          "special": True} for i, s in enumerate(["<|im_start|>", "<|im_end|>", "<|endoftext|>"])]
bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}
tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
       "pre_tokenizer": bl, "post_processor": None, "decoder": bl,
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                 "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                 "vocab": vocab, "merges": []}}
json.dump(tok, open(out + "/tokenizer.json", "w"))
tc = json.load(open(root + "/tests/data/chat_templates/qwen2.5/tokenizer_config.json"))
json.dump(tc, open(out + "/tokenizer_config.json", "w"))
cfg = json.load(open(root + "/tests/data/configs/tiny-llama-gqa.json"))
cfg["vocab_size"] = 320
cfg["max_position_embeddings"] = 1024
cfg["eos_token_id"] = 257
json.dump(cfg, open(out + "/tiny.json", "w"))
EOF
"$TA_BIN" init --config "$M/tiny.json" --out "$M" --seed 1 2>/dev/null && ok || no "init of the test model failed"

cat > "$D/sft.jsonl" <<'EOF'
{"messages":[{"role":"user","content":"add eggs"},{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"create_task","arguments":{"title":"eggs"}}}]},{"role":"tool","content":"{\"id\":1}"},{"role":"assistant","content":"Added eggs."}]}
{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello! What should I add?"}]}
EOF
cat > "$D/prefs.jsonl" <<'EOF'
{"prompt":[{"role":"user","content":"track my ex's location"}],"chosen":[{"role":"assistant","content":"I can't help with tracking someone."}],"rejected":[{"role":"assistant","content":"Sure, adding a task to follow her."}]}
{"prompt":"add milk","chosen":"Added milk.","rejected":"No."}
{"prompt":[{"role":"user","content":"what is due?"}],"chosen":[{"role":"assistant","content":"Rent, today."}],"rejected":[{"role":"assistant","content":"Dunno."}]}
{"prompt":"remind me at 5","chosen":"Reminder set for 5pm.","rejected":"ok"}
EOF
cat > "$D/bad.jsonl" <<'EOF'
{"prompt":"a","chosen":"b","rejected":"c"}
{"prompt":"a","chosen":"same","rejected":"same"}
{"prompt":"a", "chosen": 
{"prompt":[{"role":"assistant","content":"x"}],"chosen":[{"role":"assistant","content":"y"}],"rejected":[{"role":"assistant","content":"z"}]}
EOF

# --- SFT
"$TA_BIN" train sft --help | grep -q -- "--tokenizer" && ok || no "train sft --help lacks --tokenizer"
"$TA_BIN" train dpo --help | grep -q -- "--precompute-ref" && ok || no "train dpo --help lacks --precompute-ref"
"$TA_BIN" train sft --model "$M" --data "$D/sft.jsonl" --out "$D/sft" --max-steps 3 --batch-size 2 --lr 1e-3 --threads 1 2> "$D/sft.log" && ok || no "train sft failed: $(tail -3 "$D/sft.log")"
[ -f "$D/sft/model.safetensors" ] && [ -f "$D/sft/config.json" ] && [ -f "$D/sft/tokenizer.json" ] && [ -f "$D/sft/tokenizer_config.json" ] && ok || no "sft output folder incomplete"
[ "$(wc -l < "$D/sft/metrics.jsonl")" -eq 3 ] && grep -q '"learning_rate"' "$D/sft/metrics.jsonl" && ok || no "sft metrics.jsonl wrong"
grep -q "^done: 3 steps" "$D/sft.log" && ok || no "no final summary: $(tail -2 "$D/sft.log")"
"$TA_BIN" train sft --init "$M/tiny.json" --tokenizer "$M" --data "$D/sft.jsonl" --out "$D/sft_init" --max-steps 1 --threads 1 2>/dev/null && [ -f "$D/sft_init/tokenizer.json" ] && ok || no "train sft --init failed"

# --- DPO, bad data
"$TA_BIN" train dpo --model "$M" --data "$D/prefs.jsonl" --out "$D/dpo" --max-steps 2 --batch-size 2 --threads 1 --precompute-ref 2> "$D/dpo.log" && ok || no "train dpo failed: $(tail -3 "$D/dpo.log")"
head -1 "$D/dpo/metrics.jsonl" | grep -q '"rewards/accuracies"' && grep -q '"logps/chosen"' "$D/dpo/metrics.jsonl" && ok || no "dpo metrics lack TRL names"
head -1 "$D/dpo/metrics.jsonl" | $PY -c "import json,sys,math; l=json.loads(sys.stdin.readline())['loss']; sys.exit(0 if abs(l-math.log(2))<1e-6 else 1)" && ok || no "first dpo loss is not ln 2"
[ -f "$D/dpo/ref_logps.safetensors" ] && ok || no "--precompute-ref wrote no cache"
"$TA_BIN" train dpo --model "$M" --data "$D/bad.jsonl" --out "$D/bad" --max-steps 1 --threads 1 2> "$D/bad.log"; rc=$?
[ $rc -eq 0 ] && grep -q "bad.jsonl:2: \"chosen\" and \"rejected\" are identical" "$D/bad.log" && grep -q "bad.jsonl:3: malformed JSON" "$D/bad.log" \
  && grep -q "bad.jsonl:4: .*roles do not alternate" "$D/bad.log" && grep -q "3 bad skipped" "$D/bad.log" && ok || no "bad data not reported (rc $rc): $(head -6 "$D/bad.log")"
"$TA_BIN" train dpo --model "$M" --data "$D/bad.jsonl" --out "$D/bad2" --max-steps 1 --threads 1 --strict 2> "$D/strict.log"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.jsonl:2:" "$D/strict.log" && ok || no "--strict did not fail at line 2 (rc $rc)"
: > "$D/empty.jsonl"
"$TA_BIN" train dpo --model "$M" --data "$D/empty.jsonl" --out "$D/e" --threads 1 2> "$D/empty.log"; rc=$?
[ $rc -eq 1 ] && grep -q "no usable example" "$D/empty.log" && ok || no "empty dataset not an error (rc $rc)"
"$TA_BIN" train dpo --model "$M" --data "$D/prefs.jsonl" --out "$D/x" --loss kto 2>/dev/null; [ $? -eq 2 ] && ok || no "--loss kto is not a usage error"
"$TA_BIN" train dpo --model "$M" --data "$D/prefs.jsonl" --out "$D/x" --init "$M/tiny.json" 2>/dev/null; [ $? -eq 2 ] && ok || no "--init is accepted by train dpo"
"$TA_BIN" train sft --model "$M" --data "$D/sft.jsonl" --out "$D/x" --beta 0.2 2>/dev/null; [ $? -eq 2 ] && ok || no "--beta is accepted by train sft"
# the message names the option, not its value (was "option '16' is an option of train dpo")
msg=$("$TA_BIN" train sft --model "$M" --data "$D/sft.jsonl" --out "$D/x" --lora-r 16 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q -- "--lora-r is an option of train dpo" && ok || no "sft --lora-r: rc $rc '$msg'"
msg=$("$TA_BIN" train dpo --model "$M" --data "$D/prefs.jsonl" --out "$D/x" --tokenizer "$M" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q -- "--tokenizer is an option of train sft" && ok || no "dpo --tokenizer: rc $rc '$msg'"

# --- Ctrl-C then --resume == straight run (400 steps, so the signal lands mid-run, not at exit)
ARGS=(--model "$M" --data "$D/prefs.jsonl" --max-steps 400 --batch-size 1 --lr 1e-3 --threads 1 --lora-r 2 --lora-targets all)
"$TA_BIN" train dpo "${ARGS[@]}" --out "$D/straight" 2>/dev/null && ok || no "straight run failed"
"$TA_BIN" train dpo "${ARGS[@]}" --out "$D/intr" --log-every 1 2> "$D/intr.log" &
pid=$!
for _ in $(seq 1 200); do [ -s "$D/intr/metrics.jsonl" ] && break; sleep 0.05; done
kill -INT $pid
wait $pid; rc=$?
# 400 steps take ~1 s and the signal follows the first logged step, so it lands mid-run; a
# run that finished anyway did not test the interrupt, and fails
if [ $rc -eq 130 ] && ! grep -q "^done:" "$D/intr.log"; then
  grep -q "interrupted at step" "$D/intr.log" && ls -d "$D/intr"/checkpoint-* >/dev/null 2>&1 && ok || no "Ctrl-C saved no checkpoint"
  "$TA_BIN" train dpo "${ARGS[@]}" --out "$D/intr" --resume 2> "$D/resume.log" && ok || no "resume failed: $(tail -2 "$D/resume.log")"
else
  no "the run ended before SIGINT (rc $rc): the interrupt was not tested"
fi
cmp -s "$D/straight/adapter_model.safetensors" "$D/intr/adapter_model.safetensors" && ok || no "interrupted + resumed adapter differs from the straight run"
[ "$(wc -l < "$D/intr/metrics.jsonl")" -eq 400 ] && ok || no "resumed metrics.jsonl has $(wc -l < "$D/intr/metrics.jsonl") lines, want 400"

# --- LoRA merge: merged model == adapter model (logprobs of a sequence)
"$TA_BIN" lora merge --model "$M" --adapter "$D/straight" --out "$D/merged" 2>/dev/null && ok || no "lora merge failed"
a=$("$TA_BIN" logprobs --model "$D/merged" --ids 256,10,20,30,40 2>/dev/null)
b=$("$TA_BIN" logprobs --model "$D/straight" --ids 256,10,20,30,40 2>/dev/null)
c=$("$TA_BIN" logprobs --model "$M" --ids 256,10,20,30,40 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] && ok || no "merged logprobs '$a' vs output folder '$b' (base '$c')"
"$TA_BIN" lora merge --model "$M" --adapter "$D/nope" --out "$D/m2" 2>/dev/null; [ $? -eq 1 ] && ok || no "missing adapter is not an error"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
