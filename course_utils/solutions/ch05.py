"""Chapter 05 exercises: pair counts over weighted chunks, the vocabulary from the merges, and
the longest prefix of bytes that ends on a whole UTF-8 character."""
from __future__ import annotations

import random

from ..bpe import get_pair_counts
from ..exercises import exercise, require


def weighted_pair_counts(chunk_counts: dict[tuple[int, ...], int]) -> dict[tuple[int, int], int]:
    """{chunk ids: how often the chunk occurs} -> {adjacent pair: occurrences in the whole text}."""
    counts: dict[tuple[int, int], int] = {}
    for ids, n in chunk_counts.items():
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + n
    return counts


# Planted mistake: forgets how often the chunk occurs.
def _wrong_pair_counts(chunk_counts):
    counts = {}
    for ids in chunk_counts:
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


@exercise("05.1", "pair counts from weighted chunks", solution=weighted_pair_counts, wrong=_wrong_pair_counts)
def _check_weighted_pair_counts(fn) -> None:
    rng = random.Random(0)
    cases = [{(97, 97, 97): 2, (97, 98): 5}, {(1,): 7}, {}]
    cases += [{tuple(rng.randrange(4) for _ in range(rng.randrange(1, 7))): rng.randrange(1, 9)
               for _ in range(30)} for _ in range(5)]
    for chunk_counts in cases:
        want: dict = {}
        for ids, n in chunk_counts.items():
            get_pair_counts(list(ids), want, weight=n)
        got = fn(dict(chunk_counts))
        require(isinstance(got, dict), f"return a dict of pair -> count, got {type(got).__name__}")
        got = {k: v for k, v in got.items() if v}
        require(got == want, f"for {chunk_counts} expected {want}, got {got} "
                "(each pair inside a chunk counts once per occurrence of the chunk)")


def vocab_from_merges(merges: list[tuple[int, int]]) -> list[bytes]:
    """The bytes of every token: ids 0-255 are single bytes, merge k makes id 256 + k."""
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    return vocab


# Planted mistake: parts in the wrong order.
def _wrong_vocab(merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[b] + vocab[a])
    return vocab


@exercise("05.2", "the vocabulary from the merges", solution=vocab_from_merges, wrong=_wrong_vocab)
def _check_vocab_from_merges(fn) -> None:
    from ..bpe import train

    merges = train("the cat sat on the mat; the hat is flat. " * 3, 25)
    want = vocab_from_merges(merges)
    got = fn(list(merges))
    require(isinstance(got, list) and len(got) == len(want),
            f"return a list of {len(want)} bytes objects (256 bytes + {len(merges)} merges)")
    require(all(isinstance(b, bytes) for b in got), "every entry must be a bytes object, e.g. bytes([97])")
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    require(not bad, f"token {bad[0] if bad else 0} should be {want[bad[0]] if bad else b''!r}, "
            f"got {got[bad[0]] if bad else b''!r} (a merged token is the bytes of its two parts, in order)")


def complete_prefix(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that ends on a whole UTF-8 character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:                       # ASCII: a whole character by itself
            return len(data) if back == 1 else len(data) - back + 1
        if byte >= 0xC0:                      # the lead byte of a multi-byte character
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if need == back else len(data) - back
    return len(data)


# Planted mistake: drops one byte, not the whole character.
def _wrong_complete_prefix(data):
    return len(data) - 1 if data and data[-1] >= 0x80 else len(data)


@exercise("05.3", "a safe place to cut a byte stream", solution=complete_prefix, wrong=_wrong_complete_prefix)
def _check_complete_prefix(fn) -> None:
    text = "aé你🙂b" * 3 + "naïve 中文 👍🏽!"
    data = text.encode("utf-8")
    for cut in range(len(data) + 1):
        part = data[:cut]
        want = max(k for k in range(cut + 1) if _decodes(part[:k]))
        got = fn(part)
        require(isinstance(got, int), f"return an int, got {type(got).__name__}")
        require(got == want, f"for {part[-6:]!r} (the last bytes of a {cut}-byte prefix) the answer is "
                f"{want}, got {got}: continuation bytes look like 10xxxxxx, a lead byte says how many follow")

    require(fn(b"") == 0, "an empty input has an empty prefix: 0")


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
