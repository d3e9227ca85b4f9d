"""Chapter 08 exercises: the win rate of a comparison, PPO's per-token rewards, and the entropy of
next-token distributions."""
from __future__ import annotations

import math

import torch

from ..exercises import exercise, require


def win_rate(baseline_scores: list[float], candidate_scores: list[float]) -> tuple[int, int, int, float]:
    """(wins, losses, ties, wins / (wins + losses)) of the candidate; nan without decisive comparisons."""
    wins = sum(c > b for b, c in zip(baseline_scores, candidate_scores))
    losses = sum(c < b for b, c in zip(baseline_scores, candidate_scores))
    ties = len(baseline_scores) - wins - losses
    return wins, losses, ties, wins / (wins + losses) if wins + losses else math.nan


# Planted mistake: ties counted as non-wins.
def _wrong_win_rate(baseline_scores, candidate_scores):
    wins = sum(c > b for b, c in zip(baseline_scores, candidate_scores))
    losses = sum(c < b for b, c in zip(baseline_scores, candidate_scores))
    ties = len(baseline_scores) - wins - losses
    return wins, losses, ties, wins / len(baseline_scores)


@exercise("08.1", "a win rate with ties left out", solution=win_rate, wrong=_wrong_win_rate)
def _check_win_rate(fn) -> None:
    for base, cand in [([0.0, 1.0, 0.5, 0.2], [1.0, 1.0, 0.1, 0.3]), ([1.0] * 3, [1.0] * 3),
                       ([0.0, 0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 1.0, 0.0, 2.0])]:
        got = fn(list(base), list(cand))
        want = win_rate(base, cand)
        require(isinstance(got, tuple) and len(got) == 4, "return (wins, losses, ties, win rate)")
        require(tuple(int(v) for v in got[:3]) == want[:3],
                f"baseline {base}, candidate {cand}: want wins, losses, ties = {want[:3]}, got {tuple(got[:3])}")
        if math.isnan(want[3]):
            require(math.isnan(float(got[3])), "with only ties there is no win rate: return nan")
        else:
            hint = " (ties are left out of the rate)" if abs(float(got[3]) - want[0] / len(base)) < 1e-9 else ""
            require(abs(float(got[3]) - want[3]) < 1e-9, f"win rate: want {want[3]:.3f}, got {float(got[3]):.3f}{hint}")


def token_rewards(log_ratio: torch.Tensor, last: torch.Tensor, score: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """-kl_coef * log_ratio (B, T), with score (B,) added at each row's position ``last``."""
    rewards = -kl_coef * log_ratio
    rewards[torch.arange(len(score)), last] += score
    return rewards


# Planted mistake: the score goes in the last column, not at each answer's last token.
def _wrong_token_rewards(log_ratio, last, score, kl_coef):
    rewards = -kl_coef * log_ratio
    rewards[:, -1] += score
    return rewards


@exercise("08.2", "PPO's per-token rewards", solution=token_rewards, wrong=_wrong_token_rewards)
def _check_token_rewards(fn) -> None:
    g = torch.Generator().manual_seed(0)
    log_ratio = torch.randn(3, 6, generator=g) * torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0], [1] * 6])
    last, score = torch.tensor([2, 4, 5]), torch.tensor([1.5, -0.5, 2.0])
    got = fn(log_ratio.clone(), last.clone(), score.clone(), 0.05)
    want = token_rewards(log_ratio, last, score, 0.05)
    require(torch.is_tensor(got) and got.shape == log_ratio.shape, f"return a tensor of shape {tuple(log_ratio.shape)}")
    require(not torch.allclose(got, want - 2 * (-0.05 * log_ratio)), "the penalty is -kl_coef * log_ratio (minus: moving away costs)")
    require(torch.allclose(got, want, atol=1e-6), f"max difference {(got - want).abs().max():.3g}: the score goes at "
            "each row's last position only, on top of the penalty there")


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """logits (B, T, V) -> -sum p log p (B, T), with log p from log_softmax (no log of 0)."""
    log_p = logits.log_softmax(-1)
    return -(log_p.exp() * log_p).sum(-1)


# Planted mistake: log(softmax); the log of an underflowed 0 is -inf, and 0 * -inf is nan.
def _wrong_entropy(logits):
    p = logits.softmax(-1)
    return -(p * p.log()).sum(-1)


@exercise("08.3", "the entropy of next-token distributions", solution=entropy_from_logits,
          wrong=_wrong_entropy)
def _check_entropy(fn) -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 3, 11, generator=g) * 3
    logits[0, 0, 0] = 200.0                                   # one token certain: the others underflow to 0
    got = fn(logits.clone())
    want = entropy_from_logits(logits)
    require(torch.is_tensor(got) and got.shape == (2, 3), "return a tensor of shape (B, T)")
    require(torch.isfinite(got).all(), "some probabilities underflow to 0 here: use log_softmax, not log(softmax)")
    require(torch.allclose(got, want, atol=1e-5), f"max difference {(got - want).abs().max():.3g} from -sum p log p")
    uniform = fn(torch.zeros(1, 1, 8))
    require(abs(float(uniform.flatten()[0]) - math.log(8)) < 1e-5, "a uniform distribution over 8 tokens has entropy log 8")
