"""Independent checks of taskalign's safetensors files, with a plain Python
reader/writer (json + numpy + torch; no safetensors package, no transformers).

(a) model folders written by `taskalign init`: names and shapes against an
    independent list of Hugging Face names, header layout, values read by numpy
    equal what taskalign's own reader reports, init statistics, and BF16 files
    equal torch's own float32 -> bfloat16 rounding of the F32 file (bit-exact).
(b) files written here with torch (F32, BF16, F16; special values, a model
    folder, a sharded folder) read by `taskalign inspect` to exactly torch's
    float32 values.
Tolerance: bit-exact everywhere except the init statistics (std within 5%).
Run: /usr/bin/python3 tests/oracle/test_safetensors.py (uses $TA_BIN)."""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("TA_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("TA_BIN", os.path.join(ROOT, "build/release/taskalign"))
TMP = tempfile.mkdtemp(prefix="st_oracle_", dir=os.environ.get("TA_TMP", "/tmp"))
CONFIGS = os.path.join(ROOT, "tests/data/configs")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def ta(*args, ok=True):
    r = subprocess.run([BIN, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        raise RuntimeError(f"taskalign {' '.join(args)} failed: {r.stderr}")
    return r


# ---- a plain reader and writer ------------------------------------------

NP = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "F64": np.float64}


def read_st(path):
    """Returns (header dict, {name: (dtype, shape, raw bytes)}), checking the layout."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    out, end = {}, 0
    for name, info in sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        assert b == end, f"{name}: gap or overlap at {b} (previous end {end})"
        end = e
        out[name] = (info["dtype"], tuple(info["shape"]), data[b:e])
    assert end == len(data), "data section not fully covered"
    return n, header, out


def to_torch(dtype, shape, raw):
    if dtype == "BF16":
        return torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16).reshape(shape)
    return torch.from_numpy(np.frombuffer(raw, dtype=NP[dtype]).copy()).reshape(shape)


def raw_of(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().tobytes()
    return t.contiguous().numpy().tobytes()


def write_st(path, tensors, metadata=None, pad=True):
    """tensors: list of (name, torch tensor) in file order."""
    header, off, chunks = {}, 0, []
    if metadata is not None:
        header["__metadata__"] = metadata
    names = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64", torch.float64: "F64"}
    for name, t in tensors:
        raw = raw_of(t)
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        chunks.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def inspect_values(path):
    d = json.loads(ta("inspect", "--file", path, "--json", "--values").stdout)
    return {t["name"]: (t["dtype"], tuple(t["shape"]), torch.tensor(t["values"], dtype=torch.float32)) for t in d["tensors"]}


def same_bits(a, b):
    a, b = a.float().flatten(), b.float().flatten()
    if a.shape != b.shape:
        return False
    nan_a, nan_b = torch.isnan(a), torch.isnan(b)
    if not torch.equal(nan_a, nan_b):
        return False
    return torch.equal(a[~nan_a].view(torch.int32), b[~nan_b].view(torch.int32))


def hf_names(cfg):
    """Hugging Face parameter names and shapes, written independently of weights.c."""
    C, F, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or C // nh
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    d = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    if not cfg.get("tie_word_embeddings", False):
        d["lm_head.weight"] = (V, C)
    for l in range(L):
        p = f"model.layers.{l}."
        d[p + "input_layernorm.weight"] = (C,)
        d[p + "post_attention_layernorm.weight"] = (C,)
        d[p + "self_attn.q_proj.weight"] = (nh * hd, C)
        d[p + "self_attn.k_proj.weight"] = (nkv * hd, C)
        d[p + "self_attn.v_proj.weight"] = (nkv * hd, C)
        d[p + "self_attn.o_proj.weight"] = (C, nh * hd)
        d[p + "mlp.gate_proj.weight"] = (F, C)
        d[p + "mlp.up_proj.weight"] = (F, C)
        d[p + "mlp.down_proj.weight"] = (C, F)
        if qwen:
            d[p + "self_attn.q_proj.bias"] = (nh * hd,)
            d[p + "self_attn.k_proj.bias"] = (nkv * hd,)
            d[p + "self_attn.v_proj.bias"] = (nkv * hd,)
    return d


# ---- (a) files taskalign writes ------------------------------------------

def check_written_model(cfg_name):
    cfg = json.load(open(os.path.join(CONFIGS, cfg_name)))
    d32, d16 = os.path.join(TMP, cfg_name + ".f32"), os.path.join(TMP, cfg_name + ".bf16")
    ta("init", "--config", os.path.join(CONFIGS, cfg_name), "--out", d32, "--seed", "11")
    ta("init", "--config", os.path.join(CONFIGS, cfg_name), "--out", d16, "--seed", "11", "--dtype", "bf16")
    n, header, t32 = read_st(os.path.join(d32, "model.safetensors"))
    _, _, t16 = read_st(os.path.join(d16, "model.safetensors"))
    check(n % 8 == 0, f"{cfg_name}: header length {n} not a multiple of 8")
    check(header.get("__metadata__") == {"format": "pt"}, f"{cfg_name}: __metadata__ {header.get('__metadata__')}")
    want = hf_names(cfg)
    check(set(t32) == set(want), f"{cfg_name}: names differ: {sorted(set(t32) ^ set(want))[:5]}")
    check(all(t32[k][1] == want[k] for k in want if k in t32), f"{cfg_name}: shapes differ")
    check(all(v[0] == "F32" for v in t32.values()) and all(v[0] == "BF16" for v in t16.values()), f"{cfg_name}: dtypes")
    # taskalign's own reader (through the model loader) reports the same values
    dump = json.loads(ta("inspect", "--model", d32, "--json", "--values").stdout)
    check(dump["n_params"] == sum(math.prod(s) for s in want.values()), f"{cfg_name}: n_params {dump['n_params']}")
    vals_ok = all(same_bits(torch.tensor(t["values"], dtype=torch.float32), to_torch(*t32[t["name"]])) for t in dump["tensors"])
    check(vals_ok, f"{cfg_name}: values taskalign reads differ from the file's bytes")
    # BF16 file == torch's rounding of the F32 file
    bf_ok = all(raw_of(to_torch(*t32[k]).to(torch.bfloat16)) == t16[k][2] for k in t32)
    check(bf_ok, f"{cfg_name}: BF16 file is not torch's round-to-nearest-even of the F32 file")
    # Llama init: norms 1, biases 0, other weights N(0, 0.02^2)
    for k, (dt, shape, raw) in t32.items():
        x = to_torch(dt, shape, raw).double()
        if k.endswith("norm.weight"):
            check(bool((x == 1).all()), f"{k}: norm weights not 1")
        elif k.endswith(".bias"):
            check(bool((x == 0).all()), f"{k}: bias not 0")
        elif x.numel() >= 4096:
            check(abs(x.std().item() - 0.02) < 0.001 and abs(x.mean().item()) < 0.001, f"{k}: std {x.std().item():.5f} mean {x.mean().item():.5f}")
    c = json.load(open(os.path.join(d16, "config.json")))
    for key in ("architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "rms_norm_eps", "rope_theta", "vocab_size", "tie_word_embeddings", "max_position_embeddings"):
        check(key in c and (key not in cfg or c[key] == cfg[key] or key == "model_type"), f"{cfg_name}: config.json {key}: {c.get(key)} vs {cfg.get(key)}")
    check(c["torch_dtype"] == "bfloat16", f"{cfg_name}: torch_dtype {c['torch_dtype']}")
    check(c["model_type"] == {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "MistralForCausalLM": "mistral"}[cfg["architectures"][0]],
          f"{cfg_name}: model_type {c['model_type']}")


for name in ("tiny-llama-gqa.json", "tiny-qwen2.json", "tiny-llama3-rope.json", "tiny-mistral.json"):
    check_written_model(name)

# ---- (b) files written here, read by taskalign ---------------------------

g = torch.Generator().manual_seed(0)
special = torch.tensor([0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-45, 3.4028235e38, 65504.0, 6e-8, 1.00390625, 1.01171875])
tensors = [
    ("f32.special", special.clone()),
    ("f32.rand", torch.randn(7, 9, generator=g)),
    ("bf16.special", special.to(torch.bfloat16)),
    ("bf16.rand", torch.randn(5, 3, 2, generator=g).to(torch.bfloat16)),
    ("f16.special", special.to(torch.float16)),
    ("f16.rand", (torch.randn(33, generator=g) * 1000).to(torch.float16)),
    ("f16.subnormal", torch.tensor([2.0**-24, 2.0**-20, -(2.0**-14) * 0.5]).to(torch.float16)),
    ("scalar", torch.tensor(3.5)),
]
p = os.path.join(TMP, "torch_written.safetensors")
write_st(p, tensors, metadata={"format": "pt"})
got = inspect_values(p)
for name, t in tensors:
    dt, shape, vals = got[name]
    check(shape == tuple(t.shape), f"{name}: shape {shape} vs {tuple(t.shape)}")
    check(same_bits(vals, t.float()), f"{name}: taskalign values differ from torch's float32 conversion")
# an unpadded header and no metadata also read fine (the format does not require padding)
p2 = os.path.join(TMP, "unpadded.safetensors")
write_st(p2, tensors[:2], metadata=None, pad=False)
check(same_bits(inspect_values(p2)["f32.rand"][2], tensors[1][1]), "unpadded header file")
# unsupported dtypes are listed but refused with a message naming the tensor
p3 = os.path.join(TMP, "int.safetensors")
write_st(p3, [("ids", torch.arange(4, dtype=torch.int64)), ("d", torch.ones(2, dtype=torch.float64))])
r = ta("inspect", "--file", p3, ok=False)
check(r.returncode == 0 and "I64" in r.stdout and "F64" in r.stdout, f"listing I64/F64: {r.stdout} {r.stderr}")
r = ta("inspect", "--file", p3, "--json", "--values", ok=False)
check(r.returncode == 1 and "tensor 'ids' has dtype I64" in r.stderr, f"I64 values: rc {r.returncode} {r.stderr}")

# a whole model folder written in torch (BF16, HF names, shuffled order), single and sharded
cfg_name = "tiny-qwen2.json"
cfg = json.load(open(os.path.join(CONFIGS, cfg_name)))
shapes = hf_names(cfg)
params = {k: (torch.randn(*s, generator=g) * 0.05).to(torch.bfloat16) for k, s in shapes.items()}
order = sorted(params)  # name order, as the reference writer uses
for layout in ("single", "sharded"):
    d = os.path.join(TMP, "torch_model_" + layout)
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    if layout == "single":
        write_st(os.path.join(d, "model.safetensors"), [(k, params[k]) for k in order], metadata={"format": "pt"})
    else:
        half = len(order) // 2
        shards = {"model-00001-of-00002.safetensors": order[:half], "model-00002-of-00002.safetensors": order[half:]}
        wm = {}
        for fn, names in shards.items():
            write_st(os.path.join(d, fn), [(k, params[k]) for k in names], metadata={"format": "pt"})
            wm.update({k: fn for k in names})
        json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, open(os.path.join(d, "model.safetensors.index.json"), "w"))
    dump = json.loads(ta("inspect", "--model", d, "--json", "--values").stdout)
    ok = {t["name"] for t in dump["tensors"]} == set(params)
    ok = ok and all(same_bits(torch.tensor(t["values"], dtype=torch.float32), params[t["name"]].float()) for t in dump["tensors"])
    check(ok, f"torch-written {layout} model: values taskalign loads differ from torch's")

# a model file whose tensor shape disagrees with config.json
d = os.path.join(TMP, "torch_model_badshape")
os.makedirs(d, exist_ok=True)
json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
bad = dict(params)
bad["model.layers.1.mlp.up_proj.weight"] = torch.zeros(64, 64, dtype=torch.bfloat16)
write_st(os.path.join(d, "model.safetensors"), [(k, bad[k]) for k in order])
r = ta("inspect", "--model", d, ok=False)
check(r.returncode == 1 and "tensor 'model.layers.1.mlp.up_proj.weight' has shape [64,64], config wants [128,64]" in r.stderr,
      f"bad shape: rc {r.returncode} {r.stderr.strip()}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
