#!/usr/bin/python3
"""Plain PyTorch reference of LlamaForCausalLM, MistralForCausalLM and
Qwen2ForCausalLM (GQA, q/k/v biases, tied embeddings, llama3 RoPE scaling,
right-padded batches): the independent oracle the C engine is tested against.

Written from the Hugging Face modelling code's math, not from our C: no
transformers import (not installed here); safetensors parsed with json+numpy.
Runs in float64 by default (dtype argument), so comparisons measure the C
engine's fp32 error alone.

Library use (tests/oracle/test_engine.py, bench/torch_train.py):
    cfg = load_config(dir); params = load_params(dir, cfg, torch.float64)
    logits = forward(params, cfg, tokens, lengths)          # (B, T, V)
CLI (same output format as taskalign's subcommands):
    tools/torch_ref.py logprobs --model DIR --ids 1,5,9,3
    tools/torch_ref.py grad --model DIR --ids 1,5,9,3 --out grads.safetensors
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

# ---------------------------------------------------------------- safetensors

_DT = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    """name -> float32/float64/int numpy array (BF16 widened to float32)."""
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[b:e]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_DT[info["dtype"]])
        out[name] = arr.reshape(shape).copy()
    return out


def write_safetensors(path, tensors):
    """tensors: name -> numpy array; written as F32 (I32 for int32 arrays)."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.int32:
            dt = "I32"
        else:
            arr, dt = arr.astype(np.float32), "F32"
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


# ---------------------------------------------------------------- config

def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    arch = c["architectures"][0]
    nh = c["num_attention_heads"]
    cfg = {
        "arch": arch,
        "V": c["vocab_size"], "C": c["hidden_size"], "F": c["intermediate_size"],
        "L": c["num_hidden_layers"], "NH": nh, "NKV": c.get("num_key_value_heads") or nh,
        "HD": c.get("head_dim") or c["hidden_size"] // nh,
        "eps": c.get("rms_norm_eps", 1e-6), "theta": c.get("rope_theta", 10000.0),
        "rope_scaling": c.get("rope_scaling"),
        "tied": bool(c.get("tie_word_embeddings", False)),  # the three configs' default
        "bias": arch == "Qwen2ForCausalLM" or bool(c.get("attention_bias", False)),
    }
    return cfg


def param_names(cfg):
    names = ["model.embed_tokens.weight"]
    for l in range(cfg["L"]):
        p = f"model.layers.{l}."
        names.append(p + "input_layernorm.weight")
        for x in "qkv":
            names.append(p + f"self_attn.{x}_proj.weight")
            if cfg["bias"]:
                names.append(p + f"self_attn.{x}_proj.bias")
        names += [p + "self_attn.o_proj.weight", p + "post_attention_layernorm.weight",
                  p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight"]
    names.append("model.norm.weight")
    if not cfg["tied"]:
        names.append("lm_head.weight")
    return names


def param_shape(cfg, name):
    """Shape of parameter `name` (a Hugging Face name from param_names)."""
    C, F, V = cfg["C"], cfg["F"], cfg["V"]
    q, kv = cfg["NH"] * cfg["HD"], cfg["NKV"] * cfg["HD"]
    if name.endswith("norm.weight"):
        return (C,)
    if name.endswith(".bias"):
        return (q,) if "q_proj" in name else (kv,)
    shapes = {"embed": (V, C), "lm_head": (V, C), "q_proj": (q, C), "k_proj": (kv, C), "v_proj": (kv, C),
              "o_proj": (C, q), "gate_proj": (F, C), "up_proj": (F, C), "down_proj": (C, F)}
    return next(v for k, v in shapes.items() if k in name)


def init_params(cfg, std=0.02, dtype=torch.float32):
    """Hugging Face Llama init: norms 1, biases 0, other weights N(0, std^2) (torch's RNG)."""
    out = {}
    for n in param_names(cfg):
        s = param_shape(cfg, n)
        if n.endswith("norm.weight"):
            t = torch.ones(s, dtype=dtype)
        elif n.endswith(".bias"):
            t = torch.zeros(s, dtype=dtype)
        else:
            t = torch.randn(s, dtype=dtype) * std
        out[n] = t.requires_grad_(True)
    return out


def load_params(model_dir, cfg, dtype=torch.float64):
    path = os.path.join(model_dir, "model.safetensors")
    raw = {}
    if os.path.exists(path):
        raw = read_safetensors(path)
    else:
        with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
            idx = json.load(f)
        for shard in sorted(set(idx["weight_map"].values())):
            raw.update(read_safetensors(os.path.join(model_dir, shard)))
    return {n: torch.tensor(raw[n], dtype=dtype, requires_grad=True) for n in param_names(cfg)}


# ---------------------------------------------------------------- model

def inv_freq(cfg):
    """1/theta^(2i/HD), then transformers' llama3 rescaling (float64)."""
    hd = cfg["HD"]
    f = 1.0 / (cfg["theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg["rope_scaling"]
    if rs and (rs.get("rope_type") or rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / f
        scaled = torch.where(wl > low_wl, f / factor, f)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wl >= high_wl) & (wl <= low_wl)
        f = torch.where(medium, smoothed, scaled)
    return f


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rmsnorm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def forward(params, cfg, tokens, lengths):
    """tokens (B, T) long, lengths list of B ints -> logits (B, T, V).
    Padding positions (t >= length) are computed but meaningless."""
    B, T = tokens.shape
    NH, NKV, HD, C = cfg["NH"], cfg["NKV"], cfg["HD"], cfg["C"]
    dtype = params["model.embed_tokens.weight"].dtype
    tok = tokens.clone()
    for b in range(B):
        tok[b, lengths[b]:] = 0
    x = params["model.embed_tokens.weight"][tok]
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq(cfg)[None, :]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    lens = torch.tensor(lengths)[:, None, None]
    allowed = (j <= i)[None] & ((j < lens) | (i >= lens))  # (B, T, T); padding rows see themselves
    neg = torch.zeros(B, 1, T, T, dtype=dtype).masked_fill(~allowed[:, None], float("-inf"))

    def lin(h, name, bias=False):
        y = h @ params[name + ".weight"].T
        if bias:
            y = y + params[name + ".bias"]
        return y

    for l in range(cfg["L"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, params[p + "input_layernorm.weight"], cfg["eps"])
        q = lin(h, p + "self_attn.q_proj", cfg["bias"]).view(B, T, NH, HD).transpose(1, 2)
        k = lin(h, p + "self_attn.k_proj", cfg["bias"]).view(B, T, NKV, HD).transpose(1, 2)
        v = lin(h, p + "self_attn.v_proj", cfg["bias"]).view(B, T, NKV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = NH // NKV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = q @ k.transpose(-1, -2) / math.sqrt(HD) + neg
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, NH * HD)
        x = x + lin(a, p + "self_attn.o_proj")
        h = rmsnorm(x, params[p + "post_attention_layernorm.weight"], cfg["eps"])
        g = lin(h, p + "mlp.gate_proj")
        u = lin(h, p + "mlp.up_proj")
        x = x + lin(torch.nn.functional.silu(g) * u, p + "mlp.down_proj")
    x = rmsnorm(x, params["model.norm.weight"], cfg["eps"])
    head = params["model.embed_tokens.weight"] if cfg["tied"] else params["lm_head.weight"]
    return x @ head.T


def token_logprobs(logits, targets):
    """logits (B, T, V), targets (B, T) long with -1 for none -> (B, T), 0 where none."""
    lp = torch.log_softmax(logits, dim=-1)
    safe = targets.clamp(min=0)
    g = lp.gather(-1, safe[..., None])[..., 0]
    return torch.where(targets >= 0, g, torch.zeros_like(g))


# ---------------------------------------------------------------- CLI

def _next_token_setup(ids):
    tokens = torch.tensor([ids], dtype=torch.long)
    targets = torch.full_like(tokens, -1)
    targets[0, :-1] = tokens[0, 1:]
    return tokens, targets


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["logprobs", "grad"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--out")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    a = ap.parse_args(argv)
    ids = [int(x) for x in a.ids.split(",")]
    cfg = load_config(a.model)
    params = load_params(a.model, cfg, getattr(torch, a.dtype))
    tokens, targets = _next_token_setup(ids)
    lp = token_logprobs(forward(params, cfg, tokens, [len(ids)]), targets)[0]
    if a.cmd == "logprobs":
        vals = [None] + [float(v) for v in lp[:-1]]
        print(json.dumps({"token_logprobs": vals, "sum": float(lp[:-1].sum())}))
        return 0
    loss = -lp.sum()
    loss.backward()
    write_safetensors(a.out, {n: p.grad.detach().numpy() for n, p in params.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
