"""RLHF (chapter 08): simulated raters, a reward model, PPO and DPO on chapter 07's SFT GPT.

Preferences come from simulated raters, not people. Each rater judges a pair of answers with a
documented **gold** score (:func:`gold`) that follows the 3H principles, skips pairs whose gold scores
are nearly equal, and picks the worse answer a fixed share of the time (label noise). Nothing in the
training code reads the gold score except the raters and the final evaluation.

Sequences are handled as (prompt ids, answer ids): the answer ids include ``<|end|>`` when the model
stopped. :func:`pad` lays a batch out for one forward pass and marks which positions predict an answer
token, which is all the losses below need:

- reward model: ``RewardModel`` = a copy of the GPT + a linear head on the last token's features,
  trained with the Bradley-Terry loss :func:`bradley_terry_loss`;
- PPO: :func:`rollout` (KV-cache sampling), :func:`token_logprobs`, :func:`gae`, :func:`ppo_loss` and the
  loop :func:`ppo`, with a value head (``Policy``) and a per-token KL penalty to a frozen reference;
- DPO: :func:`dpo_loss` on summed answer log-probabilities, and the loop :func:`dpo`.
"""
from __future__ import annotations

import copy
import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import bpe, sft
from .config import run_seed
from .gpt import GPT
from .train import History, TrainConfig, fit, lr_schedule, make_optimizer
from .widgets import progress

# ---- the gold preference ------------------------------------------------------------------------
HARMFUL = ("war", "wars", "killed", "kill", "death", "died", "battle", "army", "attack", "military",
           "soldiers", "weapons", "bomb", "murder", "violence")
"""The harmless part of the gold score: a stated list of words the raters do not want to see."""
_WORD = re.compile(r"[A-Za-z]+")


def vocabulary(examples: list[sft.Example], min_count: int = 3) -> set[str]:
    """Lower-case words of two or more letters that occur ``min_count`` times in the instructions:
    what the gold score counts as a real word."""
    counts: dict[str, int] = {}
    for ex in examples:
        for w in _WORD.findall(ex.instruction.lower()):
            counts[w] = counts.get(w, 0) + 1
    return {w for w, c in counts.items() if c >= min_count and len(w) > 1}


def gold(ex: sft.Example, text: str, stopped: bool, words: set[str]) -> float:
    """The simulated raters' judgement of one answer (higher is better).

    - honest and concise: -1 for an answer that never ends (no ``<|end|>``); checkable tasks lose
      0.1 per word beyond the one-word answer, open ones 0.25 per word outside 3..6;
    - helpful: a checkable task scores 1 when the answer is exactly right, else 0; the open task
      ("complete") scores the share of its words that are real words (``words``, see
      :func:`vocabulary`), minus 1 per fragment (a one-letter word other than "a") or stray yes/no;
    - harmless: -1 per word from :data:`HARMFUL`.
    """
    if not stopped:
        return -1.0
    n = len(text.split())
    found = _WORD.findall(text.lower())
    harm = -1.0 * sum(w in HARMFUL for w in found)
    if sft.TASKS[ex.task].exact:
        return (1.0 if text.strip() == ex.answer else 0.0) - 0.1 * max(0, n - 1) + harm
    if not found:
        return -1.0
    real = sum(w in words for w in found) / len(found)
    junk = sum(len(w) == 1 and w != "a" for w in found) + sum(w in ("yes", "no") for w in found)
    return real - 1.0 * junk - 0.25 * (max(0, n - 6) + max(0, 3 - n)) + harm


# ---- preference pairs ---------------------------------------------------------------------------
Answer = tuple[str, bool]            # (text, stopped), as sft.respond returns it


@dataclass(frozen=True)
class Pair:
    """One labelled comparison: the rater's ``chosen`` and ``rejected`` answer to ``example``.
    ``flipped`` records label noise (the rater chose the answer with the lower gold score);
    ``margin`` is the gold difference |g(a) - g(b)|."""

    example: sft.Example
    chosen: Answer
    rejected: Answer
    flipped: bool
    margin: float


def rate(examples: list[sft.Example], first: list[Answer], second: list[Answer],
         score: Callable[[sft.Example, str, bool], float], min_margin: float = 0.5,
         noise: float = 0.1, seed: int = 0) -> list[Pair]:
    """Simulated raters: for each prompt, compare two answers with ``score``; skip the pair when the
    scores differ by less than ``min_margin`` (the raters call it a tie), otherwise prefer the higher
    one, flipping the label with probability ``noise``."""
    if not len(examples) == len(first) == len(second):
        raise ValueError(f"need one pair of answers per example, got {len(examples)}, {len(first)}, {len(second)}")
    if not 0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5), got {noise}")
    rng = random.Random(seed)
    pairs = []
    for ex, a, b in zip(examples, first, second):
        ga, gb = score(ex, *a), score(ex, *b)
        if abs(ga - gb) < min_margin:
            continue
        better, worse = (a, b) if ga > gb else (b, a)
        flipped = rng.random() < noise
        pairs.append(Pair(ex, worse if flipped else better, better if flipped else worse, flipped, abs(ga - gb)))
    return pairs


# ---- sequences ----------------------------------------------------------------------------------
def encode(tok: bpe.Tokenizer, ex: sft.Example, answer: Answer) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) of one answer in the chat template; ``<|end|>`` closes a stopped answer."""
    text, stopped = answer
    return sft.encode_prompt(tok, ex.instruction), sft.encode_answer(tok, text, stopped)


def pad(seqs: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad (prompt, answer) sequences into one batch.

    Returns x (B, T) token ids, ``mask`` (B, T-1) True where position t predicts an answer token
    x[t+1] (the positions an RL or DPO loss uses), and ``last`` (B,) the index of each sequence's
    last token (where the reward head reads).
    """
    T = max(len(p) + len(a) for p, a in seqs)
    x = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(seqs), T - 1, dtype=torch.bool)
    for i, (p, a) in enumerate(seqs):
        x[i, :len(p) + len(a)] = torch.tensor(p + a)
        mask[i, len(p) - 1:len(p) + len(a) - 1] = True
    last = torch.tensor([len(p) + len(a) - 1 for p, a in seqs])
    return x, mask, last


def token_logprobs(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """logits (B, T, V) of the model on x (B, T) -> (B, T-1): log p(x[t+1] | x[:t+1])."""
    return logits[:, :-1].log_softmax(-1).gather(-1, x[:, 1:, None])[..., 0]


def answer_logprob(model: GPT, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B,) summed log-probability of each answer (the masked tokens) under ``model``."""
    return (token_logprobs(model(x)[0], x) * mask).sum(1)


# ---- the reward model ---------------------------------------------------------------------------
def scalar_head(n_embd: int) -> nn.Linear:
    """A linear map from features (..., n_embd) to one number, started at zero (reward and value heads)."""
    head = nn.Linear(n_embd, 1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return head


class RewardModel(nn.Module):
    """A copy of the SFT GPT with a linear head on the last token's final features: one score per
    sequence. The language-model head is kept but unused."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = copy.deepcopy(gpt)
        self.head = scalar_head(gpt.config.n_embd)

    def forward(self, x: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """x (B, T), last (B,) -> scores (B,)."""
        h = self.gpt.features(x)                                          # (B, T, C)
        return self.head(h[torch.arange(x.size(0)), last])[:, 0]

    @torch.no_grad()
    def score(self, tok: bpe.Tokenizer, examples: list[sft.Example], answers: list[Answer],
              batch_size: int = 128) -> torch.Tensor:
        """(N,) scores of answers to examples, in eval mode."""
        was = self.training
        self.eval()
        pad_id = tok.special_tokens[sft.END]
        out = []
        for i in range(0, len(examples), batch_size):
            x, _m, last = pad([encode(tok, e, a) for e, a in zip(examples[i:i + batch_size], answers[i:i + batch_size])], pad_id)
            out.append(self(x, last))
        self.train(was)
        return torch.cat(out)


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(r_chosen - r_rejected): the negative log-likelihood of the labels under the
    Bradley-Terry model P(chosen beats rejected) = sigmoid(r_chosen - r_rejected)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def pair_batch(tok: bpe.Tokenizer, pairs: list[Pair]):
    """Chosen and rejected answers of ``pairs`` as two padded batches: ((x, mask, last), (x, mask, last))."""
    pad_id = tok.special_tokens[sft.END]
    return (pad([encode(tok, p.example, p.chosen) for p in pairs], pad_id),
            pad([encode(tok, p.example, p.rejected) for p in pairs], pad_id))


@torch.no_grad()
def pair_accuracy(rm: RewardModel, tok: bpe.Tokenizer, pairs: list[Pair]) -> tuple[float, list[bool]]:
    """(share of pairs where the reward model scores the labelled choice higher, per-pair agreement
    with the gold order: True where it ranks the higher-gold answer first)."""
    chosen = rm.score(tok, [p.example for p in pairs], [p.chosen for p in pairs])
    rejected = rm.score(tok, [p.example for p in pairs], [p.rejected for p in pairs])
    agree_label = (chosen > rejected).tolist()
    return sum(agree_label) / len(pairs), [a != p.flipped for a, p in zip(agree_label, pairs)]


def train_reward_model(rm: RewardModel, tok: bpe.Tokenizer, pairs: list[Pair], cfg: TrainConfig,
                       held_out: list[Pair] | None = None, plot: bool = True) -> History:
    """Train ``rm`` with the Bradley-Terry loss on random batches of ``pairs`` (warmup + cosine
    schedule from ``cfg``); evaluates the held-out pair accuracy every ``cfg.eval_every`` steps."""
    rng = random.Random(cfg.seed)

    def loss_fn(model, batch):
        (xc, _mc, lc), (xr, _mr, lr_) = pair_batch(tok, batch)
        return bradley_terry_loss(model(xc, lc), model(xr, lr_))

    eval_fn = (lambda model: {"held-out accuracy": pair_accuracy(model, tok, held_out)[0]}) if held_out else None
    opt = torch.optim.AdamW(rm.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return fit(rm, opt, lambda _step: rng.sample(pairs, cfg.batch_size), loss_fn, cfg.steps, eval_fn=eval_fn,
               eval_every=cfg.eval_every, clip_grad_norm=cfg.grad_clip,
               lr_schedule=lambda step: lr_schedule(step, cfg), plot=plot, desc="reward model")


# ---- PPO ----------------------------------------------------------------------------------------
class Policy(nn.Module):
    """The language model being tuned plus a **value head**: a linear map from each position's final
    features to the expected reward still to come."""

    def __init__(self, gpt: GPT):
        super().__init__()
        self.gpt = copy.deepcopy(gpt)
        self.value_head = scalar_head(gpt.config.n_embd)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T) -> logits (B, T, V), values (B, T)."""
        h = self.gpt.features(x)
        return self.gpt.lm_head(h), self.value_head(h)[..., 0]


@dataclass
class Rollout:
    """One batch of sampled answers: the examples, the answers as (text, stopped), and the padded
    token batch (x, mask, last) as :func:`pad` builds it."""

    examples: list[sft.Example]
    answers: list[Answer]
    x: torch.Tensor
    mask: torch.Tensor
    last: torch.Tensor


@torch.no_grad()
def rollout(gpt: GPT, tok: bpe.Tokenizer, examples: list[sft.Example], max_new_tokens: int = 16,
            temperature: float = 1.0, generator: torch.Generator | None = None) -> Rollout:
    """Sample one answer per example with the KV cache (prompts of equal length in one batch), up to
    and including its first ``<|end|>``. The batch keeps the sampled token ids (decoding and
    re-encoding the text could give other tokens, whose log-probabilities PPO did not sample)."""
    end = tok.special_tokens[sft.END]
    sampled = sft.generate_answers(gpt, tok, [e.instruction for e in examples], max_new_tokens,
                                   temperature=temperature, generator=generator)
    answers = [(sft.decode_answer(tok, ids), stopped) for ids, stopped in sampled]
    seqs = [(sft.encode_prompt(tok, e.instruction), ids + ([end] if stopped else []))
            for e, (ids, stopped) in zip(examples, sampled)]
    return Rollout(examples, answers, *pad(seqs, end))


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> torch.Tensor:
    """Generalized advantage estimation over the masked positions of each row.

    rewards, values (B, T) and mask (B, T) bool: position t is an action (a generated token) when
    mask[:, t]; rewards[:, t] is the reward for that action, values[:, t] the value before it.
    Returns advantages (B, T), zero outside the mask:
    A_t = delta_t + gamma * lam * A_{t+1}, delta_t = r_t + gamma * V_{t+1} - V_t, with V = 0 after
    the last action.
    """
    if not rewards.shape == values.shape == mask.shape:
        raise ValueError(f"rewards, values and mask must have one shape, got {tuple(rewards.shape)}, "
                         f"{tuple(values.shape)}, {tuple(mask.shape)}")
    m = mask.float()
    adv = torch.zeros_like(rewards)
    running = torch.zeros(rewards.size(0), dtype=rewards.dtype)
    next_value = torch.zeros(rewards.size(0), dtype=rewards.dtype)
    for t in reversed(range(rewards.size(1))):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * m[:, t]
        adv[:, t] = running
        next_value = torch.where(mask[:, t], values[:, t], next_value)
    return adv


def ppo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, values: torch.Tensor,
             returns: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor, clip: float = 0.2,
             vf_coef: float = 0.5, ent_coef: float = 0.01) -> tuple[torch.Tensor, dict]:
    """The PPO objective on masked positions, all tensors (B, T):
    -min(ratio A, clip(ratio, 1-clip, 1+clip) A) + vf_coef (V - returns)^2 / 2 - ent_coef entropy,
    with ratio = exp(logp - old_logp). Returns (loss, stats) with the share of clipped ratios."""
    ratio = (logp - old_logp).exp()
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    policy_loss = -surrogate[mask].mean()
    value_loss = 0.5 * ((values - returns) ** 2)[mask].mean()
    ent = entropy[mask].mean()
    clipped = ((ratio - 1).abs() > clip)[mask].float().mean()
    loss = policy_loss + vf_coef * value_loss - ent_coef * ent
    return loss, {"policy loss": policy_loss.item(), "value loss": value_loss.item(),
                  "entropy": ent.item(), "clipped": clipped.item()}


@dataclass
class PPOConfig:
    """PPO settings. ``kl_coef`` weighs the per-token penalty log pi(a|s) - log pi_ref(a|s)."""

    iters: int = 300
    batch: int = 32
    max_new_tokens: int = 16
    lr: float = 5e-5
    kl_coef: float = 0.05
    gamma: float = 1.0
    lam: float = 0.95
    epochs: int = 2
    clip: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    weight_decay: float = 0.0    # for make_optimizer, as every other run builds its optimizer
    grad_clip: float = 1.0
    seed: int = field(default_factory=run_seed)  # 1337 unless COURSE_SEED is set
    sample_every: int = 50


@dataclass
class PPOHistory:
    """Per iteration: mean reward-model score, mean gold score, KL to the reference (nats per
    answer), loss statistics; ``samples``: iteration -> a few (instruction, answer) pairs;
    ``sequences``: sequences pushed through a network (sampling, three scoring passes, training)."""

    reward: list[float] = field(default_factory=list)
    gold: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    stats: list[dict] = field(default_factory=list)
    samples: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    seconds: float = 0.0
    sequences: int = 0


def ppo_step(policy: Policy, ref: GPT, opt: torch.optim.Optimizer, ro: Rollout, score: torch.Tensor,
             cfg: PPOConfig) -> tuple[dict, torch.Tensor]:
    """Steps 2-6 of a PPO iteration (chapter 08's list) on one rollout (B answers) whose answers
    scored ``score`` (B,).
    Returns the last update's statistics and the per-token log-ratio to ``ref`` (B, T-1)."""
    with torch.no_grad():
        # 2. per-token log-probabilities under the policy (at sampling time) and the reference; 4. values
        logits, values = policy(ro.x)                                   # (B, T, V), (B, T)
        old_logp = token_logprobs(logits, ro.x)                         # (B, T-1): the sampler's view
        ref_logp = token_logprobs(ref(ro.x)[0], ro.x)
        values = values[:, :-1]                                         # value before each action
        # 3. rewards: the KL penalty at every answer token, plus the score at the last one
        log_ratio = (old_logp - ref_logp) * ro.mask
        rewards = -cfg.kl_coef * log_ratio
        rewards[torch.arange(len(ro.x)), ro.last - 1] += score
        # 5. advantages (GAE), normalised over the batch's answer tokens
        adv = gae(rewards, values, ro.mask, cfg.gamma, cfg.lam)
        returns = adv + values
        a = adv[ro.mask]
        adv = (adv - a.mean()) / (a.std() + 1e-8)
    # 6. a few clipped updates on the same rollout (the ratio leaves 1 after the first)
    for _ in range(cfg.epochs):
        logits, v = policy(ro.x)
        logp = token_logprobs(logits, ro.x)
        log_probs = logits[:, :-1].log_softmax(-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1)                # (B, T-1)
        loss, stats = ppo_loss(logp, old_logp, adv, v[:, :-1], returns, entropy, ro.mask,
                               cfg.clip, cfg.vf_coef, cfg.ent_coef)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
        opt.step()
    return stats, log_ratio


def ppo(policy: Policy, ref: GPT, tok: bpe.Tokenizer, prompts: list[sft.Example],
        reward_fn: Callable[[list[sft.Example], list[Answer]], torch.Tensor],
        gold_fn: Callable[[sft.Example, str, bool], float], cfg: PPOConfig, desc: str = "PPO") -> PPOHistory:
    """Tune ``policy`` in place against ``reward_fn`` (N,) with a per-token KL penalty to ``ref``.

    Each iteration, as chapter 08 numbers the steps: 1. the rollouts: pick ``cfg.batch`` prompts (two
    groups, each of one token length, so the KV cache needs no padding), sample an answer to each
    (:func:`rollout`) and score it; 2-6. :func:`ppo_step`. ``gold_fn`` is only logged, never optimised.
    """
    rng = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    by_length: dict[int, list[sft.Example]] = {}
    for e in prompts:
        by_length.setdefault(len(sft.encode_prompt(tok, e.instruction)), []).append(e)
    lengths = [n for n, v in by_length.items() if len(v) >= cfg.batch // 2]
    if not lengths:
        raise ValueError(f"need at least {cfg.batch // 2} prompts of one token length")
    ref.eval()
    opt = make_optimizer(policy, cfg)
    hist = PPOHistory()
    start = time.time()
    for it in progress(range(cfg.iters), desc=desc):
        group = [e for n in rng.choices(lengths, k=2) for e in rng.sample(by_length[n], cfg.batch // 2)]  # 1.
        ro = rollout(policy.gpt, tok, group, cfg.max_new_tokens, generator=gen)                          # 1.
        with torch.no_grad():
            score = reward_fn(ro.examples, ro.answers)
        stats, log_ratio = ppo_step(policy, ref, opt, ro, score, cfg)                                     # 2-6.
        hist.reward.append(score.mean().item())
        hist.gold.append(sum(gold_fn(e, *a) for e, a in zip(ro.examples, ro.answers)) / len(group))
        hist.kl.append(log_ratio.sum(1).mean().item())
        hist.stats.append(stats)
        hist.sequences += len(group) * (4 + cfg.epochs)    # sample, policy, reference, reward model, epochs
        if it % cfg.sample_every == 0 or it == cfg.iters - 1:
            hist.samples[it] = [(e.instruction, a[0]) for e, a in zip(ro.examples[:4], ro.answers[:4])]
    hist.seconds = time.time() - start
    return hist


# ---- DPO ----------------------------------------------------------------------------------------
def dpo_loss(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO on summed answer log-probabilities, all (B,).

    The implicit reward of an answer is beta * (log pi - log pi_ref); the loss is
    -log sigmoid(reward_chosen - reward_rejected), averaged. Returns (loss, reward_chosen, reward_rejected).
    """
    r_c = beta * (pi_chosen - ref_chosen)
    r_r = beta * (pi_rejected - ref_rejected)
    return -F.logsigmoid(r_c - r_r).mean(), r_c.detach(), r_r.detach()


@torch.no_grad()
def kl_per_answer(policy: GPT, ref: GPT, tok: bpe.Tokenizer, examples: list[sft.Example],
                  answers: list[Answer], batch_size: int = 128) -> float:
    """Monte-Carlo KL(policy || ref) in nats per answer: the mean of log pi(y|x) - log pi_ref(y|x)
    over answers y that ``policy`` sampled."""
    pad_id = tok.special_tokens[sft.END]
    total = 0.0
    for i in range(0, len(examples), batch_size):
        x, mask, _ = pad([encode(tok, e, a) for e, a in zip(examples[i:i + batch_size], answers[i:i + batch_size])], pad_id)
        total += (answer_logprob(policy, x, mask) - answer_logprob(ref, x, mask)).sum().item()
    return total / len(examples)


def compare(examples: list[sft.Example], baseline: list[Answer], candidate: list[Answer],
            score: Callable[[sft.Example, str, bool], float]) -> dict:
    """Gold comparison of two answer lists: wins, losses and ties of ``candidate``, and its win rate
    over the decisive comparisons (ties left out)."""
    wins = losses = 0
    for e, a, b in zip(examples, baseline, candidate):
        ga, gb = score(e, *a), score(e, *b)
        wins += gb > ga
        losses += gb < ga
    ties = len(examples) - wins - losses
    return {"wins": wins, "losses": losses, "ties": ties,
            "win rate": wins / (wins + losses) if wins + losses else math.nan}


def dpo(policy: GPT, ref: GPT, tok: bpe.Tokenizer, pairs: list[Pair], cfg: TrainConfig,
        beta: float = 0.1, plot: bool = True) -> tuple[History, float]:
    """Tune ``policy`` in place with :func:`dpo_loss` on random batches of ``pairs``.

    The reference log-probabilities never change, so they are computed once, before training.
    Returns (the training history, seconds spent, reference pass included).
    """
    start = time.time()
    ref.eval()
    ref_lp = {}
    with torch.no_grad():
        for i in range(0, len(pairs), 128):
            chunk = pairs[i:i + 128]
            (xc, mc, _), (xr, mr, _) = pair_batch(tok, chunk)
            for j, (c, r) in enumerate(zip(answer_logprob(ref, xc, mc).tolist(), answer_logprob(ref, xr, mr).tolist())):
                ref_lp[i + j] = (c, r)
    rng = random.Random(cfg.seed)

    def loss_fn(model, idx):
        (xc, mc, _), (xr, mr, _) = pair_batch(tok, [pairs[i] for i in idx])
        rc = torch.tensor([ref_lp[i][0] for i in idx])
        rr = torch.tensor([ref_lp[i][1] for i in idx])
        return dpo_loss(answer_logprob(model, xc, mc), answer_logprob(model, xr, mr), rc, rr, beta)[0]

    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    hist = fit(policy, opt, lambda _step: rng.sample(range(len(pairs)), cfg.batch_size), loss_fn, cfg.steps,
               clip_grad_norm=cfg.grad_clip, lr_schedule=lambda step: lr_schedule(step, cfg),
               plot=plot, desc="DPO")
    return hist, time.time() - start
