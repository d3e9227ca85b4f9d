"""Chapter 04 exercises: skip-gram pairs of one sentence, and word2vec's subsampling probability."""
from __future__ import annotations

import math
from collections import Counter

from ..exercises import exercise, require


def pairs(tokens: list[str], window: int) -> list[tuple[str, str]]:
    """(centre, context) for every word and each neighbour up to ``window`` positions away."""
    out = []
    for i, centre in enumerate(tokens):
        for j in range(max(0, i - window), min(len(tokens), i + window + 1)):
            if j != i:
                out.append((centre, tokens[j]))
    return out


# Planted mistake: right side only.
def _wrong_pairs(tokens, window):
    return [(c, tokens[j]) for i, c in enumerate(tokens)
            for j in range(i + 1, min(len(tokens), i + window + 1))]


@exercise("04.1", "skip-gram pairs of a sentence", solution=pairs, wrong=_wrong_pairs)
def _check_pairs(fn) -> None:
    cases = [("the city is the capital of the region".split(), 2), ("a b c".split(), 1),
             ("one".split(), 3), ("x y z w".split(), 5), ([], 2)]
    for tokens, window in cases:
        want = Counter(pairs(tokens, window))
        got = fn(list(tokens), window)
        require(isinstance(got, list), f"return a list of (centre, context) tuples, got {type(got).__name__}")
        got = Counter(tuple(p) for p in got)
        require(got == want, f"for {tokens} with window {window}: expected {sum(want.values())} pairs such as "
                f"{sorted(want)[:3]}, got {sum(got.values())}: missing {sorted(want - got)[:3]}, "
                f"extra {sorted(got - want)[:3]}")


def keep_probability(count: int, total: int, sample: float) -> float:
    """Probability that one occurrence of a word seen ``count`` times among ``total`` is kept."""
    f = count / total
    return min(1.0, (math.sqrt(f / sample) + 1) * sample / f)


# Planted mistake: not capped at 1.
def _wrong_keep_probability(count, total, sample):
    f = count / total
    return (math.sqrt(f / sample) + 1) * sample / f


@exercise("04.2", "the subsampling probability", solution=keep_probability, wrong=_wrong_keep_probability)
def _check_keep_probability(fn) -> None:
    for count, total, sample in [(20_000, 445_000, 1e-3), (500, 445_000, 1e-3), (3, 445_000, 1e-3),
                                 (1_000, 10_000, 1e-2), (5, 100, 1e-4)]:
        want = keep_probability(count, total, sample)
        got = fn(count, total, sample)
        require(isinstance(got, (int, float)), f"return a number, got {type(got).__name__}")
        require(abs(got - want) < 1e-9, f"for count {count}, total {total}, sample {sample}: expected "
                f"{want:.4f}, got {got:.4f} (rare words are always kept: cap at 1)")
