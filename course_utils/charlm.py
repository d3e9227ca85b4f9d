"""Character-level language-model data from the English word list (chapters 01 and 03).

Every word becomes a sequence of characters ending with the marker ``.``; a model reads the
``block_size`` previous characters (padded with ``.`` at the start of a word) and predicts the
next one. The vocabulary is ``.`` plus the 26 letters, so a model that knows nothing scores
``ln(27) = 3.296`` nats per character.

>>> X, Y = build_examples(["abc"], block_size=3)
>>> X.tolist(), Y.tolist()   # contexts -> next character (ids: . = 0, a = 1, ...)
([[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]], [1, 2, 3, 0])
"""
from __future__ import annotations

import math
import random
import string

import torch

END = "."
CHARS = END + string.ascii_lowercase
STOI = {c: i for i, c in enumerate(CHARS)}
ITOS = dict(enumerate(CHARS))
VOCAB_SIZE = len(CHARS)  # 27


def split_words(words: list[str], seed: int = 42, fractions=(0.8, 0.1, 0.1)) -> tuple[list, list, list]:
    """Shuffle ``words`` with ``seed`` and cut them into train / validation / test lists."""
    if not words or not all(isinstance(w, str) for w in words):
        raise TypeError("words must be a non-empty list of strings")
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be three non-negative numbers that sum to 1, got {fractions}")
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n1 = int(fractions[0] * len(shuffled))
    n2 = n1 + int(fractions[1] * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


def encode(word: str) -> list[int]:
    """Character ids of ``word`` (lowercase a-z only)."""
    try:
        return [STOI[c] for c in word]
    except KeyError as err:
        raise ValueError(f"{word!r} has a character outside a-z: {err.args[0]!r}") from None


def build_examples(words: list[str], block_size: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """All (context, next character) pairs: ``X (N, block_size) int64``, ``Y (N,) int64``."""
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    xs, ys = [], []
    for word in words:
        context = [0] * block_size
        for idx in encode(word) + [0]:
            xs.append(context)
            ys.append(idx)
            context = context[1:] + [idx]
    return torch.tensor(xs, dtype=torch.long).view(-1, block_size), torch.tensor(ys, dtype=torch.long)


def bigram_counts(words: list[str], smoothing: float = 1.0) -> torch.Tensor:
    """Probabilities ``P (27, 27)``: row = current character, column = next, add-``smoothing`` counts."""
    counts = torch.full((VOCAB_SIZE, VOCAB_SIZE), float(smoothing))
    for word in words:
        ids = [0] + encode(word) + [0]
        for a, b in zip(ids, ids[1:]):
            counts[a, b] += 1
    return counts / counts.sum(dim=1, keepdim=True)


def bigram_nll(probs: torch.Tensor, words: list[str]) -> float:
    """Average negative log-likelihood (nats per character) of ``words`` under a bigram table."""
    total, n = 0.0, 0
    for word in words:
        ids = [0] + encode(word) + [0]
        for a, b in zip(ids, ids[1:]):
            total -= math.log(probs[a, b].item())
            n += 1
    return total / n
