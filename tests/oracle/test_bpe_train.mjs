// Oracle: a tokenizer trained by `taskalign tokenizer train` must load in the
// npm package @huggingface/tokenizers and encode a held-out test set to the
// same ids as `taskalign tokenize` (tolerance: none), decode back to the
// text, and training must be deterministic (two runs, byte-identical files).
// The training corpus (~2 MB) is generated here from a fixed seed: English-like
// words, code, numbers, accents, CJK, emoji, whitespace runs, chat markup and
// special-token text.
import { Tokenizer } from "@huggingface/tokenizers";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = process.env.TA_ROOT ?? path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const bin = process.env.TA_BIN ?? path.join(root, "build/release/taskalign");
const tmp = fs.mkdtempSync(path.join(process.env.TA_TMP ?? "/tmp", "bpe_train_"));
let passed = 0,
  failed = 0;
function check(ok, what) {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}`);
  }
}

// xorshift32, so the corpus is the same on every run
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const words = ("the a to of and in is it you that for on with as this task tasks list due today tomorrow add create " +
  "remove complete done open priority high low reminder meeting project milk bread dentist report review deploy " +
  "schedule week month note call email buy pay rent plan trip ticket passport draft send update status check " +
  "résumé café naïve façade jalapeño Zürich São Paulo İstanbul straße").split(" ");
const syll = ["ka", "ro", "mi", "te", "su", "lan", "dor", "vex", "qui", "ber", "stra", "ght", "ion", "ely", "ing", "ou",
  "é", "ü", "ñ", "ø", "sch", "th", "ph", "zz", "y"];
function pseudoWord() {
  let w = "";
  const n = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < n; i++) w += pick(syll);
  return rnd() < 0.1 ? w.toUpperCase() : w;
}
const cjk = ["任务", "明天", "会议", "买牛奶", "日本語", "テスト", "한국어", "작업"];
const emoji = ["🙂", "👍🏽", "👨‍👩‍👧", "🚀", "✅", "🇯🇵", "❤️"];
const code = [
  "def add_task(title, due=None):\n    return {\"title\": title, \"due\": due}\n",
  "for (size_t i = 0; i < n; i++) sum += x[i] * 0.5f;\n",
  "if err != nil {\n\treturn fmt.Errorf(\"task %d: %w\", id, err)\n}\n",
  "const tasks = await db.query('SELECT * FROM tasks WHERE done = 0');\n",
  "    x = [1, 2, 3]  # comment\n",
];
const specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"];
function sentence() {
  const n = 3 + Math.floor(rnd() * 14);
  let s = "";
  for (let i = 0; i < n; i++) {
    const r = rnd();
    let w;
    if (r < 0.45) w = pick(words);
    else if (r < 0.78) w = pseudoWord();
    else if (r < 0.84) w = String(Math.floor(rnd() * 100000));
    else if (r < 0.89) w = pick(cjk);
    else if (r < 0.92) w = pick(emoji);
    else if (r < 0.95) w = pick(["don't", "it's", "we'll", "I'm", "they've", "He'd", "YOU'RE"]);
    else w = pick([",", ".", "!", "?", ":", ";", "—", "...", "(x)", "[1]", "\"q\"", "$9.99", "50%"]);
    if (i === 0) w = w.charAt(0).toUpperCase() + w.slice(1);
    s += (i ? pick([" ", " ", " ", " ", "  ", "\t"]) : "") + w;
  }
  return s + pick([".", ".", "!", "?", ""]);
}
function chunk() {
  const r = rnd();
  if (r < 0.1) return pick(code);
  if (r < 0.2)
    return `<|im_start|>user\n${sentence()}<|im_end|>\n<|im_start|>assistant\n${sentence()}<|im_end|>\n`;
  if (r < 0.23) return pick(["\n\n", "   \n", "\r\n", "\n\n\n    ", " \u00a0 "]);
  if (r < 0.25) return pick(specials);
  return sentence() + pick(["\n", "\n", " ", "\n\n"]);
}
let corpus = "";
while (corpus.length < 2_000_000) corpus += chunk();
const corpusFile = path.join(tmp, "corpus.txt");
fs.writeFileSync(corpusFile, corpus);

function train(out) {
  return spawnSync(bin, ["tokenizer", "train", "--corpus", corpusFile, "--vocab-size", "3000", "--special-tokens",
    "<|endoftext|>,<|im_start|>,<|im_end|>", "--out", out, "--quiet"], { encoding: "utf8" });
}
const t0 = Date.now();
const r1 = train(path.join(tmp, "a"));
const trainMs = Date.now() - t0;
check(r1.status === 0, `train exits 0 (${r1.stderr})`);
const r2 = train(path.join(tmp, "b"));
check(r2.status === 0, "second train exits 0");
for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
  const a = fs.readFileSync(path.join(tmp, "a", f)), b = fs.readFileSync(path.join(tmp, "b", f));
  check(a.equals(b), `deterministic: ${f} identical across runs`);
}
const tj = JSON.parse(fs.readFileSync(path.join(tmp, "a", "tokenizer.json"), "utf8"));
const tc = JSON.parse(fs.readFileSync(path.join(tmp, "a", "tokenizer_config.json"), "utf8"));
check(Object.keys(tj.model.vocab).length === 3000, `vocab has 3000 entries (${Object.keys(tj.model.vocab).length})`);
check(tj.added_tokens.length === 3 && tj.added_tokens[1].content === "<|im_start|>" && tj.added_tokens[1].id === 1, "special tokens first");
check(typeof tc.chat_template === "string" && tc.eos_token === "<|im_end|>", "config has the chat template and eos");
const hf = new Tokenizer(tj, tc);

// held-out test set: fresh generated lines (another seed), hard strings, and
// the hard corpus of the tokenizer oracle when it is there
seed = 0x1234567;
const tests = [];
for (let i = 0; i < 600; i++) tests.push(chunk() + (rnd() < 0.5 ? chunk() : ""));
tests.push("", " ", "\n", "  \n\n \t", "12345678901234567890", "<|im_start|>user\nhi<|im_end|>", "a<|im_end|>b",
  "ﬁ é e\u0301 Å", "\u{1F600}\u200d\u{1F3FB}", "ÀÁÂÃÄÅ ĀĂĄ", "x".repeat(3000), "🙂".repeat(50), "don'T WON'T", "ЁЛКИ-ПАЛКИ");
const hard = path.join(root, "tests/data/tokenizer_corpus.jsonl");
if (fs.existsSync(hard))
  for (const l of fs.readFileSync(hard, "utf8").split("\n").slice(0, 2000)) {
    if (!l.trim()) continue;
    try {
      const v = JSON.parse(l);
      if (typeof v === "string") tests.push(v);
      else if (v && typeof v.text === "string") tests.push(v.text);
    } catch {}
  }
const testFile = path.join(tmp, "tests.jsonl");
fs.writeFileSync(testFile, tests.map((s) => JSON.stringify(s)).join("\n") + "\n");
const r = spawnSync(bin, ["tokenize", "--tokenizer", path.join(tmp, "a"), "--file", testFile, "--no-special"], {
  encoding: "utf8",
  maxBuffer: 1 << 28,
});
check(r.status === 0, `tokenize exits 0 (${r.stderr})`);
const lines = r.stdout.split("\n").filter((l) => l.length);
check(lines.length === tests.length, `one line of ids per test string (${lines.length} vs ${tests.length})`);
let same = 0,
  shown = 0,
  roundtrip = 0;
for (let i = 0; i < tests.length && i < lines.length; i++) {
  const got = JSON.parse(lines[i]);
  const want = hf.encode(tests[i], { add_special_tokens: false }).ids;
  if (JSON.stringify(got) === JSON.stringify(want)) same++;
  else if (shown++ < 5) console.log(`FAIL ids differ for ${JSON.stringify(tests[i]).slice(0, 120)}\n  want ${JSON.stringify(want).slice(0, 200)}\n  got  ${JSON.stringify(got).slice(0, 200)}`);
  const back = want.length ? hf.decode(want, { skip_special_tokens: false }) : "";
  if (back === tests[i].normalize("NFC")) roundtrip++;
}
check(same === tests.length, `ids identical to @huggingface/tokenizers on ${same}/${tests.length} test strings`);
check(roundtrip === tests.length, `decode(encode(s)) == NFC(s) on ${roundtrip}/${tests.length}`);
console.log(`trained 3000-token vocab on ${(corpus.length / 1e6).toFixed(1)}M chars in ${trainMs} ms; ${tests.length} test strings`);
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
