#!/usr/bin/env bash
# The README's main job, as a smoke run (TA_DEMO_FAST=1: small data, a few
# steps per stage): every stage runs, the three models are loadable folders,
# every stage has a report, and the summary table has the three rows; with
# TA_DEMO_ONPOLICY=1 the second, on-policy DPO round runs too (its probe of
# the train-split suites, its data, four rows).
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
[ ! -e "$OUT/models/dpo1" ] && ok || no "a one-round demo made models/dpo1"
"$TA_BIN" inspect --model "$OUT/models/aligned" > /dev/null 2>&1 && ok || no "the aligned model does not load"
[ "$(grep -c '^| ' "$OUT/summary.md")" -eq 4 ] && grep -q '^| after DPO |' "$OUT/summary.md" && ok || no "summary table: $(cat "$OUT/summary.md")"
grep -q "reports:" "$TA_TMP/demo.log" && ok || no "the demo does not print where the report is"
# the generalization check: SFT and aligned models on the train-split suites (all three, gated),
# printed beside the held-out row
for r in sft_train aligned_train; do
    grep -q "redteam-train-" "$OUT/reports/$r/transcripts.jsonl" && grep -q "capability-train-" "$OUT/reports/$r/transcripts.jsonl" &&
        ! grep -q -- "-test-" "$OUT/reports/$r/transcripts.jsonl" && ok || no "reports/$r is not the train-split suites"
done
[ "$(grep -c '^| ' "$OUT/generalization.md")" -eq 4 ] && grep -q '^| after DPO, trained requests |' "$OUT/generalization.md" &&
    grep -q '^| after DPO, held-out requests' "$OUT/generalization.md" && ok || no "generalization check: $(cat "$OUT/generalization.md" 2>&1)"
grep -Eq "gate\(s\) failed|all gates passed" "$OUT/reports/aligned_train.gates" &&
    grep -A3 "gates on the trained requests" "$TA_TMP/demo.log" | grep -Eq "gate\(s\) failed|all gates passed" &&
    ok || no "the trained-requests gates are not printed: $(cat "$OUT/reports/aligned_train.gates" 2>&1)"

# the on-policy round, resuming the models above (TA_DEMO_RESUME keeps base and sft)
OUT2=$TA_TMP/cli_demo_onpolicy
mkdir -p "$OUT2/models" "$OUT2/reports"
cp -r "$OUT/models/base" "$OUT/models/sft" "$OUT2/models/"
cp -r "$OUT/reports/base" "$OUT/reports/sft" "$OUT2/reports/"
TA_DEMO_FAST=1 TA_DEMO_ONPOLICY=1 TA_DEMO_RESUME=1 TA_DEMO_OUT="$OUT2" TA_THREADS=1 MODE=${MODE:-release} \
    bash "$TA_ROOT/scripts/demo.sh" > "$TA_TMP/demo2.log" 2>&1; rc=$?
[ $rc -eq 0 ] && ok || no "demo.sh (on-policy) rc $rc: $(tail -5 "$TA_TMP/demo2.log")"
for m in dpo1 aligned; do
    [ -f "$OUT2/models/$m/model.safetensors" ] && [ -f "$OUT2/reports/$m/report.json" ] && ok || no "on-policy: models/$m or reports/$m missing"
done
[ "$(grep -c '^| ' "$OUT2/summary.md")" -eq 5 ] && grep -q '^| after DPO round 1 |' "$OUT2/summary.md" &&
    grep -q '^| after DPO round 2 (on-policy) |' "$OUT2/summary.md" && ok || no "on-policy summary table: $(cat "$OUT2/summary.md")"
[ -f "$OUT2/reports/probe/transcripts.jsonl" ] && grep -q "redteam-train-" "$OUT2/reports/probe/transcripts.jsonl" &&
    ! grep -q "redteam-test-" "$OUT2/reports/probe/transcripts.jsonl" && ok || no "the probe is not on the train-split suites"
[ -s "$OUT2/data/prefs_round2.jsonl" ] && ok || no "round 2 data is missing"
"$TA_BIN" data check "$OUT2/data/prefs_round2.jsonl" > /dev/null 2>&1 && ok || no "round 2 data fails data check: $("$TA_BIN" data check "$OUT2/data/prefs_round2.jsonl" | tail -3)"
n_on=$(wc -l < "$OUT2/data/prefs_onpolicy.jsonl"); n_r2=$(wc -l < "$OUT2/data/prefs_round2.jsonl"); n_p=$(wc -l < "$OUT2/data/prefs_train.jsonl")
[ "$n_r2" -eq $((n_on + n_p / 3)) ] && ok || no "round 2 = $n_r2 lines, expected $n_on on-policy + $((n_p / 3)) replayed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
