// bench_tokenizer.mjs: @huggingface/tokenizers encode throughput on the same
// file and in the same way as bench_tokenizer.c (one encode per line, best of
// REPEATS passes; the first pass also warms the JIT).
//   node bench/bench_tokenizer.mjs TOKENIZER_DIR TEXTFILE [REPEATS]
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { Tokenizer } = await import(path.join(here, "..", "tests", "oracle", "node_modules", "@huggingface", "tokenizers", "dist", "tokenizers.mjs"));
const [dir, file, rep] = process.argv.slice(2);
const repeats = Number(rep ?? 3);
let t0 = performance.now();
const tok = new Tokenizer(JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")));
const load = (performance.now() - t0) / 1000;
const buf = fs.readFileSync(file);
const lines = buf.toString("utf8").split("\n");
let best = Infinity, n = 0;
for (let r = 0; r < repeats; r++) {
  n = 0;
  t0 = performance.now();
  for (const l of lines) n += tok.encode(l, { add_special_tokens: false }).ids.length;
  best = Math.min(best, (performance.now() - t0) / 1000);
}
console.log(`@huggingface/tokenizers: ${buf.length} bytes, ${n} tokens, ${best.toFixed(3)} s, ${(buf.length / best / 1e6).toFixed(2)} MB/s (load ${load.toFixed(2)} s)`);
