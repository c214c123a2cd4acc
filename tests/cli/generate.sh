#!/usr/bin/env bash
# taskalign generate: JSON output, batching = alone (greedy), seeded sampling
# reproducible, EOS/stop ids, --ids-file, bad input errors.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_generate
CFG=$TA_ROOT/tests/data/configs
mkdir -p "$D"
"$TA_BIN" init --config "$CFG/tiny-qwen2.json" --out "$D/m" --seed 5 --std 0.2 2>/dev/null || no "init failed"
G() { "$TA_BIN" generate --model "$D/m" "$@"; }

G --help | grep -q -- "--top-p" && G --help | grep -q -- "--ids-file" && ok || no "--help lacks --top-p/--ids-file"
a=$(G --ids 1,5,9 --max-tokens 6 --ignore-eos 2>/dev/null)
echo "$a" | grep -Eq '^\[[0-9]+(,[0-9]+){5}\]$' && ok || no "greedy output '$a' is not a JSON array of 6 ids"
b=$(G --ids 1,5,9 --max-tokens 6 --ignore-eos 2>/dev/null)
[ "$a" = "$b" ] && ok || no "greedy not deterministic: '$a' vs '$b'"
c=$(G --ids 7 --max-tokens 6 --ignore-eos 2>/dev/null)
both=$(G --ids 1,5,9 --ids 7 --max-tokens 6 --ignore-eos -t 1 2>/dev/null)
[ "$both" = "$(printf '%s\n%s' "$a" "$c")" ] && ok || no "batch of two '$both' differs from alone '$a' / '$c'"
printf '1,5,9\n\n7\n' > "$D/ids.txt"
f=$(G --ids-file "$D/ids.txt" --max-tokens 6 --ignore-eos 2>/dev/null)
[ "$f" = "$both" ] && ok || no "--ids-file '$f' differs from --ids '$both'"
s1=$(G --ids 1,5,9 --max-tokens 8 --temperature 1 --top-p 0.9 --top-k 50 --seed 3 --ignore-eos 2>/dev/null)
s2=$(G --ids 1,5,9 --max-tokens 8 --temperature 1 --top-p 0.9 --top-k 50 --seed 3 --ignore-eos 2>/dev/null)
s3=$(G --ids 1,5,9 --max-tokens 8 --temperature 1 --top-p 0.9 --top-k 50 --seed 4 --ignore-eos 2>/dev/null)
[ -n "$s1" ] && [ "$s1" = "$s2" ] && ok || no "seeded sampling not reproducible: '$s1' vs '$s2'"
[ "$s1" != "$s3" ] && ok || no "seeds 3 and 4 gave the same sample '$s1'"
first=$(echo "$a" | sed -E 's/^\[([0-9]+).*/\1/')
e=$(G --ids 1,5,9 --max-tokens 6 --eos "$first" --details 2>/dev/null)
[ "$e" = '{"tokens": [], "finish": "eos"}' ] && ok || no "--eos of the first token gave '$e'"
two=$(echo "$a" | sed -E 's/^\[([0-9]+),([0-9]+).*/\1,\2/')
st=$(G --ids 1,5,9 --max-tokens 6 --ignore-eos --stop-ids "$two" --details 2>/dev/null)
[ "$st" = "{\"tokens\": [$two], \"finish\": \"stop\"}" ] && ok || no "--stop-ids $two gave '$st'"
G --ids 1,5,9 --max-tokens 3 --ignore-eos --logits-out "$D/l.jsonl" >/dev/null 2>&1
[ "$(wc -l < "$D/l.jsonl")" -eq 3 ] && grep -q '"step": 2' "$D/l.jsonl" && ok || no "--logits-out did not write 3 lines"
G --ids 1,5 --stats --max-tokens 4 2>&1 >/dev/null | grep -q "tokens/s" && ok || no "--stats printed no rate"

msg=$(G --ids 1,999999 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "token 1 is id 999999" && ok || no "bad id: rc $rc, '$msg'"
msg=$(G --ids 1,x 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q "element 2" && ok || no "unparsable id: rc $rc, '$msg'"
printf '1,2\n3,,4\n' > "$D/bad.txt"
msg=$(G --ids-file "$D/bad.txt" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "bad.txt:2" && ok || no "bad ids file: rc $rc, '$msg'"
G --ids 1 --top-p 1.5 >/dev/null 2>&1; [ $? -eq 2 ] && ok || no "--top-p 1.5 is not a usage error"
G --ids 1 --max-tokens 0 >/dev/null 2>&1; [ $? -eq 2 ] && ok || no "--max-tokens 0 is not a usage error"
G >/dev/null 2>&1; [ $? -eq 2 ] && ok || no "no prompt is not a usage error"
msg=$("$TA_BIN" generate --model "$D/none" --ids 1 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "none" && ok || no "missing model: rc $rc, '$msg'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
