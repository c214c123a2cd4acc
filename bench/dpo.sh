#!/usr/bin/env bash
# DPO step throughput and memory: taskalign (bench_dpo) against the same step
# in PyTorch (bench/torch_dpo.py), same config, pairs, sequence length and
# threads, reference log-probs handled the same way (a reference forward each
# step: the frozen copy, or with LoRA the base with adapters off).
#
#   bench/dpo.sh [THREADS] [STEPS]      (defaults: 1 thread, 2 timed steps)
#   TA_BENCH_ONLY=10m bench/dpo.sh      only the ~10M config
#
# Prints one line per case with tokens/s (wall) and tokens per CPU-second
# (robust on a shared machine), peak RSS, and the taskalign / PyTorch ratios.
set -eu
cd "$(dirname "$0")/.."
THREADS=${1:-1}
STEPS=${2:-2}
MODE=${MODE:-release}
make --no-print-directory -s bench MODE=$MODE >/dev/null
C=build/$MODE/bench/bench_dpo
PY=/usr/bin/python3
cases=(
  "10m tests/data/configs/model-10m.json 2 256 0"
  "10m tests/data/configs/model-10m.json 2 256 8"
  "100m tests/data/configs/model-100m.json 1 512 0"
  "100m tests/data/configs/model-100m.json 1 512 8"
)
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
printf "%-5s %-5s %5s %4s | %10s %10s %8s | %10s %10s %8s | %6s %6s %6s\n" cfg mode pairs seq \
  "ta tok/s" "ta tok/cpu" "ta MB" "pt tok/s" "pt tok/cpu" "pt MB" "wall x" "cpu x" "mem x"
for c in "${cases[@]}"; do
  set -- $c
  name=$1 cfg=$2 pairs=$3 seq=$4 r=$5
  [ -n "${TA_BENCH_ONLY:-}" ] && [ "$TA_BENCH_ONLY" != "$name" ] && continue
  lora=(); mode=full
  if [ "$r" != 0 ]; then lora=(--lora-r "$r"); mode="lora$r"; fi
  ta=$($C --config "$cfg" --pairs "$pairs" --seq "$seq" --steps "$STEPS" --threads "$THREADS" "${lora[@]}")
  pt=$($PY bench/torch_dpo.py --config "$cfg" --pairs "$pairs" --seq "$seq" --steps "$STEPS" --threads "$THREADS" "${lora[@]}")
  echo "# $ta" >&2
  echo "# $pt" >&2
  $PY - "$name" "$mode" "$pairs" "$seq" "$ta" "$pt" <<'EOF'
import json, sys
name, mode, pairs, seq, ta, pt = sys.argv[1:]
a, b = json.loads(ta), json.loads(pt)
print("%-5s %-5s %5s %4s | %10.1f %10.1f %8.0f | %10.1f %10.1f %8.0f | %6.2f %6.2f %6.2f" % (
    name, mode, pairs, seq, a["tokens_per_s"], a["tokens_per_cpu_s"], a["max_rss_mb"],
    b["tokens_per_s"], b["tokens_per_cpu_s"], b["max_rss_mb"],
    a["tokens_per_s"] / b["tokens_per_s"], a["tokens_per_cpu_s"] / b["tokens_per_cpu_s"],
    a["max_rss_mb"] / b["max_rss_mb"]))
EOF
done
