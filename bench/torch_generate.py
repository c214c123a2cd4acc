#!/usr/bin/python3
"""PyTorch eager counterpart of bench/bench_generate.c: greedy generation with
a KV cache on the same model folder, batch and prompts, in float32.

The decode loop is written the way a careful eager implementation does it
(no transformers here): preallocated per-layer K/V caches written in place,
F.linear for every projection, one forward per step over the whole batch,
GQA by expand+reshape as transformers' repeat_kv. Prints one JSON object
with the same fields as bench_generate.

    bench/torch_generate.py --model DIR [--batch B] [--prompt P] [--new N] [--reps R] [--threads N]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_ref as ref  # noqa: E402


def rmsnorm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Generator:
    def __init__(self, params, cfg, batch, max_len):
        self.p, self.cfg = params, cfg
        self.B, self.max_len = batch, max_len
        L, NKV, HD = cfg["L"], cfg["NKV"], cfg["HD"]
        self.k = [torch.zeros(batch, NKV, max_len, HD) for _ in range(L)]
        self.v = [torch.zeros(batch, NKV, max_len, HD) for _ in range(L)]
        ang = torch.arange(max_len, dtype=torch.float64)[:, None] * ref.inv_freq(cfg)[None, :]
        emb = torch.cat((ang, ang), dim=-1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()
        self.head = params["model.embed_tokens.weight"] if cfg["tied"] else params["lm_head.weight"]

    def step(self, tok, pos0):
        """tok (B, T) at positions pos0..pos0+T-1 -> logits of the last position (B, V)."""
        cfg, p = self.cfg, self.p
        B, T = tok.shape
        NH, NKV, HD = cfg["NH"], cfg["NKV"], cfg["HD"]
        rep = NH // NKV
        cos, sin = self.cos[pos0:pos0 + T], self.sin[pos0:pos0 + T]
        S = pos0 + T
        mask = None
        if T > 1:
            i = torch.arange(T)[:, None] + pos0
            j = torch.arange(S)[None, :]
            mask = torch.zeros(T, S).masked_fill(j > i, float("-inf"))
        x = F.embedding(tok, p["model.embed_tokens.weight"])
        for l in range(cfg["L"]):
            pre = f"model.layers.{l}."
            bias = (lambda n: p[pre + n + ".bias"]) if cfg["bias"] else (lambda n: None)
            h = rmsnorm(x, p[pre + "input_layernorm.weight"], cfg["eps"])
            q = F.linear(h, p[pre + "self_attn.q_proj.weight"], bias("self_attn.q_proj")).view(B, T, NH, HD).transpose(1, 2)
            k = F.linear(h, p[pre + "self_attn.k_proj.weight"], bias("self_attn.k_proj")).view(B, T, NKV, HD).transpose(1, 2)
            v = F.linear(h, p[pre + "self_attn.v_proj.weight"], bias("self_attn.v_proj")).view(B, T, NKV, HD).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            self.k[l][:, :, pos0:S] = k
            self.v[l][:, :, pos0:S] = v
            K, V = self.k[l][:, :, :S], self.v[l][:, :, :S]
            if rep > 1:
                K = K[:, :, None].expand(B, NKV, rep, S, HD).reshape(B, NH, S, HD)
                V = V[:, :, None].expand(B, NKV, rep, S, HD).reshape(B, NH, S, HD)
            s = torch.matmul(q, K.transpose(-1, -2)) / math.sqrt(HD)
            if mask is not None:
                s = s + mask
            a = torch.matmul(torch.softmax(s, dim=-1), V).transpose(1, 2).reshape(B, T, NH * HD)
            x = x + F.linear(a, p[pre + "self_attn.o_proj.weight"])
            h = rmsnorm(x, p[pre + "post_attention_layernorm.weight"], cfg["eps"])
            g = F.linear(h, p[pre + "mlp.gate_proj.weight"])
            u = F.linear(h, p[pre + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(g) * u, p[pre + "mlp.down_proj.weight"])
        x = rmsnorm(x[:, -1], p["model.norm.weight"], cfg["eps"])
        return F.linear(x, self.head)


def generate(gen, prompts, n_new):
    """Greedy: returns (tokens (B, n_new) list, t_first, t_end)."""
    P = prompts.shape[1]
    out = []
    tok = gen.step(prompts, 0).argmax(-1)
    t_first = time.perf_counter()
    out.append(tok)
    for i in range(1, n_new):
        tok = gen.step(tok[:, None], P + i - 1).argmax(-1)
        out.append(tok)
    return torch.stack(out, 1).tolist(), t_first, time.perf_counter()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = ref.load_config(a.model)
    params = {k: v.detach() for k, v in ref.load_params(a.model, cfg, torch.float32).items()}
    V = cfg["V"]
    prompts = torch.tensor([[(7 * i + 13 * b + 1) % V for i in range(a.prompt)] for b in range(a.batch)])
    best_total = best_decode = float("inf")
    with torch.no_grad():
        for _ in range(a.reps):
            t0 = time.perf_counter()  # cache allocation counts, as in bench_generate
            gen = Generator(params, cfg, a.batch, a.prompt + a.new)
            toks, t_first, t_end = generate(gen, prompts, a.new)
            best_total = min(best_total, t_end - t0)
            best_decode = min(best_decode, t_end - t_first)
    B, N = a.batch, a.new
    print(json.dumps({"impl": "torch", "batch": B, "prompt": a.prompt, "new": N, "threads": a.threads,
                      "total_s": best_total, "decode_s": best_decode, "tok_s": B * N / best_total,
                      "decode_tok_s": B * (N - 1) / best_decode, "tokens": toks,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
