#!/usr/bin/env bash
# Subnormal floats and training speed, taskalign against PyTorch in one run.
#
# A model that has trained for a while puts most of the vocabulary at the floor
# of its softmax; those probabilities times a small gradient are subnormal, and
# x86 handles every operation on a subnormal with a microcode assist. taskalign
# sets flush-to-zero / denormals-are-zero on its threads and flushes what its
# kernels hand to a GEMM (core/threads.h, kernels/fastmath.h); PyTorch leaves
# them unless torch.set_flush_denormal(True).
#
# The run: train the embedded 4.2M config from scratch for STEPS steps on a
# copying task (4,000 "repeat this back" conversations over made-up words), then
# time SFT steps on that trained model with the mode off (TA_KEEP_SUBNORMALS=1)
# and on, alternating REPEAT times (best run counts), and PyTorch's same steps
# on the same model and rows with set_flush_denormal False and True.
#
#   bench/subnormal.sh                 # STEPS=1000 THREADS=2 REPEAT=2
set -eu
cd "$(dirname "$0")/.."
STEPS=${STEPS:-1000}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-2}
PY=${TA_PYTHON:-/usr/bin/python3}
make -s -j2 build/release/taskalign >/dev/null
TA=$PWD/build/release/taskalign
W=$(mktemp -d /tmp/ta_subnormal.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$PY" - "$W" <<'PYEOF'
import json, random, sys
random.seed(1)
on = "b d f g h k l m n p r s t v w z br dr gr kl pr st tr sh ch th".split()
vo = "a e i o u a e o ai ea ou y".split()
co = ["", "", "", "n", "r", "l", "s", "t", "m", "k", "nd", "rt", "x"]
def word():
    return "".join(random.choice(on) + random.choice(vo) + (random.choice(co) if random.random() < .5 else "")
                   for _ in range(random.randint(1, 3)))
with open(sys.argv[1] + "/copy.jsonl", "w") as f, open(sys.argv[1] + "/corpus.txt", "w") as c:
    for i in range(4000):
        ph = " ".join(word() if random.random() < .75 else str(random.randint(0, 99999)) for _ in range(random.randint(2, 7)))
        f.write(json.dumps({"messages": [{"role": "user", "content": "Repeat this back to me exactly: " + ph},
                                         {"role": "assistant", "content": ph}]}) + "\n")
        c.write("Repeat this back to me exactly: " + ph + "\n" + ph + "\n")
PYEOF
"$TA" tokenizer train --corpus "$W/corpus.txt" --vocab-size 4096 --out "$W/tok" >/dev/null 2>&1 \
    --special-tokens "<|endoftext|>,<|im_start|>,<|im_end|>" --quiet
echo "training the model to time ($STEPS steps) ..." >&2
"$TA" train sft --init data/demo/model.json --tokenizer "$W/tok" --data "$W/copy.jsonl" --out "$W/m" --max-steps "$STEPS" \
    --batch-size 8 --lr 2e-3 --warmup-ratio 0.02 --schedule cosine --max-length 256 --seed 1 --threads "$THREADS" >/dev/null 2>&1
head -400 "$W/copy.jsonl" > "$W/time.jsonl"
rate() { # prints tokens/s of 40 SFT steps on the trained model
    "$TA" train sft --model "$W/m" --data "$W/time.jsonl" --out "$W/x" --max-steps 40 --batch-size 8 --lr 1e-4 \
        --schedule constant --max-length 256 --seed 1 --threads "$THREADS" 2>&1 | sed -n 's/.*(\([0-9.]*\) tokens\/s).*/\1/p'
}
keep=0 flush=0
for r in $(seq "$REPEAT"); do
    k=$(TA_KEEP_SUBNORMALS=1 rate); f=$(rate)
    keep=$(awk -v a="$keep" -v b="$k" 'BEGIN { print (b > a ? b : a) }')
    flush=$(awk -v a="$flush" -v b="$f" 'BEGIN { print (b > a ? b : a) }')
done
"$TA" chat-template --model "$W/m" --jsonl "$W/time.jsonl" --ids > "$W/rows.jsonl"
TORCH=$(OPENBLAS_CORETYPE=SkylakeX "$PY" bench/torch_subnormal.py --model "$W/m" --rows "$W/rows.jsonl" --batch 8 --steps 4 \
    --threads "$THREADS")
tk=$(echo "$TORCH" | "$PY" -c 'import json,sys; r=[json.loads(l) for l in sys.stdin]; print(r[0]["tokens_per_s"], r[1]["tokens_per_s"])')
set -- $tk
awk -v k="$keep" -v f="$flush" -v pk="$1" -v pf="$2" -v s="$STEPS" 'BEGIN {
    printf "trained %d steps; SFT tokens/s on it (best of runs):\n", s
    printf "  taskalign  subnormals kept %8.0f   flushed %8.0f   flushed/kept %.2fx\n", k, f, f / k
    printf "  pytorch    default        %8.0f   flush on %8.0f   flush/default %.2fx\n", pk, pf, pf / pk
    printf "  taskalign flushed / pytorch default %.2fx\n", f / pk }'
