#!/usr/bin/python3
"""The competitor of bench/subnormal.sh: SFT steps (forward, masked NLL,
backward, clip_grad_norm_(1.0), AdamW lr 1e-4) in PyTorch eager on the same
trained model folder and the same tokenized rows (`taskalign chat-template
--jsonl --ids` output), once with torch.set_flush_denormal(False) (PyTorch's
default) and once with True. Prints one JSON object per mode.

    bench/torch_subnormal.py --model DIR --rows ROWS.jsonl --batch B --steps N --threads N
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--rows", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = ref.load_config(a.model)
    rows = [json.loads(line) for line in open(a.rows)][: a.batch]
    T = max(len(r["ids"]) for r in rows)
    tok = torch.zeros(len(rows), T, dtype=torch.long)
    tgt = torch.full((len(rows), T), -100)
    for i, r in enumerate(rows):
        ids, m = r["ids"], r["mask"]
        tok[i, : len(ids)] = torch.tensor(ids)
        for t in range(len(ids) - 1):
            if m[t + 1]:
                tgt[i, t] = ids[t + 1]
    lengths = [len(r["ids"]) for r in rows]
    n_tok = sum(lengths)
    for flush in (False, True):
        torch.set_flush_denormal(flush)
        params = {k: v.detach().float().clone().requires_grad_(True) for k, v in ref.load_params(a.model, cfg).items()}
        opt = torch.optim.AdamW(list(params.values()), lr=1e-4, weight_decay=0.01)
        best = 1e30
        for s in range(a.steps + 1):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            logits = ref.forward(params, cfg, tok, lengths)
            loss = F.cross_entropy(logits.view(-1, cfg["V"]), tgt.view(-1), ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
            opt.step()
            dt = time.perf_counter() - t0
            if s > 0:
                best = min(best, dt)
        print(json.dumps({"engine": "pytorch", "flush_denormal": flush, "batch": len(rows), "tokens": n_tok,
                          "step_s": round(best, 4), "tokens_per_s": round(n_tok / best, 1), "loss": round(loss.item(), 4)}))


if __name__ == "__main__":
    main()
