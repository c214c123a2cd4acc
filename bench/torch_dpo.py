#!/usr/bin/python3
"""The competitor of bench_dpo: the same DPO optimizer step in PyTorch eager,
float32, same config, pairs, sequence length and thread count
(torch.set_num_threads): reference forward under no_grad (a frozen copy, or
with LoRA the base model with the adapters off; or precomputed once with
--precompute-ref), policy forward over chosen + rejected rows, sigmoid DPO
loss, backward, clip_grad_norm_(1.0), AdamW. The model is tools/torch_ref.py's
math; LoRA is PEFT's formulation, y = x W^T + (alpha/r) (x A^T) B^T, on
q, k, v, o. Prints one JSON object (max_rss_mb: ru_maxrss).

    bench/torch_dpo.py --config CFG.json --pairs P --seq T --steps N --threads N [--lora-r R] [--precompute-ref]
"""
import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_ref as ref  # noqa: E402

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


def forward(params, cfg, tokens, lengths, lora=None, scale=0.0):
    """tools/torch_ref.forward's math with an optional PEFT LoRA branch on the targeted Linears."""
    B, T = tokens.shape
    NH, NKV, HD = cfg["NH"], cfg["NKV"], cfg["HD"]
    x = params["model.embed_tokens.weight"][tokens]
    ang = torch.arange(T, dtype=torch.float64)[:, None] * ref.inv_freq(cfg)[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().float(), emb.sin().float()
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    lens = torch.tensor(lengths)[:, None, None]
    allowed = (j <= i)[None] & ((j < lens) | (i >= lens))
    neg = torch.zeros(B, 1, T, T).masked_fill(~allowed[:, None], float("-inf"))

    def lin(h, name):
        y = h @ params[name + ".weight"].T
        if lora is not None and name in lora:
            A, Bm = lora[name]
            y = y + scale * ((h @ A.T) @ Bm.T)
        return y

    for l in range(cfg["L"]):
        p = f"model.layers.{l}."
        h = ref.rmsnorm(x, params[p + "input_layernorm.weight"], cfg["eps"])
        q = lin(h, p + "self_attn.q_proj").view(B, T, NH, HD).transpose(1, 2)
        k = lin(h, p + "self_attn.k_proj").view(B, T, NKV, HD).transpose(1, 2)
        v = lin(h, p + "self_attn.v_proj").view(B, T, NKV, HD).transpose(1, 2)
        q = q * cos + ref.rotate_half(q) * sin
        k = k * cos + ref.rotate_half(k) * sin
        rep = NH // NKV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(HD) + neg
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, NH * HD)
        x = x + lin(a, p + "self_attn.o_proj")
        h = ref.rmsnorm(x, params[p + "post_attention_layernorm.weight"], cfg["eps"])
        x = x + lin(F.silu(lin(h, p + "mlp.gate_proj")) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = ref.rmsnorm(x, params["model.norm.weight"], cfg["eps"])
    head = params["model.embed_tokens.weight"] if cfg["tied"] else params["lm_head.weight"]
    return x @ head.T


def seq_logps(logits, targets):
    lp = torch.log_softmax(logits, dim=-1)
    g = lp.gather(-1, targets.clamp(min=0)[..., None])[..., 0]
    return torch.where(targets >= 0, g, torch.zeros_like(g)).sum(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lora-r", type=int, default=0)
    ap.add_argument("--precompute-ref", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        with open(a.config) as f, open(os.path.join(d, "config.json"), "w") as g:
            g.write(f.read())
        cfg = ref.load_config(d)
    P, T = a.pairs, a.seq
    params = {k: v.detach() for k, v in ref.init_params(cfg).items()}
    lora, scale = None, 0.0
    if a.lora_r:
        r, scale = a.lora_r, 2.0
        lora = {}
        for n in params:
            if n.endswith(".weight") and any(t in n for t in LORA_TARGETS):
                W = params[n]
                A = (torch.rand(r, W.shape[1]) * 2 - 1) / math.sqrt(W.shape[1])
                lora[n[:-len(".weight")]] = (A.requires_grad_(True), torch.zeros(W.shape[0], r).requires_grad_(True))
        trainable = [t for ab in lora.values() for t in ab]
        ref_params = params  # the base with adapters off: no copy
    else:
        ref_params = {k: v.clone() for k, v in params.items()}
        for t in params.values():
            t.requires_grad_(True)
        trainable = list(params.values())
    # rows: prompt T/2, completion to T; chosen rows first, then rejected (TRL's concatenation)
    lp_len = T // 2
    tokens = torch.randint(3, 256, (2 * P, T))
    tokens[P:, :lp_len] = tokens[:P, :lp_len]
    targets = torch.full((2 * P, T), -1, dtype=torch.long)
    targets[:, lp_len - 1:T - 1] = tokens[:, lp_len:]
    lengths = [T] * (2 * P)
    opt = torch.optim.AdamW(trainable, lr=1e-6, weight_decay=0.0)
    cached = None
    if a.precompute_ref:
        with torch.no_grad():
            cached = seq_logps(forward(ref_params, cfg, tokens, lengths), targets)
    best, best_cpu, losses = 1e30, 1e30, []
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        if cached is None:
            with torch.no_grad():
                rl = seq_logps(forward(ref_params, cfg, tokens, lengths), targets)
        else:
            rl = cached
        pl = seq_logps(forward(params, cfg, tokens, lengths, lora, scale), targets)
        logits = (pl[:P] - rl[:P]) - (pl[P:] - rl[P:])
        loss = -F.logsigmoid(0.1 * logits).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        losses.append(loss.item())
        if s > 0:
            best = min(best, dt)
            best_cpu = min(best_cpu, cpu)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"engine": "pytorch", "torch": torch.__version__, "config": a.config, "pairs": P, "seq": T,
                      "threads": a.threads, "lora_r": a.lora_r, "precompute_ref": int(a.precompute_ref),
                      "step_s": round(best, 4), "tokens_per_s": round(2 * P * T / best, 1),
                      "cpu_s": round(best_cpu, 4), "tokens_per_cpu_s": round(2 * P * T / best_cpu, 1),
                      "loss_first": round(losses[0], 6), "loss_last": round(losses[-1], 6),
                      "max_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()
