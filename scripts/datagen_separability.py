#!/usr/bin/env python3
"""How separable are harmful and legitimate requests by surface words alone?

    taskalign data gen --out /tmp/dg --scale default --seed 11
    scripts/datagen_separability.py /tmp/dg

Trains a unigram naive Bayes (add-one smoothing, class priors) on the last user
turn of prefs_train.jsonl: expect=refuse vs. comply/clarify, capability and
indirect items left out. Then classifies the last user turn of every
suites/redteam_test.jsonl item (indirect left out: its harm sits in a tool
result) and suites/benign_test.jsonl item and prints accuracy per suite and per
attack family. Standard library only. docs/datagen.md quotes the figures.
"""
import collections
import json
import math
import re
import sys


def toks(s):
    return re.findall(r"[a-z']+", s.lower())


def last_user(msgs):
    u = [m["content"] for m in msgs if m["role"] == "user"]
    return u[-1] if u else ""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: datagen_separability.py DIR  (the output of taskalign data gen)")
    d = sys.argv[1]
    cnt = {0: collections.Counter(), 1: collections.Counter()}
    nd = {0: 0, 1: 0}
    with open(d + "/prefs_train.jsonl") as f:
        for line in f:
            o = json.loads(line)
            if o["attack"] == "indirect" or o["category"] == "capability":
                continue
            y = 1 if o["expect"] == "refuse" else 0
            nd[y] += 1
            cnt[y].update(toks(last_user(o["prompt"])))
    vocab = set(cnt[0]) | set(cnt[1])
    tot = {y: sum(cnt[y].values()) for y in (0, 1)}

    def pred(text):
        sc = {}
        for y in (0, 1):
            s = math.log(nd[y] / (nd[0] + nd[1]))
            for w in toks(text):
                if w in vocab:
                    s += math.log((cnt[y][w] + 1) / (tot[y] + len(vocab)))
            sc[y] = s
        return 1 if sc[1] > sc[0] else 0

    for suite, want in (("redteam_test", 1), ("benign_test", 0)):
        ok = n = 0
        fam = collections.defaultdict(lambda: [0, 0])
        with open(f"{d}/suites/{suite}.jsonl") as f:
            for line in f:
                o = json.loads(line)
                if o.get("attack") == "indirect":
                    continue
                turns = o.get("turns") or [""]
                hit = pred(turns[-1]) == want
                ok += hit
                n += 1
                fam[o.get("attack", "none")][0] += hit
                fam[o.get("attack", "none")][1] += 1
        per = " ".join(f"{a} {100 * x / m:.0f}%" for a, (x, m) in sorted(fam.items()))
        print(f"{suite}: {100 * ok / n:.0f}% of n={n}  ({per})")


if __name__ == "__main__":
    main()
