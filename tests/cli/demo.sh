#!/usr/bin/env bash
# The README's main job, as a smoke run (TA_DEMO_FAST=1: small data, a few
# steps per stage): every stage runs, the three models are loadable folders,
# every stage has a report, and the summary table has the three rows.
set -u
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
OUT=$TA_TMP/cli_demo
TA_DEMO_FAST=1 TA_DEMO_OUT="$OUT" TA_THREADS=1 MODE=${MODE:-release} bash "$TA_ROOT/scripts/demo.sh" > "$TA_TMP/demo.log" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || no "demo.sh rc $rc: $(tail -5 "$TA_TMP/demo.log")"
for m in base sft aligned; do
    [ -f "$OUT/models/$m/config.json" ] && [ -f "$OUT/models/$m/model.safetensors" ] && [ -f "$OUT/models/$m/tokenizer.json" ] && ok || no "models/$m is not a model folder"
    [ -f "$OUT/reports/$m/report.html" ] && [ -f "$OUT/reports/$m/transcripts.jsonl" ] && ok || no "reports/$m missing"
done
"$TA_BIN" inspect --model "$OUT/models/aligned" > /dev/null 2>&1 && ok || no "the aligned model does not load"
[ "$(grep -c '^| ' "$OUT/summary.md")" -eq 4 ] && grep -q '^| after DPO |' "$OUT/summary.md" && ok || no "summary table: $(cat "$OUT/summary.md")"
grep -q "reports:" "$TA_TMP/demo.log" && ok || no "the demo does not print where the report is"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
