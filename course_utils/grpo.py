"""GRPO (chapter 10): reinforcement learning with a verifiable reward (Shao et al., 2024).

Chapter 08's PPO needed a reward model (learned from preferences) and a value head (to tell each
token how much better than expected it did). With a reward a program can check, such as "is the
last number of the answer the right sum", GRPO drops both:

1. **Sample** a group of G answers to each of P prompts (KV cache, temperature 1).
2. **Reward** each answer with the checker: 1 if right, else 0.
3. **Advantage** = how much better an answer did than its own group: (r - mean) / (std + eps) over
   the G answers to the same prompt. Every token of an answer gets its answer's advantage. A group
   that is all right or all wrong has advantage 0: nothing to learn from it.
4. **Update** with PPO's clipped ratio to the sampling policy and a per-token KL penalty to the
   frozen reference, estimated as exp(d) - d - 1 with d = ref - logp: its mean over samples from the
   policy is KL(policy || reference), and unlike d itself it is never negative.

Shapes: P prompts, G answers each, B = P * G sequences of T tokens; masks are True on answer tokens.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from .widgets import progress


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """rewards (P, G) -> advantages (P, G): each reward minus its group's mean, over the group's std."""
    if rewards.dim() != 2 or rewards.size(1) < 2:
        raise ValueError(f"rewards must be (prompts, answers per prompt >= 2), got {tuple(rewards.shape)}")
    mean, std = rewards.mean(dim=1, keepdim=True), rewards.std(dim=1, keepdim=True)
    return (rewards - mean) / (std + eps)


def answer_logprobs(model: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log p(x[t+1] | x[:t+1]) at the answer positions: x (B, T), mask (B, T-1) -> (B, T-1), zero
    where the mask is False. The output layer runs on the answer positions only (49,152 logits per
    position is most of the memory)."""
    h = model.features(x)[:, :-1]                                        # (B, T-1, C)
    logits = model.lm_head(h[mask])                                      # (N, V), N answer positions
    picked = logits.log_softmax(-1).gather(-1, x[:, 1:][mask][:, None])[:, 0]
    out = torch.zeros(mask.shape, dtype=picked.dtype, device=x.device)
    return out.masked_scatter(mask, picked)


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, ref_logp: torch.Tensor, advantages: torch.Tensor,
              mask: torch.Tensor, clip: float = 0.2, kl_coef: float = 0.04) -> tuple[torch.Tensor, dict]:
    """GRPO's objective, all per-token tensors (B, T) except advantages (B,):
    -min(ratio A, clip(ratio, 1-clip, 1+clip) A) + kl_coef KL, averaged over each answer's tokens
    and then over answers. ratio = exp(logp - old_logp); KL per token exp(d) - d - 1, d = ref - logp."""
    ratio = (logp - old_logp).exp()
    adv = advantages[:, None]                                             # (B, 1): one per answer
    surrogate = torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv)
    d = ref_logp - logp
    kl = d.exp() - d - 1
    per_token = -surrogate + kl_coef * kl
    n = mask.sum(dim=1).clamp(min=1)
    loss = ((per_token * mask).sum(dim=1) / n).mean()
    return loss, {"kl": ((kl * mask).sum(dim=1) / n).mean().item(),
                  "clipped": ((ratio - 1).abs() > clip)[mask].float().mean().item()}


@dataclass
class GRPOConfig:
    steps: int = 14
    prompts: int = 4             # P prompts per step
    group: int = 8               # G answers per prompt
    lr: float = 2e-4
    clip: float = 0.2
    kl_coef: float = 0.04
    max_new_tokens: int = 12
    temperature: float = 1.0
    seed: int = 0


@dataclass
class GRPOHistory:
    reward: list[float] = field(default_factory=list)      # mean reward of each step's samples
    kl: list[float] = field(default_factory=list)
    no_signal: list[int] = field(default_factory=list)     # groups per step whose answers all scored the same
    evals: dict[int, float] = field(default_factory=dict)  # step -> held-out accuracy
    seconds: float = 0.0
    sequences: int = 0


def train(policy: nn.Module, sample: Callable, reward: Callable, ref_logprobs: Callable,
          optimizer: torch.optim.Optimizer, prompts: list, cfg: GRPOConfig,
          evaluate: Callable[[], float] | None = None, eval_every: int = 0, desc: str = "GRPO") -> GRPOHistory:
    """The GRPO loop. ``sample(prompts, generator) -> (x, mask, texts)`` draws the answers of a step
    (x (B, T) prompt + answer ids, mask (B, T-1) True where x[:, 1:] is an answer token, texts B
    strings), ``reward(prompt, text) -> float`` checks one, ``ref_logprobs(x, mask)`` gives the frozen
    reference's log-probs. ``evaluate()`` (held-out accuracy) runs every ``eval_every`` steps and at
    the end. One update per sampled batch: the policy that sampled is the one being updated, so
    old_logp = logp (ratio 1) and the clip never binds; it would with several updates per batch."""
    hist = GRPOHistory()
    g = torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    if evaluate is not None:
        hist.evals[0] = evaluate()
    for step in progress(range(1, cfg.steps + 1), desc=desc):
        idx = torch.randint(len(prompts), (cfg.prompts,), generator=g).tolist()
        group = [prompts[i] for i in idx for _ in range(cfg.group)]                  # P * G prompts
        policy.eval()
        x, mask, texts = sample(group, g)
        rewards = torch.tensor([reward(p, t) for p, t in zip(group, texts)], dtype=torch.float32)
        by_group = rewards.view(cfg.prompts, cfg.group)
        adv = group_advantages(by_group).view(-1)                                    # (B,)
        with torch.no_grad():
            ref = ref_logprobs(x, mask)
        policy.train()
        logp = answer_logprobs(policy, x, mask)
        loss, stats = grpo_loss(logp, logp.detach(), ref, adv, mask, cfg.clip, cfg.kl_coef)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        hist.reward.append(rewards.mean().item())
        hist.kl.append(stats["kl"])
        hist.no_signal.append(int((by_group.std(dim=1) == 0).sum()))
        hist.sequences += len(group)
        if evaluate is not None and ((eval_every and step % eval_every == 0) or step == cfg.steps):
            hist.evals[step] = evaluate()
    policy.eval()
    hist.seconds = time.perf_counter() - start
    return hist
