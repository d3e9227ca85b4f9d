"""Chapter 09 exercises: the LoRA forward pass, and int8 absmax quantisation of a weight matrix."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def lora_forward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                 alpha: float) -> torch.Tensor:
    """x (N, in), W (out, in), b (out,), A (r, in), B (out, r) -> (N, out) = x W^T + b + (alpha / r) x A^T B^T."""
    r = A.size(0)
    return x @ W.T + b + (alpha / r) * (x @ A.T) @ B.T


@exercise("09.1", "the LoRA forward pass", solution=lora_forward)
def _check_lora_forward(fn) -> None:
    g = torch.Generator().manual_seed(0)
    for n, d_in, d_out, r, alpha in [(5, 8, 6, 2, 4.0), (3, 16, 16, 4, 4.0), (7, 12, 20, 1, 8.0)]:
        x, W, b = torch.randn(n, d_in, generator=g), torch.randn(d_out, d_in, generator=g), torch.randn(d_out, generator=g)
        A, B = torch.randn(r, d_in, generator=g), torch.randn(d_out, r, generator=g)
        got = fn(x, W, b, A, B, alpha)
        require(isinstance(got, torch.Tensor) and got.shape == (n, d_out),
                f"for x {tuple(x.shape)} and W {tuple(W.shape)}: return a tensor of shape {(n, d_out)}")
        want = lora_forward(x, W, b, A, B, alpha)
        if torch.allclose(got, x @ W.T + b + alpha * (x @ A.T) @ B.T, atol=1e-4) and r > 1:
            require(False, "the update is scaled by alpha / r, not by alpha")
        require(torch.allclose(got, want, atol=1e-4),
                f"for r={r}, alpha={alpha}: max difference {(got - want).abs().max():.3g} from x W^T + b + (alpha/r) x A^T B^T")
    zero = fn(x, W, b, A, torch.zeros_like(B), alpha)
    require(torch.allclose(zero, x @ W.T + b, atol=1e-5), "with B = 0 the output must be the base layer's")


def absmax_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """w (out, in) -> (q, scale): int8 q (out, in) and scale (out, 1), each row's largest |w| mapped to 127."""
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    return torch.round(w / scale).to(torch.int8), scale


@exercise("09.2", "int8 absmax quantisation, one scale per row", solution=absmax_int8)
def _check_absmax(fn) -> None:
    g = torch.Generator().manual_seed(1)
    w = torch.randn(6, 10, generator=g) * torch.tensor([[0.01], [0.1], [1.0], [3.0], [0.5], [20.0]])
    got = fn(w.clone())
    require(isinstance(got, tuple) and len(got) == 2, "return a pair (q, scale)")
    q, scale = got
    require(isinstance(q, torch.Tensor) and q.dtype == torch.int8 and q.shape == w.shape,
            f"q must be an int8 tensor of shape {tuple(w.shape)}, got {getattr(q, 'dtype', type(q))}")
    scale = torch.as_tensor(scale, dtype=torch.float32)
    require(scale.numel() == w.size(0), f"one scale per output row: want {w.size(0)} scales, got {scale.numel()}")
    scale = scale.reshape(-1, 1)
    require((q.abs().amax(dim=1) == 127).all(), "each row's largest |value| must map to +-127 (absmax per row)")
    err = (q.float() * scale - w).abs()
    require((err <= scale / 2 + 1e-6).all(), "q * scale must be within half a step of w: round to the nearest integer")
