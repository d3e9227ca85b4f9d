"""Chapter 08 exercises: the Bradley-Terry loss, generalized advantage estimation, the DPO loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..exercises import exercise, require


def bradley_terry(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """(N,), (N,) -> scalar: mean of -log sigmoid(r_chosen - r_rejected)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


@exercise("08.1", "the Bradley-Terry loss of a reward model", solution=bradley_terry)
def _check_bradley_terry(fn) -> None:
    g = torch.Generator().manual_seed(0)
    for n, scale in [(5, 1.0), (64, 10.0), (3, 40.0)]:
        rc, rr = scale * torch.randn(n, generator=g), scale * torch.randn(n, generator=g)
        got = fn(rc.clone(), rr.clone())
        require(isinstance(got, torch.Tensor) and got.dim() == 0, "return a scalar tensor (the mean over pairs)")
        want = bradley_terry(rc, rr)
        if torch.allclose(got, bradley_terry(rr, rc), atol=1e-5) and not torch.allclose(want, bradley_terry(rr, rc), atol=1e-5):
            require(False, "chosen and rejected are swapped: the loss must fall as r_chosen - r_rejected grows")
        require(torch.allclose(got, want, atol=1e-4), f"for {n} pairs: got {got.item():.4f}, want {want.item():.4f}")
    require(abs(fn(torch.zeros(4), torch.zeros(4)).item() - 0.6931) < 1e-3, "equal scores must give log 2 = 0.693")
    far = fn(torch.tensor([0.0, -150.0]), torch.tensor([0.0, 0.0]))
    require(torch.isfinite(far) and abs(far.item() - (0.6931 + 150) / 2) < 1e-2,
            "a pair ranked wrong by 150 must cost 150 nats, not inf: use F.logsigmoid, not log(sigmoid(...))")


def gae_one(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """rewards (T,), values (T,) of one answer -> advantages (T,), with V = 0 after the last token."""
    adv = torch.zeros_like(rewards)
    running, next_value = 0.0, 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        adv[t] = running
        next_value = values[t]
    return adv


@exercise("08.2", "generalized advantage estimation for one answer", solution=gae_one)
def _check_gae(fn) -> None:
    g = torch.Generator().manual_seed(1)
    for T, gamma, lam in [(1, 1.0, 0.95), (5, 1.0, 0.95), (8, 0.9, 0.8), (6, 1.0, 0.0), (6, 1.0, 1.0)]:
        r, v = torch.randn(T, generator=g), torch.randn(T, generator=g)
        got = fn(r.clone(), v.clone(), gamma, lam)
        require(isinstance(got, torch.Tensor) and got.shape == (T,), f"return a tensor of shape ({T},)")
        want = gae_one(r, v, gamma, lam)
        if T > 1 and lam == 0.0:
            require(torch.allclose(got, want, atol=1e-5),
                    "with lam = 0 the advantage is the one-step error r_t + gamma V_{t+1} - V_t")
        require(torch.allclose(got, want, atol=1e-5),
                f"T={T}, gamma={gamma}, lam={lam}: got {[round(x, 3) for x in got.tolist()]}, "
                f"want {[round(x, 3) for x in want.tolist()]} (is V = 0 after the last token?)")


def dpo(pi_chosen: torch.Tensor, pi_rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
        beta: float) -> torch.Tensor:
    """Summed answer log-probs (N,) under the policy and the reference -> the mean DPO loss."""
    return -F.logsigmoid(beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected))).mean()


@exercise("08.3", "the DPO loss", solution=dpo)
def _check_dpo(fn) -> None:
    g = torch.Generator().manual_seed(2)
    for n, beta in [(4, 0.1), (16, 0.5), (3, 2.0)]:
        args = [-20 * torch.rand(n, generator=g) for _ in range(4)]
        got = fn(*[a.clone() for a in args], beta)
        require(isinstance(got, torch.Tensor) and got.dim() == 0, "return a scalar tensor (the mean over pairs)")
        want = dpo(*args, beta)
        require(torch.allclose(got, want, atol=1e-4),
                f"beta={beta}: got {got.item():.4f}, want {want.item():.4f}; the implicit reward of an answer is "
                "beta * (log pi - log pi_ref)")
    same = torch.tensor([-3.0, -7.0])
    require(abs(fn(same, same - 1, same, same - 1, 0.1).item() - 0.6931) < 1e-3,
            "a policy equal to the reference must give log 2, whatever the log-probabilities are")
