"""Chapter 07 exercises: left padding with a mask, and the position ids a left-padded row needs."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def pad_left(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, mask): x (B, L) with each row's tokens at the end, pad_id before them; mask True on real tokens."""
    L = max(len(s) for s in seqs)
    x = torch.tensor([[pad_id] * (L - len(s)) + s for s in seqs], dtype=torch.long)
    mask = torch.tensor([[False] * (L - len(s)) + [True] * len(s) for s in seqs])
    return x, mask


# Planted mistake: right padding, the pads go after the tokens.
def _wrong_pad(seqs, pad_id):
    L = max(len(s) for s in seqs)
    x = torch.tensor([s + [pad_id] * (L - len(s)) for s in seqs], dtype=torch.long)
    return x, torch.tensor([[True] * len(s) + [False] * (L - len(s)) for s in seqs])


@exercise("07.1", "left padding with a mask", solution=pad_left, wrong=_wrong_pad)
def _check_pad_left(fn) -> None:
    for seqs, pad in [([[1, 2, 3], [4]], 0), ([[7], [8], [9]], 2050), ([[5, 6], [1, 2, 3, 4], []], 9)]:
        want_x, want_mask = pad_left(seqs, pad)
        got = fn([list(s) for s in seqs], pad)
        require(isinstance(got, tuple) and len(got) == 2, "return a pair (x, mask)")
        x, mask = got
        require(torch.is_tensor(x) and x.shape == want_x.shape,
                f"for {seqs}: x must be a tensor of shape {tuple(want_x.shape)}")
        hint = " (that is right padding: the pads go *before* the tokens)" if torch.equal(
            x.long(), torch.tensor([s + [pad] * (want_x.size(1) - len(s)) for s in seqs])) else ""
        require(torch.equal(x.long(), want_x), f"for {seqs} padded with {pad}: want x = {want_x.tolist()}, "
                f"got {x.tolist()}{hint}")
        require(torch.is_tensor(mask) and mask.dtype == torch.bool and torch.equal(mask, want_mask),
                f"for {seqs}: the mask must be a bool tensor {want_mask.tolist()} (True on real tokens)")


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """mask (B, L) bool, True on real tokens -> position ids (B, L): 0 at the first real token, 0 on pads."""
    return (mask.long().cumsum(dim=1) - 1).clamp(min=0)


# Planted mistake: positions of the padded row, not of the tokens.
def _wrong_positions(mask):
    return torch.arange(mask.size(1)).expand_as(mask)


@exercise("07.2", "position ids for left-padded rows", solution=positions_from_mask, wrong=_wrong_positions)
def _check_positions(fn) -> None:
    for rows in ([[False, False, True, True, True], [True, True, True, True, True]],
                 [[False, True], [False, False]], [[False, False, False, True]]):
        mask = torch.tensor(rows)
        want = positions_from_mask(mask)
        got = fn(mask.clone())
        require(torch.is_tensor(got) and got.shape == mask.shape, f"return a tensor of shape {tuple(mask.shape)}")
        if torch.equal(got.long(), torch.arange(mask.size(1)).expand_as(mask)):
            require(False, "those are the positions of the padded row; count from each row's first real token")
        require(torch.equal(got.long(), want), f"for mask {rows}: want {want.tolist()}, got {got.tolist()}")
