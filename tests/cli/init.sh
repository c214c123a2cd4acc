#!/usr/bin/env bash
# taskalign init: writes a loadable random model folder; deterministic; bad input errors.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_init
CFG=$TA_ROOT/tests/data/configs
mkdir -p "$D"

"$TA_BIN" init --help | grep -q -- "--dtype" && ok || no "init --help does not document --dtype"
"$TA_BIN" init --config "$CFG/tiny-llama-gqa.json" --out "$D/a" --seed 3 2>/dev/null && ok || no "init failed"
[ -f "$D/a/config.json" ] && [ -f "$D/a/model.safetensors" ] && ok || no "init did not write both files"
"$TA_BIN" init --config "$CFG/tiny-llama-gqa.json" --out "$D/b" --seed 3 2>/dev/null
cmp -s "$D/a/model.safetensors" "$D/b/model.safetensors" && ok || no "same seed gave different files"
"$TA_BIN" init --config "$CFG/tiny-llama-gqa.json" --out "$D/c" --seed 4 2>/dev/null
cmp -s "$D/a/model.safetensors" "$D/c/model.safetensors" && no "different seeds gave the same file" || ok
"$TA_BIN" init --config "$CFG/tiny-qwen2.json" --out "$D/q" --dtype bf16 2>/dev/null && ok || no "bf16 init failed"
grep -q '"torch_dtype": "bfloat16"' "$D/q/config.json" && ok || no "bf16 config.json lacks torch_dtype bfloat16"
grep -q '"BF16"' "$D/q/model.safetensors" && ok || no "bf16 file has no BF16 tensors"

"$TA_BIN" init --config "$CFG/tiny-llama-gqa.json" 2>/dev/null; [ $? -eq 2 ] && ok || no "missing --out is not a usage error"
"$TA_BIN" init --config "$CFG/tiny-llama-gqa.json" --out "$D/x" --dtype f64 2>/dev/null; [ $? -eq 2 ] && ok || no "--dtype f64 is not a usage error"
echo '{"architectures":["GPT2LMHeadModel"]}' > "$D/bad.json"
msg=$("$TA_BIN" init --config "$D/bad.json" --out "$D/x" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q 'architectures\[0\] "GPT2LMHeadModel"' && ok || no "bad architecture: rc $rc, '$msg'"
msg=$("$TA_BIN" init --config "$D/none.json" --out "$D/x" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "none.json" && ok || no "missing config: rc $rc, '$msg'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
