"""Chapter 01 exercises: batch normalisation in training mode, and initialisation scales."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..exercises import exercise, require


def batchnorm_train(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Batch norm of ``x (B, C)`` in training mode: normalise each column with the batch statistics."""
    mean = x.mean(dim=0, keepdim=True)                  # (1, C)
    var = x.var(dim=0, keepdim=True, unbiased=False)    # biased variance, as in the paper and in PyTorch
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


# Planted mistake: unbiased std, eps in the wrong place.
def _wrong_batchnorm(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / (x.std(0) + eps) + beta


@exercise("01.1", "batch normalisation in training mode", solution=batchnorm_train, wrong=_wrong_batchnorm)
def _check_batchnorm(fn) -> None:
    gen = torch.Generator().manual_seed(0)
    for batch, channels in [(32, 5), (7, 3), (128, 20)]:
        x = 3 * torch.randn(batch, channels, generator=gen) + 2
        gamma = torch.rand(channels, generator=gen) + 0.5
        beta = torch.randn(channels, generator=gen)
        got = fn(x, gamma, beta, 1e-5)
        require(torch.is_tensor(got) and got.shape == x.shape, f"return a tensor of shape {tuple(x.shape)}")
        want = F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
        gap = (got - want).abs().max().item()
        require(gap < 1e-4, f"for a ({batch}, {channels}) batch your output differs from F.batch_norm by {gap:.3g} "
                "(normalise each column over the batch with the biased variance, then scale and shift)")


def init_std(fan_in: int, nonlinearity: str) -> float:
    """The weight std that keeps activations at a steady scale: gain / sqrt(fan_in)."""
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5 / 3, "relu": math.sqrt(2.0)}
    return gains[nonlinearity] / math.sqrt(fan_in)


# Planted mistake: forgets the gain.
def _wrong_init_std(fan_in, nonlinearity):
    return 1 / fan_in ** 0.5


@exercise("01.2", "initialisation scale for a layer", solution=init_std, wrong=_wrong_init_std)
def _check_init_std(fn) -> None:
    for fan_in in (10, 48, 200, 1000):
        for nonlinearity in ("linear", "sigmoid", "tanh", "relu"):
            got = fn(fan_in, nonlinearity)
            want = torch.nn.init.calculate_gain(nonlinearity) / math.sqrt(fan_in)
            require(isinstance(got, (int, float)) and abs(got - want) < 1e-9,
                    f"init_std({fan_in}, {nonlinearity!r}) should be {want:.5f}, you gave {got!r}")
