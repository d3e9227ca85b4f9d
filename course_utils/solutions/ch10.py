"""Chapter 10 exercises: RMSNorm, one rotary-position step, and GRPO's group-relative advantages."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x (..., C), weight (C,) -> x / sqrt(mean(x^2) + eps) * weight."""
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


# Planted mistake: LayerNorm, which subtracts the mean.
def _wrong_rms_norm(x, weight, eps=1e-5):
    return torch.nn.functional.layer_norm(x, (x.size(-1),)) * weight


@exercise("10.1", "RMSNorm", solution=rms_norm, wrong=_wrong_rms_norm)
def _check_rms_norm(fn) -> None:
    g = torch.Generator().manual_seed(0)
    for shape in [(4, 8), (2, 3, 16)]:
        x = torch.randn(*shape, generator=g) * 3 + 2          # an offset: RMSNorm must not remove it
        w = torch.rand(shape[-1], generator=g) + 0.5
        got = fn(x.clone(), w, 1e-5)
        require(isinstance(got, torch.Tensor) and got.shape == x.shape, f"return a tensor of shape {tuple(x.shape)}")
        if torch.allclose(got, torch.nn.functional.layer_norm(x, (shape[-1],)) * w, atol=1e-4):
            require(False, "that is LayerNorm: RMSNorm does not subtract the mean")
        want = rms_norm(x, w, 1e-5)
        require(torch.allclose(got, want, atol=1e-4),
                f"max difference {(got - want).abs().max():.3g} from x / sqrt(mean(x^2) + eps) * weight")
    tiny = fn(torch.zeros(2, 4), torch.ones(4), 1e-5)
    require(torch.isfinite(tiny).all(), "a zero vector must stay finite: eps goes inside the square root")


def rope_one(x: torch.Tensor, p: int, base: float = 10000.0) -> torch.Tensor:
    """x (size,), position p -> x with pair (x[i], x[i + size/2]) turned by p * base^(-2i/size)."""
    h = x.numel() // 2
    angle = p * base ** (-2 * torch.arange(h, dtype=torch.float32) / x.numel())
    x1, x2 = x[:h], x[h:]
    return torch.cat([x1 * angle.cos() - x2 * angle.sin(), x1 * angle.sin() + x2 * angle.cos()])


# Planted mistake: pairs (0, 1), (2, 3): llama.cpp's layout, not (i, i + size/2).
def _wrong_rope(x, p, base=10000.0):
    h = x.numel() // 2
    angle = p * base ** (-2 * torch.arange(h, dtype=torch.float32) / x.numel())
    x1, x2 = x[0::2], x[1::2]
    out = torch.empty_like(x)
    out[0::2], out[1::2] = x1 * angle.cos() - x2 * angle.sin(), x1 * angle.sin() + x2 * angle.cos()
    return out


@exercise("10.2", "one rotary position step", solution=rope_one, wrong=_wrong_rope)
def _check_rope_one(fn) -> None:
    g = torch.Generator().manual_seed(1)
    for size, p in [(8, 0), (8, 3), (16, 100), (64, 7)]:
        x = torch.randn(size, generator=g)
        got = fn(x.clone(), p, 10000.0)
        require(isinstance(got, torch.Tensor) and got.shape == x.shape, f"return a tensor of shape {(size,)}")
        require(torch.allclose(got.norm(), x.norm(), atol=1e-4), "a rotation keeps the vector's length")
        want = rope_one(x, p)
        require(torch.allclose(got, want, atol=1e-4),
                f"size {size}, position {p}: max difference {(got - want).abs().max():.3g}; pair i is (x[i], x[i + size/2])")
    q, k = torch.randn(16, generator=g), torch.randn(16, generator=g)
    require(torch.allclose(fn(q, 9) @ fn(k, 4), fn(q, 105) @ fn(k, 100), atol=1e-3),
            "the score of a query at m and a key at n must depend on m - n only")


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """rewards (P, G) -> (rewards - mean over the group) / (std over the group + eps)."""
    return (rewards - rewards.mean(dim=1, keepdim=True)) / (rewards.std(dim=1, keepdim=True) + eps)


# Planted mistake: normalised over the batch, not per group.
def _wrong_advantages(rewards, eps=1e-4):
    return (rewards - rewards.mean()) / (rewards.std() + eps)


@exercise("10.3", "GRPO's group-relative advantages", solution=group_advantages, wrong=_wrong_advantages)
def _check_group_advantages(fn) -> None:
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [0.3, 0.9, 0.1, 0.5]])
    got = fn(rewards.clone(), 1e-4)
    require(isinstance(got, torch.Tensor) and got.shape == rewards.shape, f"return a tensor of shape {tuple(rewards.shape)}")
    require(torch.isfinite(got).all() and torch.allclose(got[1], torch.zeros(4)),
            "a group whose answers all scored the same has advantage 0 (and no division by zero)")
    if torch.allclose(got, (rewards - rewards.mean()) / (rewards.std() + 1e-4), atol=1e-4):
        require(False, "normalise within each group (each row), not over the whole batch")
    want = group_advantages(rewards)
    require(torch.allclose(got, want, atol=1e-4), f"max difference {(got - want).abs().max():.3g} from (r - mean) / (std + eps) per row")
