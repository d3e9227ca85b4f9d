"""word2vec: vocabulary, subsampling and Huffman codes against gensim, training examples, the
three trainers on a toy corpus, evaluation helpers, bad input."""
import math

import numpy as np
import pytest
import torch

from course_utils import word2vec as w2v


def _toy_corpus(n=400, seed=0):
    """Two topics: animals appear with 'eats'/'runs', tools with 'cuts'/'drills'."""
    rng = np.random.default_rng(seed)
    animals, tools = ["cat", "dog", "horse", "cow"], ["saw", "drill", "knife", "axe"]
    out = []
    for _ in range(n):
        if rng.random() < 0.5:
            out.append([rng.choice(animals), rng.choice(["eats", "runs"]), rng.choice(animals)])
        else:
            out.append([rng.choice(tools), rng.choice(["cuts", "drills"]), rng.choice(tools)])
    return [[str(w) for w in s] for s in out]


def test_vocab_orders_by_count_and_drops_rare_words():
    v = w2v.Vocab([["a", "b", "a", "c"], ["a", "b"]], min_count=2)
    assert v.words == ["a", "b"] and v.counts.tolist() == [3, 2] and v.total_words == 6
    ids, sent = v.encode([["a", "c", "b"], ["b"]])
    assert ids.tolist() == [0, 1, 1] and sent.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="no word"):
        w2v.Vocab([["a"]], min_count=2)
    with pytest.raises(ValueError, match="min_count"):
        w2v.Vocab([["a"]], min_count=0)


def test_subsampling_and_huffman_agree_with_gensim():
    from gensim.models import Word2Vec

    corpus = _toy_corpus() + [["rare", "word"]] * 5
    gm = Word2Vec(corpus, vector_size=8, min_count=5, sample=1e-2, hs=1, negative=0, epochs=1, workers=1)
    v = w2v.Vocab(corpus, min_count=5)
    order = [gm.wv.key_to_index[w] for w in v.words]
    gensim_keep = gm.wv.expandos["sample_int"][order] / 2**32
    assert np.allclose(w2v.keep_probability(v.counts, 1e-2), gensim_keep, atol=1e-6)
    codes, points = w2v.huffman_codes(v.counts)
    ours = sum(len(c) * n for c, n in zip(codes, v.counts))
    theirs = sum(len(gm.wv.expandos["code"][gm.wv.key_to_index[w]]) * n for w, n in zip(v.words, v.counts))
    assert ours == theirs  # both optimal: the same total code length


def test_huffman_codes_form_a_prefix_free_tree():
    counts = np.array([50, 20, 10, 10, 5, 3, 1, 1])
    codes, points = w2v.huffman_codes(counts)
    strings = ["".join(map(str, c)) for c in codes]
    assert sum(2.0 ** -len(s) for s in strings) == pytest.approx(1.0)     # a full binary tree
    assert not any(a != b and b.startswith(a) for a in strings for b in strings)
    assert all(len(c) == len(p) for c, p in zip(codes, points)) and all(p[0] == len(counts) - 2 for p in points)
    assert len(codes[0]) <= len(codes[-1])
    with pytest.raises(ValueError, match="two words"):
        w2v.huffman_codes(np.array([3]))


def test_skipgram_pairs_stay_in_the_sentence_and_window():
    ids = np.arange(7)
    sent = np.array([0, 0, 0, 1, 1, 1, 1])
    c, o = w2v.skipgram_pairs(ids, sent, np.full(7, 2))
    got = sorted(zip(c.tolist(), o.tolist()))
    want = sorted((i, j) for i in range(7) for j in range(7) if i != j and abs(i - j) <= 2 and sent[i] == sent[j])
    assert got == want
    reach = w2v.draw_reach(7, 5, np.random.default_rng(0))          # each centre looks reach[i] words away
    assert reach.min() >= 1 and reach.max() <= 5
    c, o = w2v.skipgram_pairs(ids, sent, reach)
    got = sorted(zip(c.tolist(), o.tolist()))
    want = sorted((i, j) for i in range(7) for j in range(7)
                  if i != j and abs(i - j) <= reach[i] and sent[i] == sent[j])
    assert got == want


def test_cbow_examples_collect_the_neighbours():
    ids = np.array([10, 11, 12, 13])
    sent = np.array([0, 0, 0, 1])
    centres, ctx = w2v.cbow_examples(ids, sent, np.full(4, 1))
    got = {c: sorted(x for x in row if x >= 0) for c, row in zip(centres.tolist(), ctx.tolist())}
    assert got == {10: [11], 11: [10, 12], 12: [11]}      # 13 is alone in its sentence


@pytest.mark.parametrize("method", w2v.METHODS)
def test_trainers_separate_the_two_topics(method):
    corpus = _toy_corpus()
    cfg = w2v.W2VConfig(dim=16, window=2, epochs=8, min_count=1, sample=0, negative=4, batch_size=64, lr=0.05)
    vectors, vocab, info = w2v.train(corpus, cfg, method=method, progress=False)
    u = w2v.unit(vectors)

    def sim(a, b):
        return float(u[vocab.index[a]] @ u[vocab.index[b]])

    assert sim("cat", "dog") > sim("cat", "saw") + 0.2
    assert sim("knife", "axe") > sim("knife", "horse") + 0.2
    assert info["words_per_s"] > 0


def test_evaluation_helpers_on_hand_made_vectors():
    vocab = w2v.Vocab([["king", "queen", "man", "woman", "apple"]], min_count=1)
    vec = torch.zeros(5, 3)
    for w, v in {"king": [1, 1, 0], "queen": [1, 0, 1], "man": [0, 1, 0], "woman": [0, 0, 1], "apple": [-1, 0, 0]}.items():
        vec[vocab.index[w]] = torch.tensor(v, dtype=torch.float)
    assert w2v.analogy(vec, vocab, "man", "king", "woman")[0][0] == "queen"
    ranked = w2v.most_similar(vec, vocab, "king", 4)  # cosines 1/sqrt(2), 1/2, 0, -1/sqrt(2)
    assert [w for w, _ in ranked] == ["man", "queen", "woman", "apple"]
    assert [s for _, s in ranked] == pytest.approx([2 ** -0.5, 0.5, 0.0, -(2 ** -0.5)], abs=1e-6)
    acc, covered, total = w2v.analogy_accuracy(vec, vocab, [("man", "king", "woman", "queen"), ("a", "b", "c", "d")])
    assert (acc, covered, total) == (1.0, 1, 2)
    rho, covered, total = w2v.similarity_spearman(vec, vocab, [("king", "queen", 5.0), ("king", "apple", 0.0),
                                                               ("man", "woman", 3.0), ("x", "y", 1.0)])
    assert covered == 3 and total == 4 and rho == pytest.approx(1.0)  # same order as the ratings
    with pytest.raises(KeyError, match="not in the vocabulary"):
        w2v.most_similar(vec, vocab, "banana")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        w2v.analogy(vec, vocab, "man", "king", "banana")


def test_bad_method_and_workers():
    with pytest.raises(ValueError, match="method"):
        w2v.train([["a", "b"]], w2v.W2VConfig(min_count=1), method="glove")
    with pytest.raises(ValueError, match="workers"):
        w2v.train([["a", "b"]], w2v.W2VConfig(min_count=1, workers=0))


def test_one_worker_is_reproducible_and_threads_are_restored():
    corpus = _toy_corpus(100)
    cfg = w2v.W2VConfig(dim=8, window=2, epochs=2, min_count=1, sample=0, workers=1)
    a, _, _ = w2v.train(corpus, cfg, progress=False)
    b, _, _ = w2v.train(corpus, cfg, progress=False)
    assert torch.equal(a, b)
    before = torch.get_num_threads()
    w2v.train(corpus, w2v.W2VConfig(dim=8, window=2, epochs=1, min_count=1, workers=2), progress=False)
    assert torch.get_num_threads() == before


def test_keep_probability_formula():
    counts = np.array([1000, 1])
    keep = w2v.keep_probability(counts, 1e-3)
    f = 1000 / 1001
    assert keep[0] == pytest.approx((math.sqrt(f / 1e-3) + 1) * 1e-3 / f) and keep[1] == 1.0
    assert (w2v.keep_probability(counts, 0) == 1).all()
