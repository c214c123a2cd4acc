#!/usr/bin/env bash
# `taskalign data gen|check` end to end: determinism, the validator on every
# generated file, bad lines reported with their numbers, usage errors.
set -u
pass=0 fail=0
ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }
T=$TA_TMP/cli_datagen
rm -rf "$T"; mkdir -p "$T"

ok "$TA_BIN" data gen --out "$T/a" --seed 5 --scale small --quiet
ok "$TA_BIN" data gen --out "$T/b" --seed 5 --scale small --quiet
ok "$TA_BIN" data gen --out "$T/c" --seed 6 --scale small --quiet
ok diff -r "$T/a" "$T/b"
ok test "$(cat "$T"/a/*.jsonl | sha256sum)" != "$(cat "$T"/c/*.jsonl | sha256sum)"
ok test -s "$T/a/manifest.json"
ok test -s "$T/a/suites/redteam_test.jsonl"
# the grammar from a folder gives the same bytes as the embedded copy
ok "$TA_BIN" data gen --out "$T/d" --seed 5 --scale small --quiet --data "$TA_ROOT/data/gen"
ok diff -r "$T/a" "$T/d"

ok "$TA_BIN" data check "$T"/a/*.jsonl "$T"/a/suites/*.jsonl 2> /dev/null

# seeded bad lines: reported as FILE:LINE and exit 1
head -n 2 "$T/a/sft_train.jsonl" > "$T/bad.jsonl"
echo '{"messages": [{"role": "user", "content": "hi"}' >> "$T/bad.jsonl"
echo '{"messages": [{"role": "user", "content": "add"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "create_task", "arguments": {"title": ""}}}]}, {"role": "tool", "content": "{\"id\": 1}"}, {"role": "assistant", "content": "ok"}]}' >> "$T/bad.jsonl"
echo '{"messages": [{"role": "assistant", "content": "hello"}]}' >> "$T/bad.jsonl"
"$TA_BIN" data check "$T/bad.jsonl" > "$T/out.txt" 2> "$T/err.txt"
rc=$?
ok test $rc -eq 1
ok grep -q "bad.jsonl:3: invalid JSON" "$T/out.txt"
ok grep -q "bad.jsonl:4: .*title" "$T/out.txt"
ok grep -q "bad.jsonl:5: .*start with a user message" "$T/out.txt"
ok test "$(grep -c 'bad.jsonl:[12]:' "$T/out.txt")" -eq 0

# usage
"$TA_BIN" data gen --out "$T/x" --scale huge > /dev/null 2>&1; ok test $? -eq 2
"$TA_BIN" data gen > /dev/null 2>&1; ok test $? -eq 2
ok "$TA_BIN" data --help > /dev/null
"$TA_BIN" data check "$T/missing.jsonl" > /dev/null 2>&1; ok test $? -eq 1

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
