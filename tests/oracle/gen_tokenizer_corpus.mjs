// Writes tests/data/tokenizer_corpus.jsonl: hard strings for the tokenizer
// exactness test, one JSON string per line. Deterministic (seeded PRNG); run
// `node tests/oracle/gen_tokenizer_corpus.mjs` after editing and commit the file.
//
// Characters are drawn from scripts assigned before Unicode 14, so that our
// PCRE2 (Unicode 14 tables) and Node's ICU (newer) agree on \p{L}/\p{N}/\s.
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "data", "tokenizer_corpus.jsonl");

let seed = 0x5eed1234;
const rnd = () => { // mulberry32
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const range = (lo, hi) => { const r = []; for (let c = lo; c <= hi; c++) r.push(String.fromCodePoint(c)); return r; };

const S = new Set();
const add = (s) => { if (s.length) S.add(s); };

// 1. hand-written cases
const hand = [
  "Hello world", "Hello, world!", " leading space", "trailing space ", "  two leading", "two trailing  ",
  "don't", "DON'T", "Don'T", "I'm", "I'M", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
  "it's", "IT'S", "It'S", "'s", "'S", "'ll", "'Ll", "'lL", "''s", "'''", "rock'n'roll", "o'clock", "y'all'd've",
  "l'été", "aujourd'hui", "ſ's", "'ſ", "'K", "'\u212a", "it\u2019s", "don\u2019t", "\u2018quoted\u2019", "\"double\"",
  "a\tb", "\t\tindented", "line1\nline2", "line1\r\nline2", "\r\n", "\n\n\n", "\r\r\n\n", " \n ", "a \n b", "end\n",
  "\n", " ", "  ", "   ", "\t", "\u00a0", "a\u00a0b", "\u3000", "a\u3000b", "\u2028", "\u2029", "a\u0085b", "\u200b", "a\u200bb",
  "\ufeffBOM", "x\ufeff", "\u0000", "a\u0000b", "\u0001\u0002\u0003", "\u007f", "\u001b[31mred\u001b[0m",
  "12345", "1234567890", "3.14159", "1,000,000", "-42", "+7", "1e10", "0x1F", "2024-01-15", "12:30:45", "v1.2.3",
  "٠١٢٣٤٥٦٧٨٩", "۱۲۳", "०१२३", "１２３", "①②③", "½", "²³", "Ⅻ", "一二三", "௧௨",
  "naïve café résumé", "Ångström", "Straße", "ÆØÅ æøå", "ĳ", "ǅ", "ﬁ", "Ⅸ",
  "Ελληνικά", "Русский язык", "עברית", "العربية", "مرحبا بالعالم", "हिन्दी", "বাংলা", "தமிழ்", "ไทย ภาษาไทย",
  "สวัสดีครับ", "ລາວ", "ქართული", "Հայերեն", "አማርኛ", "ᚠᚢᚦ", "日本語", "こんにちは", "カタカナ", "ｶﾀｶﾅ", "한국어",
  "안녕하세요", "中文", "你好，世界！", "繁體中文", "𠀀𠀁", "𝐀𝐁𝐂", "𝔸𝔹", "Ⓐⓑ",
  "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇫🇷", "🇯🇵", "1️⃣", "#️⃣", "❤️", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☺", "✓✗",
  "e\u0301", "\u00e9", "a\u0308\u0304", "\u01df", "o\u0323\u0302", "\u1ed9", "\u1100\u1161\u11a8", "\uac01",
  "n\u0303", "\u0065\u0301\u0327", "\u212b", "\u2126", "\u0958", "\u0b47\u0b3e", "\u0b4b", "\u0344", "\u0f73",
  "x\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307", "\u0301leading mark", "\u0308", "Z\u0351\u036b\u0343\u036a",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>",
  "<|im_start", "<|im_start|", "|im_start|>", "<<|im_end|>>", "<|im_end|><|im_start|>", " <|im_end|> ", "x<|im_end|>y",
  "<|endoftext|><|endoftext|>", "<|reserved_special_token_0|>", "<|reserved_special_token_250|>", "<tool_call>", "</tool_call>",
  "<tool_call>\n{\"name\": \"add_task\", \"arguments\": {\"title\": \"x\"}}\n</tool_call>", "<think>\n\n</think>\n\n",
  "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<|vision_start|><|image_pad|><|vision_end|>", "<|python_tag|>",
  "int main(void) { return 0; }", "for (int i = 0; i < n; i++) {\n    x[i] = i * 2;\n}",
  "def f(x):\n    return x ** 2\n", "    if x:\n\tpass", "console.log(`${a}+${b}`);", "SELECT * FROM tasks WHERE id = 1;",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "<div class=\"x\">Hi &amp; bye</div>", "a && b || !c", "x+=1;y-=2",
  "https://example.com/path?q=1&r=two#frag", "http://localhost:8080/v1/chat/completions", "mailto:a.b@example.org",
  "/usr/local/bin/taskalign --help", "C:\\Users\\me\\file.txt", "~/.config/app.json", "#!/bin/bash", "$HOME/${USER}",
  "!!!", "???", "...", "—", "–", "…", "«»", "„“", "¿Qué?", "¡Hola!", "@#$%^&*()", "[]{}<>", "~`|\\", "____", "----", "====", "****",
  "a_b_c", "camelCaseWord", "PascalCase", "snake_case_name", "SCREAMING_CASE", "kebab-case-name", "x1y2z3", "abc123def",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK", "A", "a", "I", ".", ",", "'", "\"",
  "Add a task: buy milk tomorrow at 5pm, priority high.", "List my tasks due this week.", "Mark task #42 as done.",
];
hand.forEach(add);

// 2. digit runs of every length, alone and in context
const digitSets = [range(0x30, 0x39), range(0x660, 0x669), range(0x966, 0x96f), range(0xff10, 0xff19)];
for (let len = 1; len <= 40; len++) {
  add("1234567890".repeat(5).slice(0, len));
  add("x" + "9".repeat(len) + "y");
  add(" " + "0".repeat(len));
  add(Array.from({ length: len }, () => pick(pick(digitSets))).join(""));
}
for (let i = 0; i < 40; i++) add(String(int(0, 1e9)) + pick(["", ".", ",", " ", "%", "px", "th", "-", "/"]) + String(int(0, 999)));

// 3. whitespace runs
const ws = [" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2003", "\u000b", "\u000c"];
for (let len = 1; len <= 24; len++) {
  add(" ".repeat(len));
  add("a" + " ".repeat(len) + "b");
  add("a" + " ".repeat(len));
  add("\n".repeat(len));
  add("x" + "\t".repeat(len % 6 + 1) + " ".repeat(len) + "y");
  add(Array.from({ length: len }, () => pick(ws)).join(""));
  add("w" + Array.from({ length: len }, () => pick(ws)).join("") + "w");
}

// 4. contractions in every case
const contr = ["s", "t", "re", "ve", "m", "ll", "d"];
for (const c of contr) {
  const variants = new Set([c, c.toUpperCase(), c[0].toUpperCase() + c.slice(1), c.length > 1 ? c[0] + c.slice(1).toUpperCase() : c]);
  for (const v of variants) {
    add("'" + v); add("word'" + v); add("WORD'" + v + " next"); add(" '" + v); add("1'" + v); add("é'" + v);
  }
}

// 5. scripts, marks, emoji: random strings from pools
const pools = {
  latin: range(0x41, 0x5a).concat(range(0x61, 0x7a)),
  latin1: range(0xc0, 0xff),
  latinExt: range(0x100, 0x17f),
  marks: range(0x300, 0x36f),
  greek: range(0x391, 0x3a9).concat(range(0x3b1, 0x3c9)),
  cyrillic: range(0x410, 0x44f),
  hebrew: range(0x5d0, 0x5ea).concat(range(0x591, 0x5bd)),
  arabic: range(0x621, 0x64a).concat(range(0x64b, 0x652)),
  devanagari: range(0x905, 0x939).concat(range(0x93e, 0x94d)),
  thai: range(0xe01, 0xe3a).concat(range(0xe40, 0xe4e)),
  hangul: range(0xac00, 0xac40).concat(range(0xd700, 0xd7a3)),
  jamo: range(0x1100, 0x1112).concat(range(0x1161, 0x1175), range(0x11a8, 0x11c2)),
  kana: range(0x3041, 0x3096).concat(range(0x30a1, 0x30fa), ["\u3099", "\u309a"]),
  cjk: range(0x4e00, 0x4e80).concat(range(0x9fa0, 0x9fbf), range(0x3400, 0x3420)),
  cjkPunct: range(0x3000, 0x3020).concat(range(0xff01, 0xff5e)),
  emoji: range(0x1f600, 0x1f64f).concat(range(0x1f300, 0x1f320), range(0x1f900, 0x1f920)),
  emojiMod: ["\u200d", "\ufe0f", "\u{1f3fb}", "\u{1f3fd}", "\u{1f3ff}", "\u20e3"],
  flags: range(0x1f1e6, 0x1f1ff),
  punct: "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".split("").concat(["“", "”", "‘", "’", "—", "…", "•", "·", "§", "¶", "©", "®", "™", "€", "£", "¥"]),
  digits: range(0x30, 0x39),
  space: ws,
  math: range(0x1d400, 0x1d433).concat(range(0x2200, 0x2220)),
  astral: range(0x20000, 0x20020).concat(range(0x10400, 0x1044f)),
  controls: range(0x1, 0x1f).concat(["\u007f", "\u0085", "\u200b", "\u200c", "\u200e", "\u2060", "\ufeff"]),
  special: ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "<|end_header_id|>", "<tool_call>", "</tool_call>", "<think>", "<|", "|>"],
};
const names = Object.keys(pools);
for (let i = 0; i < 1300; i++) {
  const k = int(1, 4), chosen = Array.from({ length: k }, () => pick(names));
  const len = int(1, 40);
  let s = "";
  for (let j = 0; j < len; j++) s += pick(pools[pick(chosen)]);
  add(s);
}
// words of one script separated by spaces/punct, like prose
for (let i = 0; i < 300; i++) {
  const pool = pools[pick(["latin", "latin1", "greek", "cyrillic", "arabic", "devanagari", "thai", "hangul", "kana", "cjk", "hebrew"])];
  const words = Array.from({ length: int(1, 8) }, () => Array.from({ length: int(1, 9) }, () => pick(pool)).join(""));
  add(words.join(pick([" ", "  ", ", ", ". ", "\n", "\t", "-", "'s ", " 's "])));
}
// emoji sequences
for (let i = 0; i < 100; i++) {
  let s = "";
  for (let j = 0, n = int(1, 5); j < n; j++) {
    const r = rnd();
    if (r < 0.3) s += pick(pools.emoji) + pick(pools.emojiMod.slice(2, 5));
    else if (r < 0.5) s += pick(pools.emoji) + "\u200d" + pick(pools.emoji);
    else if (r < 0.7) s += pick(pools.flags) + pick(pools.flags);
    else if (r < 0.8) s += pick(pools.digits) + "\ufe0f\u20e3";
    else s += pick(pools.emoji) + pick([" ", "", "!", "a"]);
  }
  add(s);
}
// NFC/NFD pairs
for (let i = 0; i < 150; i++) {
  const base = Array.from({ length: int(1, 6) }, () => pick(pools[pick(["latin1", "latinExt", "hangul", "greek", "kana"])])).join("");
  add(base.normalize("NFC")); add(base.normalize("NFD")); add(base.normalize("NFD") + pick(pools.marks));
  add(pick(pools.latin) + Array.from({ length: int(1, 4) }, () => pick(pools.marks)).join(""));
}
// special-token text inside user text
for (let i = 0; i < 120; i++) {
  const parts = [];
  for (let j = 0, n = int(2, 6); j < n; j++) parts.push(rnd() < 0.4 ? pick(pools.special) : pick(hand));
  add(parts.join(pick(["", " ", "\n", "  "])));
}
// code-like random
const codeToks = ["if", "else", "return", "{", "}", "(", ")", ";", "==", "!=", "+=", "->", "=>", "::", "0", "42", "x", "foo_bar", "self", "\n", "    ", "\t", "\"str\"", "'c'", "//", "/*", "*/", "#", "[]", "null", "true"];
for (let i = 0; i < 150; i++) add(Array.from({ length: int(3, 30) }, () => pick(codeToks)).join(pick(["", " ", " "])));
// long strings (heap merge path, long pre-tokens, long runs)
add("a".repeat(300)); add("ab".repeat(400)); add("z".repeat(1000)); add("\u00e9".repeat(200)); add("你".repeat(300));
add("9".repeat(500)); add(" ".repeat(300) + "x"); add("\n".repeat(200)); add("=".repeat(256)); add("😀".repeat(100));
add("SGVsbG8gV29ybGQh".repeat(40)); add("The quick brown fox jumps over the lazy dog. ".repeat(40));
add(hand.slice(0, 100).join(" "));

const lines = [...S].map((s) => JSON.stringify(s));
fs.writeFileSync(out, lines.join("\n") + "\n");
console.log(`wrote ${lines.length} strings to ${out}`);
