#!/usr/bin/env bash
# CLI checks for `taskalign chat-template` and `taskalign tokenizer train`:
# exit codes, error messages, and the output forms.
set -u
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1"; fi; }
T=$TA_ROOT/tests/data/chat_templates
D=$TA_TMP/chat_template_cli
mkdir -p "$D"
echo '[{"role":"user","content":"Hi"}]' > "$D/m.json"

out=$("$TA_BIN" chat-template --model "$T/qwen2.5" --messages "$D/m.json" --generation-prompt)
ok "renders qwen2.5" '[ "$out" = "$(printf "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant")" ]'
"$TA_BIN" chat-template --model "$T/qwen2.5" > /dev/null 2>&1; rc=$?
ok "missing --messages is a usage error (2)" '[ $rc -eq 2 ]'
"$TA_BIN" chat-template --help | grep -q -- "--generation-prompt"; ok "--help documents options" '[ $? -eq 0 ]'
mkdir -p "$D/unknown"
echo '{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}' > "$D/unknown/tokenizer_config.json"
err=$("$TA_BIN" chat-template --model "$D/unknown" --messages "$D/m.json" 2>&1 >/dev/null); rc=$?
ok "unknown template fails (1)" '[ $rc -eq 1 ]'
ok "unknown template message" '[[ "$err" == *"chat_template is not one taskalign knows (not ChatML/Qwen2.5/Qwen3/SmolLM2/Llama 3.x)"* ]]'
echo '{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}' > "$D/unknown/tokenizer_config.json"
err=$("$TA_BIN" chat-template --model "$D/unknown" --messages "$D/m.json" 2>&1 >/dev/null)
ok "resembling template is named" '[[ "$err" == *"resembles ChatML"* ]]'
out=$("$TA_BIN" chat-template --model "$D/unknown" --messages "$D/m.json" --chat-format smollm2)
ok "--chat-format forces a family" '[[ "$out" == *"named SmolLM"* ]]'
echo '[{"role":"user","content":"x"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":{}}}]}]' > "$D/tc.json"
err=$("$TA_BIN" chat-template --model "$T/smollm2" --messages "$D/tc.json" 2>&1 >/dev/null); rc=$?
ok "smollm2 refuses tool calls" '[ $rc -eq 1 ] && [[ "$err" == *"no tool-call support"* ]]'
echo '[{"role":"user","content":"x"},{"role":"robot","content":"y"}]' > "$D/bad.json"
err=$("$TA_BIN" chat-template --model "$T/qwen3" --messages "$D/bad.json" 2>&1 >/dev/null)
ok "bad role names the element" '[[ "$err" == *"messages[1]"* ]]'
out=$("$TA_BIN" chat-template --model "$T/llama3.1" --messages "$D/m.json" --spans)
ok "--spans prints JSON" '[ "$out" = "[]" ]'
printf '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n{"messages":[]}\n' > "$D/b.jsonl"
out=$("$TA_BIN" chat-template --model "$T/qwen3" --jsonl "$D/b.jsonl")
ok "--jsonl: one line each, errors inline" '[ "$(echo "$out" | wc -l)" -eq 2 ] && [[ "$(echo "$out" | tail -1)" == *"\"error\""* ]]'

# tokenizer train
printf 'add milk to the list\nbuy bread tomorrow\n<|im_start|>user\nhi<|im_end|>\n%.0s' $(seq 1 200) > "$D/corpus.txt"
"$TA_BIN" tokenizer train --corpus "$D/corpus.txt" --vocab-size 300 --out "$D/tok" --quiet 2> "$D/train.err"; rc=$?
ok "tokenizer train exits 0" '[ $rc -eq 0 ] && [ -f "$D/tok/tokenizer.json" ] && [ -f "$D/tok/tokenizer_config.json" ]'
ids=$("$TA_BIN" tokenize --tokenizer "$D/tok" --text "<|im_start|>user" --no-special)
ok "trained specials are ids 0.." '[[ "$ids" == "[1,"* ]]'
out=$("$TA_BIN" chat-template --model "$D/tok" --messages "$D/m.json" --ids)
ok "trained tokenizer renders and encodes chats" '[[ "$out" == "[1,"* ]]'
"$TA_BIN" tokenizer train --corpus "$D/corpus.txt" --vocab-size 10 --out "$D/tok2" > /dev/null 2> "$D/e"; rc=$?
ok "too small vocab fails" '[ $rc -eq 1 ] && grep -q "256 byte symbols" "$D/e"'
"$TA_BIN" tokenizer train --corpus "$D/nope.txt" --vocab-size 300 --out "$D/tok3" > /dev/null 2> "$D/e"; rc=$?
ok "missing corpus names the file" '[ $rc -eq 1 ] && grep -q "nope.txt" "$D/e"'
"$TA_BIN" tokenizer train --vocab-size 300 --out "$D/tok3" > /dev/null 2>&1; rc=$?
ok "missing --corpus is a usage error" '[ $rc -eq 2 ]'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
