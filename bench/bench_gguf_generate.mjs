// bench_gguf_generate.mjs: decode tokens/s of taskalign (`taskalign generate
// --stats`) against llama.cpp (node-llama-cpp's prebuilt CPU binaries) on the
// same model: the taskalign folder and its `taskalign export gguf --type f32`
// file, same prompt ids, batch 1, greedy, NEW new tokens, EOS ignored, the same
// thread count. Runs are interleaved (taskalign, llama.cpp, taskalign, ...) so
// both sides see the same machine load; prints best and median of REPS.
//
// Timing, both sides the same way: prefill = start of generation to the first
// new token; decode = first new token to the last, over NEW - 1 tokens. Model
// loading is timed separately and excluded (taskalign: the process wall time
// minus prefill and decode; node-llama-cpp: loadModel + createContext).
//
//   node bench/bench_gguf_generate.mjs --bin BIN --model DIR --gguf FILE --ids 1,2,3
//        [--threads 1,2] [--new 128] [--reps 3] [--kv F32|F16]
import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { getLlama } = await import(path.join(here, "..", "tests", "oracle", "node_modules", "node-llama-cpp", "dist", "index.js"));

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []));
for (const k of ["bin", "model", "gguf", "ids"]) if (!args[k]) { console.error(`bench_gguf_generate: --${k} is required`); process.exit(2); }
const threads = (args.threads || "1,2").split(",").map(Number);
const NEW = Number(args.new || 128), REPS = Number(args.reps || 3);
const ids = args.ids.split(",").map(Number);
// llama.cpp's KV cache type: F32 (default here) is like-for-like with taskalign's f32 cache;
// F16 is node-llama-cpp's own default.
const KV = (args.kv || "F32").toUpperCase();

function taskalignRun(t) {
  const t0 = performance.now();
  const r = spawnSync(args.bin, ["generate", "--model", args.model, "--ids", ids.join(","), "--max-tokens", String(NEW),
                                 "--ignore-eos", "--stats", "-t", String(t)], { encoding: "utf8" });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`taskalign generate failed (${r.status}): ${r.stderr}`);
  const m = r.stderr.match(/prefill ([\d.]+)s .* (\d+) generated tokens, decode ([\d.]+)s/);
  if (!m) throw new Error(`no --stats line in: ${r.stderr}`);
  const prefill = Number(m[1]), n = Number(m[2]), decode = Number(m[3]);
  return { tokens: JSON.parse(r.stdout.trim()), n, prefill, decode, dec_tok_s: (n - 1) / decode, load: wall - prefill - decode };
}

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error", maxThreads: 0 });
const ctxs = {};
async function llamaContext(t) {
  if (ctxs[t]) return ctxs[t];
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: args.gguf });
  const ctx = await model.createContext({ contextSize: Math.max(256, ids.length + NEW + 16), batchSize: 512, sequences: 1, threads: { ideal: t, min: t },
                                         experimentalKvCacheKeyType: KV, experimentalKvCacheValueType: KV, flashAttention: false });
  ctxs[t] = { model, ctx, load: (performance.now() - t0) / 1000 };
  return ctxs[t];
}
async function llamaRun(t) {
  const { ctx, load } = await llamaContext(t);
  const seq = ctx.getSequence();
  const out = [];
  let tFirst = 0;
  const t0 = performance.now();
  for await (const tok of seq.evaluate(ids, { temperature: 0 })) {
    if (!out.length) tFirst = performance.now();
    out.push(tok);
    if (out.length >= NEW) break;
  }
  const t1 = performance.now();
  seq.dispose();
  const decode = (t1 - tFirst) / 1000;
  return { tokens: out, n: out.length, prefill: (tFirst - t0) / 1000, decode, dec_tok_s: (out.length - 1) / decode, load };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
console.log(`llama.cpp KV cache ${KV}, no flash attention; prompt ${ids.length} tokens, ${NEW} new tokens, batch 1, greedy, EOS ignored; decode = tokens 2..${NEW}; best / median of ${REPS} interleaved runs`);
console.log(["threads", "ta dec tok/s", "llama dec tok/s", "ratio(best)", "ratio(med)", "ta prefill s", "llama prefill s", "ta load s", "llama load s", "same tokens"].map((s, i) => (i ? s.padStart(15) : s.padEnd(7))).join(" "));
for (const t of threads) {
  const ta = [], lc = [];
  await llamaContext(t);
  taskalignRun(t); await llamaRun(t); // warm-up (page cache, JIT), not counted
  for (let r = 0; r < REPS; r++) { ta.push(taskalignRun(t)); lc.push(await llamaRun(t)); }
  let agree = 0;
  while (agree < NEW && ta[0].tokens[agree] === lc[0].tokens[agree]) agree++;
  const tb = Math.max(...ta.map((x) => x.dec_tok_s)), lb = Math.max(...lc.map((x) => x.dec_tok_s));
  const tm = median(ta.map((x) => x.dec_tok_s)), lm = median(lc.map((x) => x.dec_tok_s));
  const f = (x, d = 1) => x.toFixed(d).padStart(15);
  console.log([String(t).padEnd(7), `${tb.toFixed(1)}/${tm.toFixed(1)}`.padStart(15), `${lb.toFixed(1)}/${lm.toFixed(1)}`.padStart(15),
               (tb / lb).toFixed(2).padStart(14) + "x", (tm / lm).toFixed(2).padStart(14) + "x", f(median(ta.map((x) => x.prefill)), 4), f(median(lc.map((x) => x.prefill)), 4),
               f(median(ta.map((x) => x.load)), 3), f(lc[0].load, 3), `${agree}/${NEW}`.padStart(15)].join(" "));
  console.log(`  runs: taskalign ${ta.map((x) => x.dec_tok_s.toFixed(1)).join(" ")}; llama.cpp ${lc.map((x) => x.dec_tok_s.toFixed(1)).join(" ")}`);
}
for (const k of Object.keys(ctxs)) { await ctxs[k].ctx.dispose(); await ctxs[k].model.dispose(); }
