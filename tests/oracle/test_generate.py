"""Oracle test of KV-cache generation against tools/torch_ref.py (plain PyTorch,
float64, no cache: the whole sequence is recomputed at every step).

For every tiny config (GQA, tied, Qwen2 biases, llama3 RoPE, Mistral) a random
model folder is written (weights std 0.15, norm weights 1 + N(0, 0.2), biases
N(0, 0.2)); three prompts of lengths 6, 1 and 11 are generated in ONE batch by
`taskalign generate` (greedy, 12 new tokens, --logits-out), then:
  logits   at every step of every prompt, max |c - t| <= 1e-5 * max |t| against
           the reference's last-position logits of prompt + tokens so far
           (fp32 engine vs float64 reference)
  tokens   each greedy token is the reference's argmax at that step
Sampling (temperature 0.8, top-k 40, top-p 0.9, seed 7): every sampled token
lies in the set HF's TopKLogitsWarper + TopPLogitsWarper (written here in
torch, as transformers does: sort ascending, drop cumulative <= 1 - p) keeps for
the logits the engine sampled from, and the same seed reproduces the tokens.
Prints "N passed, N failed".
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.environ.get("TA_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch_ref as ref  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_engine import make_model  # noqa: E402  the same random model folders (std 0.15, ...)

BUILD = os.environ.get("TA_BUILD", os.path.join(ROOT, "build", "release"))
BIN = os.environ.get("TA_BIN", os.path.join(BUILD, "taskalign"))
TMP = os.environ.get("TA_TMP", "/tmp")
CONFIGS = ["tiny-llama-gqa", "tiny-llama-tied", "tiny-qwen2", "tiny-llama3-rope", "tiny-mistral"]
PROMPT_LENS = (6, 1, 11)
NEW = 12
TOL = 1e-5

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


def run_generate(d, prompts, extra):
    ids_file = os.path.join(d, "prompts.txt")
    with open(ids_file, "w") as f:
        for p in prompts:
            f.write(",".join(map(str, p)) + "\n")
    lpath = os.path.join(d, "logits.jsonl")
    cmd = [BIN, "generate", "--model", d, "--ids-file", ids_file, "--max-tokens", str(NEW), "--ignore-eos",
           "--details", "--logits-out", lpath, "-t", "1"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    results = [json.loads(line) for line in out.strip().split("\n")]
    logits = {}
    with open(lpath) as f:
        for line in f:
            r = json.loads(line)
            logits[(r["prompt"], r["step"])] = np.array(r["logits"], dtype=np.float64)
    return results, logits


def hf_keep_set(logits, temperature, top_k, top_p):
    """Token ids transformers' Temperature -> TopK -> TopP warpers leave finite."""
    s = torch.tensor(logits, dtype=torch.float64) / temperature
    kth = torch.topk(s, top_k).values[-1]
    s = s.masked_fill(s < kth, float("-inf"))
    sorted_logits, sorted_idx = torch.sort(s, descending=False)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    remove = cum <= (1 - top_p)
    remove[-1:] = False  # min_tokens_to_keep = 1
    s = s.masked_fill(remove.scatter(0, sorted_idx, remove), float("-inf"))
    return set(torch.nonzero(torch.isfinite(s)).flatten().tolist())


def test_config(name, seed):
    d, cfg = make_model(name, seed)
    params = ref.load_params(d, cfg, torch.float64)
    rng = np.random.default_rng(seed + 1)
    prompts = [list(map(int, rng.integers(0, cfg["V"], size=n))) for n in PROMPT_LENS]
    results, logits = run_generate(d, prompts, [])
    worst, tok_ok = 0.0, True
    with torch.no_grad():
        for i, p in enumerate(prompts):
            toks = results[i]["tokens"]
            if len(toks) != NEW:
                check(False, f"{name}: prompt {i}: {len(toks)} tokens, want {NEW}")
                return
            seq = list(p)
            for s in range(NEW):
                t = ref.forward(params, cfg, torch.tensor([seq]), [len(seq)])[0, -1].numpy()
                c = logits[(i, s)]
                worst = max(worst, float(np.max(np.abs(c - t)) / np.max(np.abs(t))))
                best = int(np.argmax(t))
                if best != toks[s]:
                    gap = np.sort(t)[-1] - np.sort(t)[-2]
                    print(f"  {name}: prompt {i} step {s}: engine {toks[s]}, reference {best} (top-2 gap {gap:.2e})")
                    tok_ok = False
                seq.append(toks[s])
    check(worst <= TOL, f"{name}: per-step logits over {len(prompts)} batched prompts (worst rel err {worst:.2e})")
    check(tok_ok, f"{name}: greedy tokens = reference argmax at every step")

    samp = ["--temperature", "0.8", "--top-k", "40", "--top-p", "0.9", "--seed", "7"]
    r1, l1 = run_generate(d, prompts, samp)
    r2, _ = run_generate(d, prompts, samp)
    inside = all(r1[i]["tokens"][s] in hf_keep_set(l1[(i, s)], 0.8, 40, 0.9)
                 for i in range(len(prompts)) for s in range(NEW))
    check(inside, f"{name}: sampled tokens inside HF's top-k/top-p set")
    check(r1 == r2, f"{name}: seeded sampling reproducible")


def main():
    torch.set_num_threads(1)
    for i, name in enumerate(CONFIGS):
        try:
            test_config(name, 200 + i)
        except Exception as ex:  # one config's crash must not hide the others
            check(False, f"{name}: {type(ex).__name__}: {ex}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
