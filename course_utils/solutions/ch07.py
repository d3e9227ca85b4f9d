"""Chapter 07 exercises: targets with the prompt masked, and right-padding a batch."""
from __future__ import annotations

import torch

from ..exercises import exercise, require


def masked_targets(ids: list[int], prompt_len: int) -> list[int]:
    """Targets for inputs ids[:-1]: the next token, or -100 where that token is still the prompt."""
    return [-100 if t < prompt_len else ids[t] for t in range(1, len(ids))]


@exercise("07.1", "targets with the prompt masked", solution=masked_targets)
def _check_masked_targets(fn) -> None:
    cases = [([5, 6, 7, 8, 9], 2), ([1, 2, 3], 1), ([4, 4, 4, 4], 3), ([10, 11, 12, 13, 14, 15], 4)]
    for ids, prompt_len in cases:
        want = masked_targets(ids, prompt_len)
        got = fn(list(ids), prompt_len)
        require(isinstance(got, list) and len(got) == len(ids) - 1,
                f"for ids {ids}: return a list of {len(ids) - 1} targets (one per input ids[:-1])")
        hint = ("the first answer token must stay a target: it is predicted from the last prompt token"
                if got[:prompt_len - 1] == want[:prompt_len - 1] and got != want else
                "target t is the token that follows input t, and -100 while that token is in the prompt")
        require(got == want, f"for ids {ids} with a {prompt_len}-token prompt: want {want}, got {got}; {hint}")


def pad_right(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, mask): x (B, L) with each row padded by pad_id to the longest length; mask (B, L) True on real tokens."""
    L = max(len(s) for s in seqs)
    x = torch.tensor([s + [pad_id] * (L - len(s)) for s in seqs], dtype=torch.long)
    mask = torch.tensor([[True] * len(s) + [False] * (L - len(s)) for s in seqs])
    return x, mask


@exercise("07.2", "right padding with a mask", solution=pad_right)
def _check_pad_right(fn) -> None:
    for seqs, pad in [([[1, 2, 3], [4]], 0), ([[7], [8], [9]], 2050), ([[5, 6], [1, 2, 3, 4], []], 9)]:
        want_x, want_mask = pad_right(seqs, pad)
        got = fn([list(s) for s in seqs], pad)
        require(isinstance(got, tuple) and len(got) == 2, "return a pair (x, mask)")
        x, mask = got
        require(torch.is_tensor(x) and x.shape == want_x.shape,
                f"for {seqs}: x must be a tensor of shape {tuple(want_x.shape)}")
        require(torch.equal(x.long(), want_x), f"for {seqs} padded with {pad}: want x = {want_x.tolist()}, "
                f"got {x.tolist()} (pads go after the real tokens)")
        require(torch.is_tensor(mask) and mask.dtype == torch.bool and torch.equal(mask, want_mask),
                f"for {seqs}: the mask must be a bool tensor {want_mask.tolist()} (True on real tokens)")
