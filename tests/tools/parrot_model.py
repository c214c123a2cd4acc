"""parrot_model.py: builds a model folder whose greedy reply to any prompt is one
fixed text, so tests can drive the real model path (ta_lm, the agent loop, the
server) into a known tool call.

usage: /usr/bin/python3 parrot_model.py TASKALIGN_BIN QWEN3_TOKENIZER_DIR OUT_DIR REPLY_TEXT

How: the Qwen3 tokenizer gets one extra (non-special) added token whose content
is REPLY_TEXT; a one-layer Qwen2 model is initialised by `taskalign init` and
its weights are then set so that attention and MLP add nothing (o_proj and
down_proj are zero) and the tied embeddings give, for every ordinary token,
the REPLY token as the argmax next token, and for the REPLY token, <|im_end|>:
  E[t] = u for ordinary tokens, E[REPLY] = 2u + v, E[<|im_end|>] = u + 3v
with u, v orthogonal, |u| = 1, |v| = 2. The logit of token j after token t is
E[j] . rmsnorm(E[t]) (norm weights 1), so after an ordinary token the logits
are (ordinary 1, REPLY 2, EOS 1) and after REPLY (2, 8, 14): greedy decoding
emits REPLY then stops, whatever the prompt. Plain numpy, no taskalign code.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

binary, tok_dir, out, reply = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
tok = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
ids = [t["id"] for t in tok["added_tokens"]] + list(tok["model"]["vocab"].values())
reply_id = max(ids) + 1
eos_id = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<|im_end|>")
tok["added_tokens"].append({"id": reply_id, "content": reply, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": False})
vocab = reply_id + 1
cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": vocab, "hidden_size": 16,
       "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
       "hidden_act": "silu", "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
       "tie_word_embeddings": True, "bos_token_id": None, "eos_token_id": [eos_id, 151643], "torch_dtype": "float32"}
cfg_path = os.path.join(out, "parrot_config.json")
json.dump(cfg, open(cfg_path, "w"))
subprocess.run([binary, "init", "--config", cfg_path, "--out", out, "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
os.remove(cfg_path)
json.dump(tok, open(os.path.join(out, "tokenizer.json"), "w"))
shutil.copy(os.path.join(tok_dir, "tokenizer_config.json"), os.path.join(out, "tokenizer_config.json"))

# rewrite the safetensors tensors in place (same names, shapes and order)
path = os.path.join(out, "model.safetensors")
raw = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
base = 8 + n
for name, info in header.items():
    if name == "__metadata__":
        continue
    assert info["dtype"] == "F32", info["dtype"]
    a, b = info["data_offsets"]
    shape = info["shape"]
    if name.endswith("embed_tokens.weight"):
        w = np.zeros(shape, np.float32)
        w[:, 0] = 1.0
        w[reply_id] = 0
        w[reply_id, 0], w[reply_id, 1] = 2.0, 2.0
        w[eos_id] = 0
        w[eos_id, 0], w[eos_id, 1] = 1.0, 6.0
    elif "norm" in name:
        w = np.ones(shape, np.float32)
    elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
        w = np.zeros(shape, np.float32)
    else:
        continue  # q/k/v, gate/up: anything, their path is multiplied by zero
    raw[base + a:base + b] = w.tobytes()
open(path, "wb").write(bytes(raw))
print(reply_id)
