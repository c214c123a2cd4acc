"""Oracle test of the C engine against tools/torch_ref.py (plain PyTorch, float64).

For every tiny config in tests/data/configs (GQA, tied, Qwen2 biases, llama3
RoPE, Mistral) a random model folder is written (weights std 0.15, norm weights
1 + N(0, 0.2), biases N(0, 0.2), so every path matters), then on one padded
batch of 3 rows with lengths (12, 7, 9) and a loss mask:
  logits     max |c - t| over real positions <= 1e-5 * max |t|
  loss       |c - t| <= 1e-5 * |t|; token log-probs and mean logits likewise
  gradients  for EVERY parameter tensor: max |c - t| <= 1e-5 * max |t|
             (fp32 engine vs float64 reference)
  AdamW      10 steps (lr 3e-3, warmup 3 + cosine, weight decay 0.1 on 2-D
             tensors only, clip 1.0) against torch.optim.AdamW + the
             transformers schedule formula + clip_grad_norm_ in float64:
             each step's loss within 1e-4 relative, lr exact to 1e-7,
             pre-clip grad norm within 1e-4 relative.
The C side runs through tests/tools/engine_driver (batch in, results out as
safetensors). Prints "N passed, N failed".
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.environ.get("TA_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch_ref as ref  # noqa: E402

BUILD = os.environ.get("TA_BUILD", os.path.join(ROOT, "build", "release"))
TMP = os.environ.get("TA_TMP", "/tmp")
DRIVER = os.path.join(BUILD, "tests", "tools", "engine_driver")
CONFIGS = ["tiny-llama-gqa", "tiny-llama-tied", "tiny-qwen2", "tiny-llama3-rope", "tiny-mistral"]
TOL_FWD, TOL_GRAD, TOL_TRAIN = 1e-5, 1e-5, 1e-4

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


def relmax(c, t):
    c, t = np.asarray(c, np.float64), np.asarray(t, np.float64)
    return float(np.max(np.abs(c - t)) / max(np.max(np.abs(t)), 1e-30))


def make_model(name, seed):
    with open(os.path.join(ROOT, "tests", "data", "configs", name + ".json")) as f:
        raw = json.load(f)
    d = os.path.join(TMP, "engine_oracle_" + name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(raw, f)
    cfg = ref.load_config(d)
    rng = np.random.default_rng(seed)
    weights = {}
    for n in ref.param_names(cfg):
        s = ref.param_shape(cfg, n)
        if n.endswith("norm.weight"):
            weights[n] = 1 + 0.2 * rng.standard_normal(s)
        elif n.endswith(".bias"):
            weights[n] = 0.2 * rng.standard_normal(s)
        else:
            weights[n] = 0.15 * rng.standard_normal(s)
    ref.write_safetensors(os.path.join(d, "model.safetensors"), {k: v.astype(np.float32) for k, v in weights.items()})
    return d, cfg


def make_batch(cfg, seed, lengths=(12, 7, 9), T=12):
    rng = np.random.default_rng(seed)
    B = len(lengths)
    tokens = rng.integers(0, cfg["V"], size=(B, T))
    targets = np.full((B, T), -1)
    mask = np.zeros((B, T))
    for b, L in enumerate(lengths):
        tokens[b, L:] = 0
        targets[b, :L - 1] = tokens[b, 1:L]
        mask[b, :L - 1] = (rng.random(L - 1) < 0.75)
        mask[b, 0] = 1
    return tokens, np.array(lengths), targets, mask


def run_c(d, tokens, lengths, targets, mask, train=None):
    batch = {"tokens": tokens.astype(np.float32), "lengths": lengths.astype(np.float32),
             "targets": targets.astype(np.float32), "mask": mask.astype(np.float32)}
    if train is not None:
        batch["train"] = np.array(train, np.float32)
    bp, op = os.path.join(d, "batch.safetensors"), os.path.join(d, "out.safetensors")
    ref.write_safetensors(bp, batch)
    r = subprocess.run([DRIVER, d, bp, op], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"engine_driver failed: {r.stderr}")
    return ref.read_safetensors(op)


def torch_loss(params, cfg, tokens, lengths, targets, mask):
    logits = ref.forward(params, cfg, torch.tensor(tokens), list(lengths))
    lp = ref.token_logprobs(logits, torch.tensor(targets))
    m = torch.tensor(mask, dtype=logits.dtype)
    return logits, lp, -(lp * m).sum() / m.sum()


def cosine_lambda(step, warmup, total):
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def test_config(name, seed):
    d, cfg = make_model(name, seed)
    tokens, lengths, targets, mask = make_batch(cfg, seed + 1)
    steps, lr, wd, b1, b2, eps, clip, warm = 10, 3e-3, 0.1, 0.9, 0.999, 1e-8, 1.0, 3
    out = run_c(d, tokens, lengths, targets, mask, [steps, lr, wd, b1, b2, eps, clip, warm, 2])
    params = ref.load_params(d, cfg, torch.float64)
    logits, lp, loss = torch_loss(params, cfg, tokens, lengths, targets, mask)
    loss.backward()
    real = np.zeros(tokens.shape, bool)
    for b, L in enumerate(lengths):
        real[b, :L] = True
    lt = logits.detach().numpy()
    e = relmax(out["logits"][real], lt[real])
    check(e <= TOL_FWD, f"{name}: logits over real positions (rel err {e:.2e})")
    e = abs(float(out["loss"][0]) - loss.item()) / abs(loss.item())
    check(e <= TOL_FWD, f"{name}: masked loss {out['loss'][0]:.6f} vs {loss.item():.6f} (rel err {e:.2e})")
    e = relmax(out["token_logprob"], lp.detach().numpy())
    check(e <= TOL_FWD, f"{name}: token log-probs (rel err {e:.2e})")
    e = relmax(out["mean_logit"][real], lt.mean(-1)[real])
    check(e <= TOL_FWD, f"{name}: mean logits (rel err {e:.2e})")
    worst, wname = 0.0, ""
    for n, p in params.items():
        ge = relmax(out["grad." + n], p.grad.numpy())
        if ge > worst:
            worst, wname = ge, n
    check(worst <= TOL_GRAD and len(params) == sum(k.startswith("grad.") for k in out),
          f"{name}: all {len(params)} parameter gradients (worst rel err {worst:.2e} in {wname})")

    # 10 AdamW steps on the same batch, float64 torch
    params = ref.load_params(d, cfg, torch.float64)
    decay = [p for n, p in params.items() if p.dim() >= 2]
    no_decay = [p for n, p in params.items() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(b1, b2), eps=eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_lambda(s, warm, steps))
    losses, norms, lrs = [], [], []
    for _ in range(steps):
        opt.zero_grad()
        _, _, l = torch_loss(params, cfg, tokens, lengths, targets, mask)
        l.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(l.item())
    el = max(abs(a - b) / abs(b) for a, b in zip(out["train_loss"], losses))
    en = max(abs(a - b) / abs(b) for a, b in zip(out["grad_norm"], norms))
    elr = max(abs(a - b) for a, b in zip(out["lr"], lrs))
    check(el <= TOL_TRAIN and losses[-1] < losses[0],
          f"{name}: 10 AdamW steps, losses {losses[0]:.4f} -> {losses[-1]:.4f} (worst rel err {el:.2e})")
    check(en <= TOL_TRAIN and elr <= 1e-7, f"{name}: pre-clip grad norms (rel err {en:.2e}), lr schedule (err {elr:.1e})")
    pe = max(relmax(out["param." + n], p.detach().numpy()) for n, p in params.items())
    check(pe <= 1e-3, f"{name}: parameters after 10 steps (worst rel err {pe:.2e})")


def main():
    torch.set_num_threads(1)
    for i, name in enumerate(CONFIGS):
        try:
            test_config(name, 100 + i)
        except Exception as ex:  # a crash in one config must not hide the others
            check(False, f"{name}: {type(ex).__name__}: {ex}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
