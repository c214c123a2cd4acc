"""Oracle for the trainers through the model: for a tiny random Llama (GQA)
and a small batch of pairs / conversations, taskalign's step loss and every
trainable gradient (full weights, or LoRA A/B) against plain PyTorch autograd
in float64: tools/torch_ref.py's model, the losses of dpo_ref.py (TRL's
definitions), SFT's mean NLL over assistant tokens, LoRA as W + (alpha/r) B A
with A, B leaves (independent of our dA/dB-from-dW projection).

The C side is build/<mode>/tests/test_trainer --dump (the batch as the model
saw it, the loss, the gradient). Tolerances (C computes in float32):
loss within 2e-5 relative; each gradient tensor within 1e-4 of its largest
entry (max |c - t| <= 1e-4 * max |t| + 1e-9)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.environ.get("TA_ROOT", os.getcwd())
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402
from dpo_ref import torch_loss  # noqa: E402

BUILD = os.environ.get("TA_BUILD", os.path.join(ROOT, "build", "release"))
BIN = os.path.join(BUILD, "tests", "test_trainer")
TA = os.environ.get("TA_BIN", os.path.join(BUILD, "taskalign"))
CFG = os.path.join(ROOT, "tests", "data", "configs", "tiny-llama-gqa.json")
torch.set_num_threads(1)
passed = failed = 0
worst = {"loss": 0.0, "grad": 0.0}

PREFS = [
    {"prompt": "add milk to my list", "chosen": "ok, added milk", "rejected": "no"},
    {"prompt": "what is due today?", "chosen": "two tasks: rent, gym", "rejected": "whatever"},
    {"prompt": [{"role": "user", "content": "track my ex"}],
     "chosen": [{"role": "assistant", "content": "I can't help track someone."}],
     "rejected": [{"role": "assistant", "content": "sure, creating a task"}]},
]
SFT = [
    {"messages": [{"role": "user", "content": "add eggs"},
                  {"role": "assistant", "content": "", "tool_calls": [
                      {"type": "function", "function": {"name": "create_task", "arguments": {"title": "eggs"}}}]},
                  {"role": "tool", "content": "{\"id\":1}"}, {"role": "assistant", "content": "added eggs"}]},
    {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                  {"role": "assistant", "content": "hello!"}]},
    {"messages": [{"role": "user", "content": "list tasks"}, {"role": "assistant", "content": "you have none"}]},
]
LORA_PATHS = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
              "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}


def check(label, ok, msg=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {label} {msg}")
    else:
        failed += 1
        print(f"FAIL {label} {msg}")


def run_case(tmp, label, spec):
    spec_path = os.path.join(tmp, "spec.json")
    dump = os.path.join(tmp, "dump.safetensors")
    spec["out_dir"] = os.path.join(tmp, "out_" + label.replace(" ", "_"))
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    r = subprocess.run([BIN, "--dump", spec_path, dump], capture_output=True, text=True)
    if r.returncode != 0:
        check(label, False, "dump failed: " + r.stderr.strip()[-300:])
        return
    d = torch_ref.read_safetensors(dump)
    cfg = torch_ref.load_config(spec["model"])
    params = torch_ref.load_params(spec["model"], cfg, torch.float64)
    tokens = torch.tensor(d["batch.tokens"], dtype=torch.long)
    targets = torch.tensor(d["batch.targets"], dtype=torch.long)
    lengths = [int(x) for x in d["batch.lengths"]]
    lora = spec.get("lora_r", 0) > 0
    leaves = {}
    if lora:
        s = spec["lora_alpha"] / spec["lora_r"]
        eff = dict(params)
        for name in d:
            if not name.startswith("param.") or ".lora_A." not in name:
                continue
            a_name = name[len("param."):]
            b_name = a_name.replace(".lora_A.", ".lora_B.")
            A = torch.tensor(d[name], dtype=torch.float64, requires_grad=True)
            B = torch.tensor(d["param." + b_name], dtype=torch.float64, requires_grad=True)
            leaves[a_name], leaves[b_name] = A, B
            w = a_name.replace("base_model.model.", "").replace(".lora_A.weight", ".weight")
            eff[w] = params[w] + s * (B @ A)
        model_params = eff
    else:
        for k in params:
            params[k].requires_grad_(True)
        model_params = params
    logits = torch_ref.forward(model_params, cfg, tokens, lengths)
    lp = torch_ref.token_logprobs(logits, targets)
    on = (targets >= 0).double()
    counts = on.sum(-1)
    if spec["kind"] == "sft":
        loss = -(lp * on).sum() / counts.sum()
    else:
        n = tokens.shape[0] // 2
        sums = (lp * on).sum(-1)
        if spec.get("ref_model"):
            rp = torch_ref.load_params(spec["ref_model"], cfg, torch.float64)
        else:
            rp = torch_ref.load_params(spec["model"], cfg, torch.float64)  # LoRA: base with adapters off
        with torch.no_grad():
            rs = (torch_ref.token_logprobs(torch_ref.forward(rp, cfg, tokens, lengths), targets) * on).sum(-1)
        loss, _ = torch_loss(spec["loss"], spec.get("beta", 0.1), spec.get("label_smoothing", 0.0),
                             spec.get("rpo_alpha", 0.0), spec.get("simpo_gamma", 0.5), spec.get("orpo_lambda", 0.1),
                             sums[:n], sums[n:], rs[:n], rs[n:], counts[:n], counts[n:])
    loss.backward()
    c_loss = float(d["loss"][0])
    rel = abs(c_loss - loss.item()) / max(abs(loss.item()), 1e-12)
    worst["loss"] = max(worst["loss"], rel)
    bad = []
    if rel > 2e-5:
        bad.append(f"loss {c_loss} vs {loss.item()}")
    targets_t = leaves if lora else {k: params[k] for k in params}
    seen = 0
    for name, t in targets_t.items():
        key = "grad." + name
        if key not in d:
            continue
        seen += 1
        g = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        c = d[key].astype(np.float64)
        scale = np.abs(g).max()
        err = np.abs(c - g).max()
        if scale > 0:
            worst["grad"] = max(worst["grad"], err / scale)
        if err > 1e-4 * scale + 1e-9:
            bad.append(f"{name}: max err {err:.3g} vs max |g| {scale:.3g}")
    if seen != len(targets_t):
        bad.append(f"only {seen} of {len(targets_t)} gradients dumped")
    check(label, not bad, f"loss {loss.item():.6f}" + ("; " + "; ".join(bad[:3]) if bad else ""))


with tempfile.TemporaryDirectory() as tmp:
    models = []
    for seed in (1, 2):
        d = os.path.join(tmp, f"m{seed}")
        subprocess.run([TA, "init", "--config", CFG, "--out", d, "--seed", str(seed)], check=True, capture_output=True)
        models.append(d)
    prefs = os.path.join(tmp, "prefs.jsonl")
    sft = os.path.join(tmp, "sft.jsonl")
    with open(prefs, "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in PREFS)
    with open(sft, "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in SFT)
    base = {"model": models[0], "n": 3}
    run_case(tmp, "sft full", dict(base, kind="sft", data=sft))
    run_case(tmp, "sft lora", dict(base, kind="sft", data=sft, lora_r=4, lora_alpha=8, lora_targets="all"))
    for loss, extra in (("sigmoid", {}), ("sigmoid", {"label_smoothing": 0.2}), ("sigmoid", {"rpo_alpha": 0.5}),
                        ("ipo", {"beta": 0.5}), ("hinge", {"beta": 2.0}), ("robust", {"label_smoothing": 0.1}),
                        ("simpo", {"beta": 2.0, "simpo_gamma": 0.5}), ("orpo", {"orpo_lambda": 0.2})):
        spec = dict(base, kind="dpo", data=prefs, loss=loss, **extra)
        if loss not in ("simpo", "orpo"):
            spec["ref_model"] = models[1]
        run_case(tmp, f"dpo {loss} {extra}", spec)
    for loss in ("sigmoid", "ipo", "orpo"):
        run_case(tmp, f"dpo lora {loss}", dict(base, kind="dpo", data=prefs, loss=loss, lora_r=4, lora_alpha=16,
                                               lora_targets="q,k,v,o,down"))

    # LoRA merge: a PEFT adapter written here (random A and B, PEFT names), merged by
    # `taskalign lora merge`; the merged model's log-probs (taskalign) == the adapter
    # model's (PyTorch, PEFT's y = x W^T + s (x A^T) B^T). Tolerance 2e-5 absolute.
    r, alpha = 4, 8.0
    cfg = torch_ref.load_config(models[0])
    base = torch_ref.load_params(models[0], cfg, torch.float64)
    adapter = os.path.join(tmp, "adapter")
    os.makedirs(adapter)
    g = torch.Generator().manual_seed(3)
    ab, tensors = {}, {}
    for l in range(cfg["L"]):
        for mod in ("self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"):
            W = base[f"model.layers.{l}.{mod}.weight"]
            A = torch.randn(r, W.shape[1], generator=g, dtype=torch.float64) * 0.1
            B = torch.randn(W.shape[0], r, generator=g, dtype=torch.float64) * 0.1
            ab[f"model.layers.{l}.{mod}"] = (A, B)
            pre = f"base_model.model.model.layers.{l}.{mod}"
            tensors[pre + ".lora_A.weight"] = A.float().numpy()
            tensors[pre + ".lora_B.weight"] = B.float().numpy()
    torch_ref.write_safetensors(os.path.join(adapter, "adapter_model.safetensors"), tensors)
    with open(os.path.join(adapter, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
                   "target_modules": ["q_proj", "v_proj", "down_proj"], "bias": "none", "fan_in_fan_out": False,
                   "use_rslora": False, "use_dora": False}, f)
    merged = os.path.join(tmp, "merged")
    subprocess.run([TA, "lora", "merge", "--model", models[0], "--adapter", adapter, "--out", merged], check=True,
                   capture_output=True)
    # adapter model in torch: W_eff = W + s B A in float64 (the same function as PEFT's two-GEMM branch)
    eff = dict(base)
    for k, (A, B) in ab.items():
        # float32 A, B as stored, so both sides start from the same numbers
        A32, B32 = torch.tensor(tensors["base_model.model." + k + ".lora_A.weight"], dtype=torch.float64), \
            torch.tensor(tensors["base_model.model." + k + ".lora_B.weight"], dtype=torch.float64)
        eff[k + ".weight"] = base[k + ".weight"] + (alpha / r) * (B32 @ A32)
    ids = [5, 77, 200, 13, 42, 99, 7]
    tok, tgt = torch.tensor([ids]), torch.tensor([ids[1:] + [-1]])
    want = torch_ref.token_logprobs(torch_ref.forward(eff, cfg, tok, [len(ids)]), tgt)[0, :-1]
    out = subprocess.run([TA, "logprobs", "--model", merged, "--ids", ",".join(map(str, ids))], check=True,
                         capture_output=True, text=True).stdout
    got = [x for x in json.loads(out)["token_logprobs"] if x is not None]
    err = max(abs(a - b) for a, b in zip(got, want.tolist()))
    base_lp = torch_ref.token_logprobs(torch_ref.forward(base, cfg, tok, [len(ids)]), tgt)[0, :-1]
    moved = max(abs(a - b) for a, b in zip(base_lp.tolist(), want.tolist()))
    check("lora merge == adapter model", err < 2e-5 and moved > 1e-3, f"max |logprob diff| {err:.2e} (adapter moves them by {moved:.2e})")

print(f"worst relative loss error {worst['loss']:.2e}, worst gradient error / max |grad| {worst['grad']:.2e}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
