#!/usr/bin/env bash
# taskalign data corpus: plain text from SFT and preference JSONL, tool calls
# written as the model writes them; bad lines named by file and line.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_corpus
mkdir -p "$D"
cat > "$D/sft.jsonl" <<'J'
{"messages":[{"role":"user","content":"Add milk"},{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"create_task","arguments":{"title":"milk"}}}]},{"role":"tool","content":"{\"id\":1}"},{"role":"assistant","content":"Added \"milk\"."}]}
J
cat > "$D/prefs.jsonl" <<'J'
{"prompt":[{"role":"user","content":"Track my ex"}],"chosen":[{"role":"assistant","content":"I can't help with that."}],"rejected":"Sure!"}
J
"$TA_BIN" data corpus --out "$D/c.txt" "$D/sft.jsonl" "$D/prefs.jsonl" 2>/dev/null && ok || no "corpus failed"
grep -q '^Added "milk".$' "$D/c.txt" && ok || no "quotes should be plain text"
grep -q '^<tool_call>$' "$D/c.txt" && grep -q '{"name": "create_task", "arguments": {"title": "milk"}}' "$D/c.txt" && ok || no "tool call not rendered"
grep -q "^I can't help with that.$" "$D/c.txt" && grep -q '^Sure!$' "$D/c.txt" && grep -q '^Track my ex$' "$D/c.txt" && ok || no "preference texts missing"
printf '{"messages":[]}\n{"messages": [}\n' > "$D/bad.jsonl"
msg=$("$TA_BIN" data corpus --out "$D/x.txt" "$D/bad.jsonl" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "bad.jsonl:2" && ok || no "bad line: rc $rc '$msg'"
[ ! -e "$D/x.txt" ] && ok || no "output written despite an error"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
