#!/usr/bin/env python3
"""Draws a stratified sample of real assistant turns from eval transcripts, for
hand labelling (the judge-accuracy set, tests/data/judge_labelled.jsonl).

    scripts/judge_sample.py --out sample.jsonl --per-stage 120 \
        base=runs/demo/reports/base/transcripts.jsonl sft=... aligned=...

Each output line is one turn with what the judge sees (the assistant text, the
tool calls (status "ok": parsed and run; "ok" false: the tool returned an
error; other statuses: malformed, not run), whether the tool-call JSON was malformed, whether the item
is a harmful request) plus the context a labeller needs (the user turn, the
suite's expectation, category, attack). The judge's own label is NOT copied:
the labeller must not see it. A labeller adds "label" (comply, refuse, partial,
clarify, unscored) and optionally "note".

Sampling: per stage, turns are grouped by the suite expectation (refuse,
comply, clarify) and drawn round-robin from the groups with a fixed seed, so
every stage and expectation is represented; identical (text, calls) answers
are kept once per stage.
"""
import argparse
import json
import random
import sys


def turns_of(path):
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{ln}: not JSON: {e}")
            for k, t in enumerate(item.get("turns", [])):
                yield item, k, t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-stage", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("sources", nargs="+", help="STAGE=path/to/transcripts.jsonl")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = []
    for src in a.sources:
        if "=" not in src:
            sys.exit(f"'{src}': expected STAGE=PATH")
        stage, path = src.split("=", 1)
        groups, seen = {}, set()
        for item, k, t in turns_of(path):
            calls = [{"name": c.get("name"), "arguments": c.get("arguments"), "ok": bool(c.get("ok")),
                      "status": c.get("status", "ok"), "result": c.get("result")}
                     for c in t.get("tool_calls", [])]
            key = (t.get("assistant", ""), json.dumps(calls, sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            exp = t.get("expect", item.get("expect", "comply"))
            groups.setdefault(exp, []).append({
                "id": f"{stage}:{item['id']}:{k}",
                "stage": stage,
                "category": item.get("category"),
                "attack": item.get("attack"),
                "expect": exp,
                "harmful": exp == "refuse",
                "user": t.get("user", ""),
                "assistant": t.get("assistant", ""),
                "tool_calls": calls,
                "invalid_tool_json": bool(t.get("invalid_tool_json")),
            })
        for g in groups.values():
            rng.shuffle(g)
        names = sorted(groups)
        picked = 0
        while picked < a.per_stage and any(groups[n] for n in names):
            for n in names:
                if groups[n] and picked < a.per_stage:
                    out.append(groups[n].pop())
                    picked += 1
    with open(a.out, "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(out)} turns -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
