"""The byte-level BPE tokenizer: training agrees with the naive algorithm, round trips, errors,
the JSON file, and identical ids from the Hugging Face export."""
import functools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils import artifacts, bpe, data

# <|end|> is a prefix of <|endoftext|>: the longest special must win where both match.
SPECIALS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"]


@functools.lru_cache(maxsize=None)
def _sample_text() -> str:
    return data.wiki_text()[:60_000] + "\n你好，世界！ Emoji: 🙂👍🏽 naïve café 12345678 DON'T\r\n\tx"


@pytest.fixture(scope="module")
def tok(make_bpe_tokenizer) -> bpe.Tokenizer:
    """300 merges of the sample text, then SPECIALS: vocab 256 + 300 + 4 = 560. Tests must not add to it."""
    return make_bpe_tokenizer(_sample_text(), 300, specials=SPECIALS)


def test_worked_example():
    ids = list(b"aaabdaaabac")
    counts = bpe.get_pair_counts(ids)
    assert counts[(97, 97)] == 4 and counts[(97, 98)] == 2
    assert bpe.merge_pair(ids, (97, 97), 256) == [256, 97, 98, 100, 256, 97, 98, 97, 99]
    assert bpe.merge_pair([1, 1, 1], (1, 1), 9) == [9, 1]  # left to right, no overlap
    assert bpe.train_naive("aaabdaaabac", 3, pattern=r".+") == [(97, 97), (97, 98), (256, 257)]


def test_incremental_equals_naive_on_real_text():
    text = data.wiki_text()[:20_000]
    assert bpe.train(text, 120) == bpe.train_naive(text, 120)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="ab c.\n", max_size=80), st.integers(0, 12))
def test_incremental_equals_naive_on_random_text(text, n):
    assert bpe.train(text, n) == bpe.train_naive(text, n)


def test_training_stops_when_nothing_is_left_to_merge():
    assert bpe.train("ab", 5) == bpe.train_naive("ab", 5) == [(97, 98)]
    assert bpe.train("", 5) == []


def test_bad_training_arguments():
    with pytest.raises(TypeError, match="str"):
        bpe.train(b"bytes", 3)
    with pytest.raises(ValueError, match="non-negative"):
        bpe.train_naive("abc", -1)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_round_trip_arbitrary_unicode(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < 256 + len(tok.merges) for i in ids)  # no special ids without permission


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(SPECIALS)), max_size=8))
def test_round_trip_with_special_tokens(tok, parts):
    text = "".join(parts)
    ids = tok.encode(text, allowed_special="all")
    assert tok.decode(ids) == text
    n_special = sum(i in tok.special_tokens.values() for i in ids)
    assert n_special == len(tok._special_split.findall(text))
    assert all(i < 256 + len(tok.merges) for i in tok.encode(text))  # "none": plain text


def test_special_token_handling(tok):
    eot = tok.special_tokens["<|endoftext|>"]
    assert tok.encode("a<|endoftext|>b", allowed_special="all")[1:2] == [eot]
    assert tok.encode("a<|endoftext|>b", allowed_special={"<|endoftext|>"})[1:2] == [eot]
    assert eot not in tok.encode("a<|endoftext|>b")
    assert eot not in tok.encode("a<|endoftext|>b", allowed_special={"<|user|>"})
    with pytest.raises(ValueError, match="unknown special"):
        tok.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="allowed_special"):
        tok.encode("x", allowed_special="some")
    with pytest.raises(ValueError, match="exists already"):
        tok.add_special_tokens(["<|user|>"])


def test_empty_input(tok):
    assert tok.encode("") == [] and tok.encode("", allowed_special="all") == []
    assert tok.decode([]) == "" and tok.decode_bytes([]) == b""


def test_clear_errors(tok):
    with pytest.raises(TypeError, match="expects a str"):
        tok.encode(b"bytes")
    with pytest.raises(TypeError, match="expects a str"):
        tok.encode(None)
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([tok.vocab_size])
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([-1])
    with pytest.raises(TypeError, match="must be ints"):
        tok.decode([1.5])
    with pytest.raises(TypeError, match="sequence of ints"):
        tok.decode("abc")
    with pytest.raises(ValueError, match="UTF-8.*surrogate"):
        tok.encode("ok \ud800 not ok")
    with pytest.raises(ValueError, match="does not exist yet"):
        bpe.Tokenizer([(256, 97)])


def test_decode_accepts_tensor_ids_and_cut_characters(tok):
    import torch

    ids = tok.encode("你好")
    assert tok.decode(torch.tensor(ids)) == "你好"
    cut = tok.decode_bytes(ids)[:-1]
    assert tok.decode(list(cut)).endswith("\ufffd")
    feed = tok.stream_decoder()
    assert "".join(feed(i) for i in list(b"\xe4\xbd\xa0\xe5\xa5\xbd")) == "你好"
    assert feed(0xE4) == ""  # the first byte of a 3-byte character waits for the rest


def test_pieces_and_vocab(tok):
    text = "The history of the world"
    assert b"".join(tok.pieces(text)) == text.encode()
    assert tok.vocab_size == 256 + 300 + len(SPECIALS)


def test_save_load_round_trip(tok, tmp_path):
    path = tok.save(tmp_path / "tok.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["format"] == bpe.FORMAT and len(saved["merges"]) == 300
    again = bpe.Tokenizer.load(path)
    text = _sample_text()
    assert again.encode(text, "all") == tok.encode(text, "all")
    assert again.special_tokens == tok.special_tokens
    path.write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a"):
        bpe.Tokenizer.load(path)


def test_hugging_face_export_gives_identical_ids(tok):
    hf = tok.to_hf()
    text = _sample_text()
    assert hf.encode(text).ids == tok.encode(text)
    assert hf.decode(tok.encode(text)) == text
    both = "hi<|user|>there<|endoftext|>"
    assert hf.encode(both).ids == tok.encode(both)  # the default: typed specials stay text
    assert tok.special_tokens["<|user|>"] not in hf.encode(both).ids
    assert tok.to_hf("all").encode(both).ids == tok.encode(both, allowed_special="all")
    with pytest.raises(ValueError, match="allowed_special"):
        tok.to_hf({"<|user|>"})


# Text built from special tokens, their fragments and arbitrary Unicode: the strings where the
# two tokenizers could disagree about what is special, found whatever hypothesis version runs.
_FRAGMENTS = sorted({s[i:j] for s in SPECIALS for i in range(len(s)) for j in range(i + 1, len(s) + 1)})
_special_heavy_text = st.lists(
    st.one_of(st.sampled_from(SPECIALS), st.sampled_from(_FRAGMENTS), st.text(max_size=6)), max_size=8
).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=60), _special_heavy_text))
def test_hugging_face_export_agrees_on_arbitrary_text(tok, hf_tok, text):
    assert hf_tok["none"].encode(text).ids == tok.encode(text)
    assert hf_tok["all"].encode(text).ids == tok.encode(text, allowed_special="all")


@pytest.fixture(scope="module")
def hf_tok(tok):
    """``tok``'s Hugging Face export, by its allowed_special: ``hf_tok["none"]``, ``hf_tok["all"]``."""
    return {allowed: tok.to_hf(allowed) for allowed in ("none", "all")}


def test_bytes_to_unicode_is_a_printable_bijection():
    table = bpe.bytes_to_unicode()
    assert len(set(table.values())) == 256
    assert table[ord("A")] == "A" and table[ord(" ")] == "Ġ"
    assert all(ch.isprintable() for ch in table.values())


def test_hf_trainer_learns_mostly_the_same_merges():
    text = _sample_text()
    ours = bpe.Tokenizer(bpe.train(text, 200))
    hf = bpe.train_hf(text, 256 + 200)
    assert hf.get_vocab_size() == 456
    hf_tokens = {bytes(bpe_byte) for bpe_byte in _hf_vocab_bytes(hf)}
    shared = sum(ours.vocab[256 + k] in hf_tokens for k in range(200))
    assert shared >= 180, shared


def _hf_vocab_bytes(hf):
    back = {ch: b for b, ch in bpe.bytes_to_unicode().items()}
    return [[back[ch] for ch in token] for token in hf.get_vocab()]


def test_get_tokenizer_trains_once_then_loads(monkeypatch):
    text = _sample_text()  # read before the patch: _sample_text itself calls data.wiki_text
    monkeypatch.setattr(data, "wiki_text", lambda: text)
    first = bpe.get_tokenizer(vocab_size=300, progress=False)
    assert first.vocab_size == 300 and first.special_tokens == {"<|endoftext|>": 299}
    monkeypatch.setattr(bpe, "train", lambda *a, **k: pytest.fail("should load from the cache"))
    again = bpe.get_tokenizer(vocab_size=300, progress=False)
    assert again.merges == first.merges
    with pytest.raises(ValueError, match="vocab_size"):
        bpe.get_tokenizer(vocab_size=100)


def test_get_tokenizer_rebuilds_a_corrupt_file(monkeypatch):
    text = _sample_text()  # read before the patch: _sample_text itself calls data.wiki_text
    monkeypatch.setattr(data, "wiki_text", lambda: text)
    before = set(artifacts.cache_dir().glob("tokenizer-*.json"))
    first = bpe.get_tokenizer(vocab_size=280, progress=False)
    (path,) = set(artifacts.cache_dir().glob("tokenizer-*.json")) - before  # this test's file only
    path.write_text("{not json", encoding="utf-8")
    with pytest.warns(UserWarning, match="cannot be read"):
        again = bpe.get_tokenizer(vocab_size=280, progress=False)
    assert again.merges == first.merges
    assert bpe.Tokenizer.load(path).merges == first.merges  # the corrupt file was replaced


def _table_tokenizer():
    """A tokenizer trained elsewhere: its own numbering (control tokens first, bytes in another order,
    merged tokens anywhere) and two bytes without a token."""
    specials = ["<|s|>", "<|e|>"]
    byte_tokens = [bytes([b]) for b in range(256) if b not in (0x01, 0xF1)][::-1]
    merges_bytes = [(b"a", b"b"), (b"ab", b"c"), (b" ", b"ab"), (b"c", b"c")]
    vocab = [s.encode() for s in specials] + [b"ccX", b"cc"] + byte_tokens + [b"abc", b" ab", b"ab"]
    ids = {v: i for i, v in enumerate(vocab)}
    merges = [(ids[a], ids[b]) for a, b in merges_bytes]
    return bpe.Tokenizer(merges, bpe.GPT2_PATTERN, special_tokens={s: i for i, s in enumerate(specials)}, vocab=vocab)


def test_a_vocabulary_table_sets_the_ids():
    tok = _table_tokenizer()
    ids = tok.encode("abc ab cc")
    assert [tok.vocab[i] for i in ids] == [b"abc", b" ab", b" ", b"cc"]
    assert tok.decode(ids) == "abc ab cc"
    assert tok.encode("a\x01b") == tok.encode("a") + tok.encode("b")     # a byte with no token is dropped
    assert tok.encode("<|s|>x", allowed_special="all")[0] == 0 and 0 not in tok.encode("<|s|>x")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        bpe.Tokenizer([(tok.vocab.index(b"c"), tok.vocab.index(b"a"))], vocab=tok.vocab)
    with pytest.raises(ValueError, match="read from its model file"):
        tok.to_dict()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="abc \x01<|s>e", max_size=40))
def test_a_vocabulary_table_exports_to_hugging_face(text):
    tok = _table_tokenizer()
    for allowed in ("none", "all"):
        assert tok.to_hf(allowed).encode(text).ids == tok.encode(text, allowed_special=allowed)
