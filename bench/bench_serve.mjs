// bench_serve.mjs: a bounded load test for `taskalign serve` on loopback, with
// node's own fetch (keep-alive). For each concurrency level C, C users send
// requests back to back until REQUESTS have been sent (or CAP seconds passed:
// then no new request starts). Reports per level: requests, 200s, 503s (busy,
// with or without Retry-After), errors (anything else: other status, network
// error, malformed body), throughput in req/s and generated tokens/s (from the
// responses' usage.completion_tokens), and p50/p99 latency of the 200s.
//
//   node bench/bench_serve.mjs --base http://127.0.0.1:PORT [--route chat|tasks]
//        [--levels 1,4,8] [--requests 32] [--max-tokens 32] [--cap 120]
// Exits 1 if any request was an error (a 503 with Retry-After is not an error:
// it is the server's documented rejection when its queue is full).
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []));
if (!args.base) { console.error("bench_serve: --base URL is required"); process.exit(2); }
const route = args.route || "chat";
const levels = (args.levels || "1,4,8").split(",").map(Number);
const REQUESTS = Number(args.requests || 32), MAXTOK = Number(args["max-tokens"] || 32), CAP = Number(args.cap || 120);
const prompts = ["Add a task to buy milk tomorrow", "List my tasks for Friday, please.", "Mark the dentist appointment as done",
                 "What is due this week?", "Schedule a review of the budget next Monday at 10"];

async function one(i) {
  const t0 = performance.now();
  try {
    let r;
    if (route === "chat") {
      r = await fetch(args.base + "/v1/chat/completions", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "model", messages: [{ role: "user", content: prompts[i % prompts.length] }], max_tokens: MAXTOK, temperature: 0 }) });
    } else {
      r = await fetch(args.base + "/v1/tasks?status=all");
    }
    const text = await r.text();
    const ms = performance.now() - t0;
    if (r.status === 503) {
      let ok = false;
      try { ok = typeof JSON.parse(text).error.message === "string"; } catch { /* not JSON */ }
      return { kind: ok && r.headers.get("retry-after") ? "busy" : "busy_bad", ms };
    }
    if (r.status !== 200) return { kind: "error", ms, detail: `${r.status} ${text.slice(0, 200)}` };
    const j = JSON.parse(text);
    if (route === "chat") {
      if (j.object !== "chat.completion" || !j.choices?.length || !j.usage) return { kind: "error", ms, detail: text.slice(0, 200) };
      return { kind: "ok", ms, tokens: j.usage.completion_tokens };
    }
    if (!Array.isArray(j.tasks)) return { kind: "error", ms, detail: text.slice(0, 200) };
    return { kind: "ok", ms, tokens: 0 };
  } catch (e) {
    return { kind: "error", ms: performance.now() - t0, detail: String(e.cause || e) };
  }
}

const pct = (s, p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN);
console.log(`${route === "chat" ? `POST /v1/chat/completions (non-streaming, max_tokens ${MAXTOK}, temperature 0)` : "GET /v1/tasks"}: ` +
            `${REQUESTS} requests per level, cap ${CAP}s per level`);
console.log(["users", "requests", "200", "503+RA", "errors", "wall s", "req/s", "gen tok/s", "p50 ms", "p99 ms", "max ms"].map((s) => s.padStart(9)).join(" "));
let errors = 0;
await one(0); // warm-up (connection, first allocation), not counted
for (const C of levels) {
  let next = 0;
  const res = [];
  const t0 = performance.now();
  const user = async () => {
    while (next < REQUESTS && performance.now() - t0 < CAP * 1000) res.push(await one(next++));
  };
  await Promise.all(Array.from({ length: C }, user));
  const wall = (performance.now() - t0) / 1000;
  const ok = res.filter((r) => r.kind === "ok"), lat = ok.map((r) => r.ms).sort((a, b) => a - b);
  const busy = res.filter((r) => r.kind === "busy").length, bad = res.filter((r) => r.kind === "error" || r.kind === "busy_bad");
  errors += bad.length;
  const toks = ok.reduce((s, r) => s + r.tokens, 0);
  console.log([C, res.length, ok.length, busy, bad.length, wall.toFixed(2), (ok.length / wall).toFixed(1), route === "chat" ? (toks / wall).toFixed(1) : "-",
               pct(lat, 50).toFixed(1), pct(lat, 99).toFixed(1), (lat.at(-1) ?? NaN).toFixed(1)].map((s) => String(s).padStart(9)).join(" "));
  for (const b of bad.slice(0, 3)) console.log(`  error: ${b.kind} ${b.detail || ""}`);
  if (res.length < REQUESTS) console.log(`  (time cap: ${res.length} of ${REQUESTS} requests sent)`);
}
process.exit(errors ? 1 : 0);
