#!/usr/bin/python3
"""The competitor of bench_train: one training step (forward + cross-entropy +
backward + clip_grad_norm_ + AdamW) in PyTorch eager, float32, same config,
batch and thread count (torch.set_num_threads). The model is
tools/torch_ref.py's plain implementation (the Hugging Face eager attention
math); weights random N(0, 0.02). Prints one JSON object.

    bench/torch_train.py --config CFG.json --batch B --seq T --steps N --threads N
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        with open(a.config) as f, open(os.path.join(d, "config.json"), "w") as g:
            g.write(f.read())
        cfg = ref.load_config(d)
    params = ref.init_params(cfg, 0.02)
    B, T = a.batch, a.seq
    tokens = torch.randint(0, cfg["V"], (B, T))
    targets = torch.cat([tokens[:, 1:], torch.full((B, 1), -100)], dim=1)
    lengths = [T] * B
    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, weight_decay=0.01)
    best, losses = 1e30, []
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = ref.forward(params, cfg, tokens, lengths)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, cfg["V"]), targets.view(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if s > 0:
            best = min(best, dt)
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "config": a.config, "batch": B, "seq": T,
                      "threads": a.threads, "step_s": round(best, 4), "tokens_per_s": round(B * T / best, 1),
                      "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4)}))


if __name__ == "__main__":
    main()
