"""Oracle for the preference losses (src/train/dpo_loss.c): each loss written
plainly in PyTorch after TRL's DPOTrainer.dpo_loss, CPOTrainer (simpo) and
ORPOTrainer.odds_ratio_loss, differentiated by autograd in float64, on random
summed log-probs. The C side is build/<mode>/tests/test_dpo_loss --eval.

Tolerance: 1e-10 absolute + 1e-9 relative on the loss, metrics and every
d loss / d logp (both sides compute in double)."""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dpo_ref import torch_loss  # noqa: E402

torch.manual_seed(1234)
BIN = os.path.join(os.environ.get("TA_BUILD", "build/release"), "tests", "test_dpo_loss")
passed = failed = 0


def close(a, b, atol=1e-10, rtol=1e-9):
    return abs(a - b) <= atol + rtol * abs(b)


cases = []
for kind in ("sigmoid", "ipo", "hinge", "robust", "simpo", "orpo"):
    for variant in range(3):
        ls = 0.15 if (variant == 1 and kind in ("sigmoid", "robust", "simpo")) else 0.0
        rpo = 0.7 if variant == 2 and kind != "orpo" else 0.0
        beta = {"simpo": 2.0, "ipo": 0.3}.get(kind, 0.1) * (1 + variant)
        cases.append((kind, beta, ls, rpo))

with tempfile.TemporaryDirectory() as tmp:
    for (kind, beta, ls, rpo) in cases:
        n = 6
        lc = torch.randint(1, 40, (n,)).double()
        lr = torch.randint(1, 40, (n,)).double()
        pc = -lc * (0.2 + 3 * torch.rand(n, dtype=torch.float64))
        pr = -lr * (0.2 + 3 * torch.rand(n, dtype=torch.float64))
        rc = pc + 2 * torch.randn(n, dtype=torch.float64)
        rr = pr + 2 * torch.randn(n, dtype=torch.float64)
        gamma, lam = 0.5, 0.25
        pc_v, pr_v = pc.clone().requires_grad_(True), pr.clone().requires_grad_(True)
        loss, metrics = torch_loss(kind, beta, ls, rpo, gamma, lam, pc_v, pr_v, rc, rr, lc, lr)
        loss.backward()
        inp = {
            "params": {"loss": kind, "beta": beta, "label_smoothing": ls, "rpo_alpha": rpo,
                       "simpo_gamma": gamma, "orpo_lambda": lam},
            "chosen": pc.tolist(), "rejected": pr.tolist(), "ref_chosen": rc.tolist(),
            "ref_rejected": rr.tolist(), "chosen_len": lc.tolist(), "rejected_len": lr.tolist(),
        }
        path = os.path.join(tmp, "in.json")
        with open(path, "w") as f:
            json.dump(inp, f)
        out = json.loads(subprocess.run([BIN, "--eval", path], check=True, capture_output=True, text=True).stdout)
        bad = []
        if not close(out["loss"], loss.item()):
            bad.append(f"loss {out['loss']} vs {loss.item()}")
        for k, v in metrics.items():
            if not close(out[k], v):
                bad.append(f"{k} {out[k]} vs {v}")
        for name, g in (("d_chosen", pc_v.grad), ("d_rejected", pr_v.grad)):
            for i in range(n):
                if not close(out[name][i], g[i].item()):
                    bad.append(f"{name}[{i}] {out[name][i]} vs {g[i].item()}")
        label = f"{kind} beta={beta} ls={ls} rpo_alpha={rpo}"
        if bad:
            failed += 1
            print(f"FAIL {label}: " + "; ".join(bad[:4]))
        else:
            passed += 1
            print(f"ok {label}: loss {loss.item():.6f}")

# First DPO step: policy == reference gives ln 2 exactly (to 1e-6 as the issue asks; it is exact here).
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "in.json")
    with open(path, "w") as f:
        json.dump({"params": {"loss": "sigmoid", "beta": 0.1, "label_smoothing": 0, "rpo_alpha": 0,
                              "simpo_gamma": 0.5, "orpo_lambda": 0.1},
                   "chosen": [-5.0, -9.0], "rejected": [-7.0, -3.0], "ref_chosen": [-5.0, -9.0],
                   "ref_rejected": [-7.0, -3.0], "chosen_len": [3, 4], "rejected_len": [2, 5]}, f)
    out = json.loads(subprocess.run([BIN, "--eval", path], check=True, capture_output=True, text=True).stdout)
    if abs(out["loss"] - torch.log(torch.tensor(2.0, dtype=torch.float64)).item()) <= 1e-6:
        passed += 1
        print("ok sigmoid with policy == reference is ln 2")
    else:
        failed += 1
        print(f"FAIL first-step loss {out['loss']}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
