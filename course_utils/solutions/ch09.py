"""Chapter 09 exercises: how many singular directions hold a weight change's energy, and absmax int8
quantisation with one scale per block of a row (chapter 10's Q8_0)."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def rank_for_energy(delta_w: torch.Tensor, share: float = 0.9) -> int:
    """delta_w (out, in) -> the smallest r with sum(S[:r]^2) >= share * sum(S^2)."""
    energy = torch.linalg.svdvals(delta_w) ** 2
    cumulative = energy.cumsum(0) / energy.sum()
    return int((cumulative < share - 1e-9).sum().item()) + 1


# Planted mistake: sums the singular values, not their squares.
def _wrong_rank(delta_w, share=0.9):
    S = torch.linalg.svdvals(delta_w)
    return int(((S.cumsum(0) / S.sum()) < share).sum()) + 1


@exercise("09.1", "the rank that holds a share of a change's energy", solution=rank_for_energy,
          wrong=_wrong_rank)
def _check_rank_for_energy(fn) -> None:
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(40, 40, generator=g))
    v, _ = torch.linalg.qr(torch.randn(30, 30, generator=g))
    for values, share in [([3.0, 2.0, 1.0, 0.5], 0.9), ([3.0, 2.0, 1.0, 0.5], 0.99), ([1.0] * 6, 0.5),
                          ([10.0, 1.0, 1.0, 1.0], 0.9), ([2.0, 1.9, 0.1], 0.95)]:
        S = torch.zeros(30)
        S[:len(values)] = torch.tensor(values)
        delta = u[:, :30] @ torch.diag(S) @ v.T                       # known singular values
        got = fn(delta.clone(), share)
        want = rank_for_energy(delta, share)
        require(isinstance(got, int) or (torch.is_tensor(got) and got.numel() == 1),
                "return the rank as an int")
        if int(got) != want and int(got) == int(((torch.tensor(values).cumsum(0) / sum(values)) < share).sum()) + 1:
            require(False, "energy is the sum of the *squared* singular values")
        require(int(got) == want, f"singular values {values}, share {share}: the answer is {want}, got {int(got)}")


def absmax_int8_blocks(w: torch.Tensor, block: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """w (rows, cols) -> (q int8 (rows, cols), scale (rows, cols // block)): each block's largest
    |value| maps to 127."""
    rows, cols = w.shape
    blocks = w.reshape(rows, cols // block, block)
    scale = blocks.abs().amax(dim=2, keepdim=True) / 127                      # (rows, n_blocks, 1)
    q = torch.round(blocks / scale).to(torch.int8).reshape(rows, cols)
    return q, scale[..., 0]


# Planted mistake: one scale per row, as in chapter 09's section, repeated for every block.
def _wrong_absmax_blocks(w, block=32):
    scale = w.abs().amax(dim=1, keepdim=True) / 127
    return torch.round(w / scale).to(torch.int8), scale.expand(w.size(0), w.size(1) // block)


@exercise("09.2", "int8 absmax quantisation, one scale per block", solution=absmax_int8_blocks,
          wrong=_wrong_absmax_blocks)
def _check_absmax_blocks(fn) -> None:
    g = torch.Generator().manual_seed(1)
    w = torch.randn(6, 64, generator=g)
    w[:, 3] *= 40                                                             # one outlier column in the first block
    got = fn(w.clone(), 32)
    require(isinstance(got, tuple) and len(got) == 2, "return a pair (q, scale)")
    q, scale = got
    require(isinstance(q, torch.Tensor) and q.dtype == torch.int8 and q.shape == w.shape,
            f"q must be an int8 tensor of shape {tuple(w.shape)}, got {getattr(q, 'dtype', type(q))}")
    scale = torch.as_tensor(scale, dtype=torch.float32)
    require(scale.numel() == 12, f"one scale per block: 6 rows x 2 blocks = 12 scales, got {scale.numel()}")
    scale = scale.reshape(6, 2)
    per_block = q.reshape(6, 2, 32).abs().amax(dim=2)
    require((per_block == 127).all(), "each block's largest |value| must map to +-127")
    err = (q.float().reshape(6, 2, 32) * scale[..., None] - w.reshape(6, 2, 32)).abs()
    require((err <= scale[..., None] / 2 + 1e-6).all(), "q * scale must be within half a step of w: round to the nearest integer")
