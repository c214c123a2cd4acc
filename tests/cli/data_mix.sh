#!/usr/bin/env bash
# taskalign data mix: all lines or a seeded sample of each file, shuffled;
# deterministic for a seed; bad sources named with file and line.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
D=$TA_TMP/cli_data_mix
mkdir -p "$D"
for i in $(seq 1 50); do echo "{\"src\": \"a\", \"i\": $i}"; done > "$D/a.jsonl"
printf '{"src": "b", "i": 1}\n\n{"src": "b", "i": 2}\r\n{"src": "b", "i": 3}\n' > "$D/b.jsonl"
"$TA_BIN" data mix --out "$D/m1.jsonl" --seed 7 "$D/a.jsonl:20" "$D/b.jsonl" 2> "$D/err" && ok || no "mix failed: $(cat "$D/err")"
grep -q "a.jsonl 20 of 50, .*b.jsonl 3 of 3 -> 23 lines" "$D/err" && ok || no "summary: $(cat "$D/err")"
"$TA_PYTHON" - "$D/m1.jsonl" "$D/a.jsonl" <<'PY' && ok || no "mix content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a = [r for r in rows if r["src"] == "a"]; b = [r for r in rows if r["src"] == "b"]
assert len(rows) == 23 and len(a) == 20 and sorted(r["i"] for r in b) == [1, 2, 3], rows
assert len({r["i"] for r in a}) == 20  # without replacement
assert [r["i"] for r in a] != sorted(r["i"] for r in a)  # shuffled, not the first 20 in order
assert rows[-3:] != b  # b is mixed in, not appended
PY
"$TA_BIN" data mix --out "$D/m2.jsonl" --seed 7 "$D/a.jsonl:20" "$D/b.jsonl" 2> /dev/null && cmp -s "$D/m1.jsonl" "$D/m2.jsonl" && ok || no "same seed, different output"
"$TA_BIN" data mix --out "$D/m3.jsonl" --seed 8 "$D/a.jsonl:20" "$D/b.jsonl" 2> /dev/null && ! cmp -s "$D/m1.jsonl" "$D/m3.jsonl" && ok || no "another seed, same output"
msg=$("$TA_BIN" data mix --out "$D/x.jsonl" "$D/b.jsonl:4" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "b.jsonl: asked for 4 lines, the file has 3" && ok || no "too many lines: rc $rc '$msg'"
printf '{"ok": 1}\n[1, 2]\n' > "$D/bad.jsonl"
msg=$("$TA_BIN" data mix --out "$D/x.jsonl" "$D/bad.jsonl" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "bad.jsonl:2: not a JSON object" && ok || no "not an object: rc $rc '$msg'"
printf '{"ok": 1}\n{"no": \n' > "$D/bad2.jsonl"
msg=$("$TA_BIN" data mix --out "$D/x.jsonl" "$D/bad2.jsonl" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "bad2.jsonl:2" && ok || no "malformed JSON: rc $rc '$msg'"
[ ! -e "$D/x.jsonl" ] && ok || no "a failed mix left an output file"
msg=$("$TA_BIN" data mix --out "$D/x.jsonl" "$D/none.jsonl" 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$msg" | grep -q "none.jsonl" && ok || no "missing file: rc $rc '$msg'"
msg=$("$TA_BIN" data mix "$D/a.jsonl" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$msg" | grep -q -- "--out" && ok || no "no --out: rc $rc '$msg'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
