"""A byte-level BPE tokenizer: training (naive and incremental), encoding, decoding, save/load.

Text is split into chunks by a regular expression (pre-tokenization, GPT-4 style by default),
each chunk is UTF-8 encoded, and the merges learned in training are applied inside each chunk
in the order they were learned. Token ids 0-255 are the raw bytes; merge ``k`` creates id
``256 + k``; special tokens (``<|endoftext|>``, chat markers) come after the merges.

The format on disk is readable JSON (see :meth:`Tokenizer.save`). :meth:`Tokenizer.to_hf`
builds the same tokenizer in Hugging Face ``tokenizers``, which encodes to identical ids.
:func:`get_tokenizer` returns the course tokenizer that chapters 06-09 use, training it once.
"""
from __future__ import annotations

import codecs
import heapq
import json
from collections import Counter
from pathlib import Path

import regex

from . import artifacts

# GPT-2's pattern: contractions, letters, digits, other symbols, each with an optional leading space.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# GPT-4's (cl100k): case-insensitive contractions, at most 3 digits per chunk, newlines kept apart.
GPT4_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
                r"""|\s*[\r\n]|\s+(?!\S)|\s+""")
ENDOFTEXT = "<|endoftext|>"
FORMAT = "scratch-to-chat-bpe/1"

Pair = tuple[int, int]


def get_pair_counts(ids: list[int], counts: dict | None = None, weight: int = 1) -> dict[Pair, int]:
    """Count adjacent pairs in ``ids`` (overlaps count: [1, 1, 1] has the pair (1, 1) twice).

    Adds ``weight`` per occurrence into ``counts`` when given (so many chunks share one table).
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``new_id``, scanning left to right."""
    out, i, n = [], 0, len(ids)
    first, second = pair
    while i < n:
        if i < n - 1 and ids[i] == first and ids[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _best_pair(counts: dict[Pair, int]) -> Pair:
    """The most frequent pair; ties go to the smallest pair, so every trainer agrees."""
    return min(counts, key=lambda p: (-counts[p], p))


def _check_train_args(text, num_merges) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(num_merges, int) or num_merges < 0:
        raise ValueError(f"num_merges must be a non-negative int, got {num_merges!r}")


def _progress(total: int, show: bool, desc: str):
    from .widgets import progress

    return progress(total=total, disable=not show, desc=desc, unit="merge", mininterval=0.5)


def train_naive(text: str, num_merges: int, pattern: str = GPT4_PATTERN,
                progress: bool = False) -> list[Pair]:
    """BPE the textbook way: after every merge, recount every pair in the whole text.

    Cost per merge is proportional to the text length, so ``num_merges`` merges on ``n`` bytes
    cost about ``num_merges * n`` steps. Returns the merges in the order learned.
    """
    _check_train_args(text, num_merges)
    chunks = [list(c.encode("utf-8")) for c in regex.findall(pattern, text)]
    merges: list[Pair] = []
    with _progress(num_merges, progress, "naive BPE") as bar:
        for k in range(num_merges):
            counts: dict[Pair, int] = {}
            for ids in chunks:
                get_pair_counts(ids, counts)
            if not counts:
                break
            pair = _best_pair(counts)
            chunks = [merge_pair(ids, pair, 256 + k) if len(ids) > 1 else ids for ids in chunks]
            merges.append(pair)
            bar.update()
    return merges


def train(text: str, num_merges: int, pattern: str = GPT4_PATTERN, progress: bool = False) -> list[Pair]:
    """BPE the fast way; learns exactly the merges :func:`train_naive` learns.

    1. Count each distinct chunk once (" the" appears ~20,000 times in the corpus, but is one word
       with a weight).
    2. Count pairs once, remembering which words contain each pair.
    3. For each merge, rewrite only the words that contain the pair and adjust the counts of
       the pairs they lose and gain. A heap finds the most frequent pair; entries whose count
       went stale are refreshed when they reach the top (lazy deletion).
    """
    _check_train_args(text, num_merges)
    word_counts = Counter(regex.findall(pattern, text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    weights = list(word_counts.values())
    counts: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = {}
    for w, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + weights[w]
            where.setdefault(pair, set()).add(w)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    with _progress(num_merges, progress, "incremental BPE") as bar:
        while len(merges) < num_merges and heap:
            neg, pair = heapq.heappop(heap)
            current = counts.get(pair, 0)
            if current <= 0:
                continue
            if -neg != current:  # stale entry: put the true count back and look again
                heapq.heappush(heap, (-current, pair))
                continue
            new_id = 256 + len(merges)
            merges.append(pair)
            touched = set()
            for w in where.pop(pair):
                ids = words[w]
                if len(ids) < 2:
                    continue
                merged = merge_pair(ids, pair, new_id)
                if len(merged) == len(ids):  # this word lost the pair in an earlier merge
                    continue
                weight = weights[w]
                for p in zip(ids, ids[1:]):
                    counts[p] -= weight
                    touched.add(p)
                for p in zip(merged, merged[1:]):
                    counts[p] = counts.get(p, 0) + weight
                    where.setdefault(p, set()).add(w)
                    touched.add(p)
                words[w] = merged
            counts.pop(pair, None)
            for p in touched:
                c = counts.get(p, 0)
                if c > 0 and p != pair:
                    heapq.heappush(heap, (-c, p))
            bar.update()
    return merges


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte, as Hugging Face's ByteLevel uses it.

    Printable Latin-1 bytes stand for themselves; the other 68 (control bytes, space, ...) are
    mapped to the code points 256, 257, ... in byte order, so every byte has a visible character.
    """
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Tokenizer:
    """A byte-level BPE tokenizer.

    ``merges[k] = (a, b)``: ids ``a`` and ``b`` side by side become one token; earlier merges
    are applied first. ``special_tokens`` maps strings such as ``"<|endoftext|>"`` to ids.

    ``vocab=None`` (a tokenizer trained here): ids 0-255 are the raw bytes, merge ``k`` creates
    id ``256 + k`` and special tokens come after the merges. ``vocab`` given (a tokenizer trained
    elsewhere, such as SmolLM2's in chapter 10): ``vocab[i]`` is the bytes of token ``i``, merge
    ``k`` creates the id whose bytes are ``vocab[a] + vocab[b]``, and a special token's id already
    holds its text. A byte with no token of its own is dropped, as Hugging Face's BPE does when
    it has no unknown token.
    """

    def __init__(self, merges: list[Pair], pattern: str = GPT4_PATTERN,
                 special_tokens: dict[str, int] | None = None, vocab: list[bytes] | None = None):
        self.merges = [tuple(map(int, m)) for m in merges]
        self.pattern = pattern
        self._split = regex.compile(pattern)
        self.from_table = vocab is not None
        if vocab is None:
            self.vocab: list[bytes] = [bytes([b]) for b in range(256)]
            for k, (a, b) in enumerate(self.merges):
                if not (0 <= a < 256 + k and 0 <= b < 256 + k):
                    raise ValueError(f"merge {k} = {(a, b)} uses an id that does not exist yet")
                self.vocab.append(self.vocab[a] + self.vocab[b])
        else:
            self.vocab = [bytes(v) for v in vocab]
        index = {v: i for i, v in reversed(list(enumerate(self.vocab)))}   # bytes -> the first id holding them
        self.byte_ids = [index.get(bytes([b])) for b in range(256)]          # None: a byte with no token
        self.ranks: dict[Pair, int] = {}    # pair -> merge priority (lower merges first)
        self.merged: dict[Pair, int] = {}   # pair -> the id it becomes
        for k, (a, b) in enumerate(self.merges):
            if not self.from_table:
                new = 256 + k
            else:
                new = index.get(self.vocab[a] + self.vocab[b]) if max(a, b) < len(self.vocab) and min(a, b) >= 0 else None
            if new is None:
                raise ValueError(f"merge {k} = {(a, b)} makes a token that is not in the vocabulary")
            self.ranks[(a, b)], self.merged[(a, b)] = k, new
        self.special_tokens: dict[str, int] = {}
        for name, idx in (special_tokens or {}).items():
            self._add_special(name, idx)
        self._cache: dict[str, list[int]] = {}

    # ---- vocabulary -------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _add_special(self, name: str, idx: int) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a special token must be a non-empty str, got {name!r}")
        if name in self.special_tokens:
            raise ValueError(f"special token {name!r} exists already (id {self.special_tokens[name]})")
        if self.from_table and 0 <= idx < len(self.vocab) and self.vocab[idx] == name.encode("utf-8"):
            pass                                   # already in the table, at its own id
        elif idx != len(self.vocab):
            raise ValueError(f"special token {name!r} must get the next free id {len(self.vocab)}, not {idx}")
        else:
            self.vocab.append(name.encode("utf-8"))
        self.special_tokens[name] = idx
        self._special_split = regex.compile(
            "(" + "|".join(regex.escape(s) for s in sorted(self.special_tokens, key=len, reverse=True)) + ")")

    def add_special_tokens(self, names: list[str]) -> list[int]:
        """Append special tokens (ids after every existing token); returns their ids."""
        start = self.vocab_size
        for i, name in enumerate(names):
            self._add_special(name, start + i)
        return [self.special_tokens[n] for n in names]

    # ---- encoding ---------------------------------------------------------------------------
    def encode_chunk(self, data: bytes) -> list[int]:
        """Apply the merges to one chunk's bytes: always the earliest-learned pair present first."""
        ids = list(data) if not self.from_table else [self.byte_ids[b] for b in data if self.byte_ids[b] is not None]
        ranks = self.ranks
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, 1 << 62))
            if pair not in ranks:
                break
            ids = merge_pair(ids, pair, self.merged[pair])
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        out: list[int] = []
        cache = self._cache
        for chunk in self._split.findall(text):
            ids = cache.get(chunk)
            if ids is None:
                ids = self.encode_chunk(chunk.encode("utf-8"))
                if len(cache) < 200_000:
                    cache[chunk] = ids
            out.extend(ids)
        return out

    def encode(self, text: str, allowed_special: str | set | frozenset | list | tuple = "none") -> list[int]:
        """Text -> list of token ids.

        ``allowed_special``: ``"none"`` (default) treats special-token strings in ``text`` as plain
        text, so user input can never forge an end-of-text marker; ``"all"`` or a set of names
        turns those strings into their special ids.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"text cannot be UTF-8 encoded: {err.reason} at position {err.start} "
                f"({text[err.start]!r}); lone surrogates are not characters") from None
        if allowed_special == "none":
            allowed = set()
        elif allowed_special == "all":
            allowed = set(self.special_tokens)
        elif isinstance(allowed_special, (set, frozenset, list, tuple)):
            allowed = set(allowed_special)
            unknown = allowed - set(self.special_tokens)
            if unknown:
                raise ValueError(f"unknown special tokens {sorted(unknown)}; known: {sorted(self.special_tokens)}")
        else:
            raise ValueError(f"allowed_special must be 'none', 'all' or a set of names, got {allowed_special!r}")
        if not allowed:
            return self._encode_ordinary(text)
        out: list[int] = []
        for i, part in enumerate(self._special_split.split(text)):
            if i % 2 == 1 and part in allowed:
                out.append(self.special_tokens[part])
            elif i % 2 == 1:  # a special token that is not allowed here: plain text
                out.extend(self._encode_ordinary(part))
            elif part:
                out.extend(self._encode_ordinary(part))
        return out

    # ---- decoding ---------------------------------------------------------------------------
    def _check_ids(self, ids) -> list[int]:
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"decode expects a sequence of ints, got {type(ids).__name__}")
        if hasattr(ids, "tolist"):  # a tensor or an array
            ids = ids.tolist()
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"token ids must be ints, got {i!r} ({type(i).__name__})")
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is out of range: this vocabulary has ids 0..{self.vocab_size - 1}")
        return ids

    def decode_bytes(self, ids: list[int]) -> bytes:
        """Ids -> the exact bytes they stand for."""
        ids = self._check_ids(ids)
        return b"".join(self.vocab[i] for i in ids)

    def decode(self, ids: list[int], errors: str = "replace") -> str:
        """Ids -> text. A cut-off multi-byte character becomes U+FFFD (errors='replace')."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def stream_decoder(self):
        """A function ``feed(id) -> str`` for printing tokens as they are generated.

        It holds back the bytes of an unfinished UTF-8 character until the rest arrives.
        """
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return lambda idx: decoder.decode(self.decode_bytes([idx]))

    def pieces(self, text: str, allowed_special="none") -> list[bytes]:
        """The bytes of each token of ``text`` (for showing where the token boundaries are)."""
        return [self.vocab[i] for i in self.encode(text, allowed_special)]

    # ---- files ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        if self.from_table:
            raise ValueError("a tokenizer with its own vocabulary table is read from its model file, not saved here")
        return {
            "format": FORMAT,
            "pattern": self.pattern,
            "merges": [list(m) for m in self.merges],
            "special_tokens": dict(self.special_tokens),
            # for people reading the file; ignored when loading
            "tokens": {str(256 + k): self.vocab[256 + k].decode("utf-8", errors="backslashreplace")
                       for k in range(len(self.merges))},
        }

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as JSON (atomically). Merges are pairs of ids; 'tokens' is for reading."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        text = regex.sub(r"\[\s+(\d+),\s+(\d+)\s+\]", r"[\1, \2]", text)  # one merge per line
        return artifacts.write_text(path, text)

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file (format={data.get('format')!r})")
        return cls(data["merges"], data["pattern"], data.get("special_tokens"))

    # ---- Hugging Face -----------------------------------------------------------------------
    def to_hf(self, allowed_special: str = "none"):
        """The same tokenizer as a Hugging Face ``tokenizers.Tokenizer`` (same ids, same pieces).

        ``allowed_special`` matches :meth:`encode`: with ``"none"`` (the default, as ours) a
        special-token string inside the text is encoded as ordinary text; with ``"all"`` it becomes
        its special id. Hugging Face's own default is ``"all"``, which lets text typed by a user
        inject ``<|endoftext|>`` or a chat marker; ``tokenizers`` knows no subsets of the specials.
        The setting lives on the object (``encode_special_tokens``): it is not saved by
        ``to_str``/``save``, so a tokenizer read back with ``from_str`` is back to ``"all"``, and a
        ``transformers.PreTrainedTokenizerFast`` wrapped around it needs ``split_special_tokens=True``.
        """
        if allowed_special not in ("none", "all"):
            raise ValueError(f"to_hf: allowed_special must be 'none' or 'all', got {allowed_special!r}")
        from tokenizers import AddedToken, Regex, Tokenizer as HFTokenizer, decoders, models, pre_tokenizers

        char = bytes_to_unicode()

        def show(b: bytes) -> str:
            return "".join(char[x] for x in b)

        vocab, specials = {}, set(self.special_tokens.values())
        for i in range(len(self.vocab)):
            name = self.vocab[i].decode("utf-8") if i in specials else show(self.vocab[i])
            if name in vocab:
                raise ValueError(f"tokens {vocab[name]} and {i} are the same bytes {self.vocab[i]!r}; "
                                 "Hugging Face's BPE needs distinct tokens")
            vocab[name] = i
        merges = [(show(self.vocab[a]), show(self.vocab[b])) for a, b in self.merges]
        hf = HFTokenizer(models.BPE(vocab, merges))
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(self.pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
        hf.decoder = decoders.ByteLevel()
        if self.special_tokens:
            hf.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                   for s in sorted(self.special_tokens, key=self.special_tokens.get)])
        hf.encode_special_tokens = allowed_special == "none"  # True: special strings are plain text
        return hf


def train_hf(text: str, vocab_size: int, pattern: str = GPT4_PATTERN):
    """Train Hugging Face's BPE on ``text`` with the same pre-tokenization (the speed yardstick)."""
    from tokenizers import Regex, Tokenizer as HFTokenizer, models, pre_tokenizers, trainers

    hf = HFTokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, min_frequency=0,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator([text], trainer=trainer)
    return hf


# ---- the course tokenizer (chapters 06-09) ------------------------------------------------------
VOCAB_SIZE = 2048  # 256 bytes + 1791 merges + <|endoftext|>; chapter 05 shows why


def get_tokenizer(vocab_size: int = VOCAB_SIZE, progress: bool = True) -> Tokenizer:
    """The course tokenizer: trained on the Wikipedia text once, then loaded from the cache.

    ``vocab_size`` counts the 256 bytes, the merges and ``<|endoftext|>``. The same tokenizer
    serves FAST and full runs (training takes seconds), so every chapter sees the same ids.
    """
    from . import data

    if not isinstance(vocab_size, int) or vocab_size < 257:
        raise ValueError(f"vocab_size must be an int >= 257 (256 bytes + <|endoftext|>), got {vocab_size!r}")
    config = {"vocab_size": vocab_size, "pattern": GPT4_PATTERN, "text": data.WIKI_FILE, "version": 1}
    path = artifacts.artifact_path("tokenizer", config, per_mode=False).with_suffix(".json")
    if path.exists():
        try:
            return Tokenizer.load(path)
        except (ValueError, KeyError, TypeError) as err:
            import warnings

            warnings.warn(f"{path} cannot be read ({err}); training the tokenizer again.", stacklevel=2)
    merges = train(data.wiki_text(), vocab_size - 257, progress=progress)
    tok = Tokenizer(merges, GPT4_PATTERN, {ENDOFTEXT: 256 + len(merges)})
    tok.save(path)
    return tok
