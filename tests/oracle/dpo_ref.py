"""The preference losses written plainly in PyTorch after TRL's
DPOTrainer.dpo_loss, CPOTrainer (loss_type="simpo") and
ORPOTrainer.odds_ratio_loss; shared by the oracle tests (test_dpo_loss.py on
random log-probs, test_train.py through the model)."""
import torch
import torch.nn.functional as F


def torch_loss(kind, beta, ls, rpo_alpha, gamma, lam, pc, pr, rc, rr, lc, lr):
    """Returns loss and TRL's metrics for one batch (TRL normalises per batch)."""
    nll = -pc.sum() / lc.sum()  # token-mean cross-entropy of the chosen completions
    if kind in ("ipo", "simpo", "orpo"):
        pc, pr, rc, rr = pc / lc, pr / lr, rc / lc, rr / lr
    logits = (pc - rc) - (pr - rr)
    if kind == "sigmoid":
        losses = -F.logsigmoid(beta * logits) * (1 - ls) - F.logsigmoid(-beta * logits) * ls
    elif kind == "robust":
        losses = (-F.logsigmoid(beta * logits) * (1 - ls) + F.logsigmoid(-beta * logits) * ls) / (1 - 2 * ls)
    elif kind == "hinge":
        losses = torch.relu(1 - beta * logits)
    elif kind == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    elif kind == "simpo":
        lg = (pc - pr) - gamma / beta
        losses = -F.logsigmoid(beta * lg) * (1 - ls) - F.logsigmoid(-beta * lg) * ls
    elif kind == "orpo":
        log_odds = (pc - pr) - (torch.log1p(-torch.exp(pc)) - torch.log1p(-torch.exp(pr)))
        losses = -lam * F.logsigmoid(log_odds)
    if kind in ("simpo", "orpo"):
        s = lam if kind == "orpo" else beta
        rw_c, rw_r = s * pc.detach(), s * pr.detach()
    else:
        rw_c, rw_r = beta * (pc - rc).detach(), beta * (pr - rr).detach()
    loss = losses.mean()
    w = 1.0 if kind == "orpo" else rpo_alpha
    if w > 0:
        loss = loss + w * nll
    metrics = {
        "rewards_chosen": rw_c.mean().item(),
        "rewards_rejected": rw_r.mean().item(),
        "accuracies": (rw_c > rw_r).double().mean().item(),
        "margins": (rw_c - rw_r).mean().item(),
        "logps_chosen": pc.detach().mean().item(),
        "logps_rejected": pr.detach().mean().item(),
    }
    return loss, metrics
