#!/usr/bin/env bash
# taskalign logprobs / grad against tools/torch_ref.py (float64 PyTorch):
# log-probs within 1e-5 absolute, every gradient tensor within 1e-5 of the
# reference's max |g|; usage and bad-input errors.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_engine
CFG=$TA_ROOT/tests/data/configs
REF=$TA_ROOT/tools/torch_ref.py
mkdir -p "$D"
IDS=1,17,200,33,5,5,91,250,7

"$TA_BIN" logprobs --help | grep -q -- "--ids" && ok || no "logprobs --help does not document --ids"
"$TA_BIN" grad --help | grep -q -- "--out" && ok || no "grad --help does not document --out"
CONFIGS="tiny-llama-gqa tiny-qwen2 tiny-llama3-rope"
for c in $CONFIGS; do
    "$TA_BIN" init --config "$CFG/$c.json" --out "$D/$c" --seed 5 --std 0.2 2>/dev/null || no "$c: init failed"
    "$TA_BIN" logprobs --model "$D/$c" --ids $IDS -t 1 > "$D/$c.c.json" 2>"$D/err" || no "$c: logprobs failed: $(cat "$D/err")"
    "$TA_BIN" grad --model "$D/$c" --ids $IDS --out "$D/$c.c.st" -t 2 2>/dev/null || no "$c: grad failed"
done
# one Python process (importing torch takes seconds) checks every config
res=$("$TA_PYTHON" - "$D" "$TA_ROOT/tools" "$IDS" $CONFIGS <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
import numpy as np, torch, torch_ref as r
d, ids = sys.argv[1], [int(x) for x in sys.argv[3].split(",")]
for c in sys.argv[4:]:
    m = f"{d}/{c}"
    cfg = r.load_config(m)
    params = r.load_params(m, cfg, torch.float64)
    tokens, targets = r._next_token_setup(ids)
    lp = r.token_logprobs(r.forward(params, cfg, tokens, [len(ids)]), targets)[0][:-1]
    got = json.load(open(f"{m}.c.json"))
    ok = got["token_logprobs"][0] is None and len(got["token_logprobs"]) == len(ids)
    ok = ok and all(abs(a - b) < 1e-5 for a, b in zip(got["token_logprobs"][1:], lp.tolist()))
    ok = ok and abs(got["sum"] - lp.sum().item()) < 1e-4
    print(("ok" if ok else "no") + f" {c}: logprobs match torch")
    (-lp.sum()).backward()
    g = r.read_safetensors(f"{m}.c.st")
    worst = max(np.abs(g[n] - p.grad.numpy()).max() / max(np.abs(p.grad.numpy()).max(), 1e-30) for n, p in params.items())
    ok = sorted(g) == sorted(params) and worst < 1e-5
    print(("ok" if ok else "no") + f" {c}: every gradient matches torch (worst rel err {worst:.1e})")
PY
)
echo "$res"
while read -r verdict rest; do
    [ "$verdict" = ok ] && ok || no "$rest"
done <<< "$res"
[ $(echo "$res" | grep -c '^ok') -eq 6 ] || no "the torch comparison did not report 6 checks"

M=$D/tiny-llama-gqa
out=$("$TA_BIN" logprobs --model "$M" --ids 5 2>&1) && [ "$out" = '{"token_logprobs": [null], "sum": 0}' ] && ok || no "single id: '$out'"
msg=$("$TA_BIN" logprobs --model "$M" --ids 1,2,256 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "256 at row 0 position 2" && ok || no "id out of range: rc $rc, '$msg'"
"$TA_BIN" logprobs --model "$M" --ids 1,x 2>/dev/null; [ $? -eq 2 ] && ok || no "bad --ids is not a usage error"
"$TA_BIN" logprobs --ids 1,2 2>/dev/null; [ $? -eq 2 ] && ok || no "missing --model is not a usage error"
"$TA_BIN" grad --model "$M" --ids 1 --out "$D/x.st" 2>/dev/null; [ $? -eq 2 ] && ok || no "grad with one id is not a usage error"
msg=$("$TA_BIN" logprobs --model "$D/nope" --ids 1,2 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "nope" && ok || no "missing model: rc $rc, '$msg'"

echo "$pass passed, $fail failed"
