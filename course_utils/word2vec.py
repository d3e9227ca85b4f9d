"""word2vec from scratch: vocabulary, subsampling, training examples and three trainers.

skip-gram + negative sampling, CBOW + negative sampling, and skip-gram + hierarchical softmax,
trained with plain SGD and a learning rate that decays linearly to ``min_lr`` (as in the
original C code and in gensim). Vectorised: the examples of one epoch are built with NumPy,
then processed in batches; each batch gathers the rows it needs, computes the gradients by
hand (no autograd) and adds them back with ``index_add_``. With ``workers=2`` two threads take
alternate batches and update the shared vectors without locks, as gensim's workers do (PyTorch
releases Python's GIL inside its operations); the result then varies slightly from run to run.

Shapes: V = vocabulary size, D = vector size, B = examples in a batch, K = negatives per
example, L = longest Huffman code.
"""
from __future__ import annotations

import heapq
import threading
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

METHODS = ("sg-ns", "cbow-ns", "sg-hs")


@dataclass
class W2VConfig:
    dim: int = 100
    window: int = 5           # up to 5 words each side (a random 1..5 per centre word, as in word2vec)
    negative: int = 5
    epochs: int = 5
    min_count: int = 5
    sample: float = 1e-3      # subsampling threshold for frequent words
    lr: float = 0.025
    min_lr: float = 1e-4
    ns_exponent: float = 0.75
    batch_size: int = 1024
    workers: int = 2          # threads updating the shared vectors without locks ("Hogwild"), as gensim does
    seed: int = 1


class Vocab:
    """Words seen at least ``min_count`` times, most frequent first: ``words[i]`` has ``counts[i]``."""

    def __init__(self, sentences: list[list[str]], min_count: int = 5):
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts = Counter(w for s in sentences for w in s)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise ValueError(f"no word occurs {min_count} times or more")
        self.words = kept
        self.index = {w: i for i, w in enumerate(kept)}
        self.counts = np.array([counts[w] for w in kept], dtype=np.int64)
        self.total_words = sum(counts.values())       # all tokens, including dropped rare ones

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, sentences: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Flat ids of the known words and, for each, the number of its sentence."""
        ids, sent = [], []
        for k, s in enumerate(sentences):
            for w in s:
                i = self.index.get(w)
                if i is not None:
                    ids.append(i)
                    sent.append(k)
        return np.array(ids, dtype=np.int64), np.array(sent, dtype=np.int64)


def keep_probability(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: a word with frequency f is kept with probability
    (sqrt(f / t) + 1) * t / f, t = sample (so words rarer than t are always kept)."""
    if sample <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(f / sample) + 1) * sample / f)


def subsample(ids: np.ndarray, sent: np.ndarray, keep: np.ndarray, rng: np.random.Generator):
    """Drop each occurrence of word w with probability 1 - keep[w]; returns the kept (ids, sent)."""
    mask = rng.random(len(ids)) < keep[ids]
    return ids[mask], sent[mask]


def draw_reach(n: int, window: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) how far each centre word looks this epoch: drawn from 1..window, so near neighbours are
    used more often than far ones (word2vec's "dynamic window")."""
    return rng.integers(1, window + 1, size=n)


def skipgram_pairs(ids: np.ndarray, sent: np.ndarray, reach: np.ndarray):
    """(centres, contexts): every word with each neighbour up to reach[i] positions away in its
    sentence (ids, sent, reach all (N,))."""
    centres, contexts = [], []
    for d in range(1, int(reach.max(initial=0)) + 1):
        same = sent[:-d] == sent[d:]
        right = np.nonzero(same & (reach[:-d] >= d))[0]          # centre i, context i + d
        left = np.nonzero(same & (reach[d:] >= d))[0]            # centre i + d, context i
        centres += [ids[right], ids[left + d]]
        contexts += [ids[right + d], ids[left]]
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_examples(ids: np.ndarray, sent: np.ndarray, reach: np.ndarray):
    """(centres (N,), contexts (N, 2 * max reach) padded with -1): the words up to reach[i] positions
    around each centre word."""
    n, window = len(ids), int(reach.max(initial=0))
    ctx = np.full((n, 2 * window), -1, dtype=np.int64)
    for d in range(1, window + 1):
        ok = np.zeros(n, dtype=bool)
        ok[:-d] = (sent[:-d] == sent[d:]) & (reach[:-d] >= d)
        ctx[ok, 2 * d - 2] = ids[d:][ok[:-d]]                    # right neighbour
        ok = np.zeros(n, dtype=bool)
        ok[d:] = (sent[d:] == sent[:-d]) & (reach[d:] >= d)
        ctx[ok, 2 * d - 1] = ids[:-d][ok[d:]]                    # left neighbour
    has_context = (ctx >= 0).any(axis=1)
    return ids[has_context], ctx[has_context]


def huffman_codes(counts: np.ndarray) -> tuple[list[list[int]], list[list[int]]]:
    """Huffman tree over the vocabulary: frequent words get short codes.

    Returns ``codes[w]`` (the 0/1 turns from the root to word w) and ``points[w]`` (the inner
    nodes passed, numbered 0..V-2, root first). Each inner node has its own output vector.
    """
    V = len(counts)
    if V < 2:
        raise ValueError("a Huffman tree needs at least two words")
    heap = [(int(c), i) for i, c in enumerate(counts)]          # leaves are 0..V-1
    heapq.heapify(heap)
    parent, bit = {}, {}
    next_id = V
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], bit[a] = next_id, 0
        parent[b], bit[b] = next_id, 1
        heapq.heappush(heap, (c1 + c2, next_id))
        next_id += 1
    root = next_id - 1
    codes, points = [], []
    for w in range(V):
        code, path, node = [], [], w
        while node != root:
            code.append(bit[node])
            node = parent[node]
            path.append(node - V)                                 # inner nodes numbered from 0
        codes.append(code[::-1])
        points.append(path[::-1])
    return codes, points


def _padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(r) for r in rows)
    out = torch.zeros(len(rows), L, dtype=torch.long)
    mask = torch.zeros(len(rows), L)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return out, mask


# ---- the three update steps: one batch of (centre, context) examples, plain SGD on the logistic losses
def negative_sampling_step(h: torch.Tensor, target: torch.Tensor, negatives: torch.Tensor,
                           w_out: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step of negative sampling: hidden vectors h (B, D), true words target (B,), noise
    words negatives (B, K). Updates the output vectors in place; returns the step for h (B, D)."""
    B, D = h.shape
    words = torch.cat([target[:, None], negatives], dim=1)                  # (B, 1 + K)
    u = w_out[words]                                                         # (B, 1 + K, D)
    score = torch.bmm(u, h[:, :, None]).squeeze(-1)                          # (B, 1 + K)
    grad = -torch.sigmoid(score)                                             # label 0 for noise words
    grad[:, 0] += 1                                                          # label 1 for the true word
    grad[:, 1:] *= negatives != target[:, None]                              # a noise word that is the target: skip
    grad *= lr
    w_out.index_add_(0, words.flatten(), (grad[..., None] * h[:, None, :]).reshape(-1, D))
    return (grad[..., None] * u).sum(1)


def sg_ns_step(w_in: torch.Tensor, w_out: torch.Tensor, centres: torch.Tensor, contexts: torch.Tensor,
               negatives: torch.Tensor, lr: float) -> None:
    """Skip-gram with negative sampling: the centre word's vector (B, D) predicts its context word
    against K noise words (B, K). Updates w_in and w_out in place."""
    step = negative_sampling_step(w_in[centres], contexts, negatives, w_out, lr)
    w_in.index_add_(0, centres, step)


def cbow_ns_step(w_in: torch.Tensor, w_out: torch.Tensor, centres: torch.Tensor, contexts: torch.Tensor,
                 negatives: torch.Tensor, lr: float) -> None:
    """CBOW with negative sampling: the mean of the context vectors (contexts (B, 2w), -1 = none)
    predicts the centre word; each context word gets the hidden vector's step."""
    D = w_in.size(1)
    valid = (contexts >= 0).float()                                     # (B, 2w)
    ctx_vecs = w_in[contexts.clamp(min=0)] * valid[..., None]           # (B, 2w, D)
    h = ctx_vecs.sum(1) / valid.sum(1, keepdim=True)                    # (B, D): mean of the context
    grad_h = negative_sampling_step(h, centres, negatives, w_out, lr)
    w_in.index_add_(0, contexts.clamp(min=0).flatten(), (grad_h[:, None, :] * valid[..., None]).reshape(-1, D))


def sg_hs_step(w_in: torch.Tensor, w_out: torch.Tensor, centres: torch.Tensor, contexts: torch.Tensor,
               tree: tuple[torch.Tensor, torch.Tensor, torch.Tensor], lr: float) -> None:
    """Skip-gram with a hierarchical softmax: one logistic decision per inner node on the context
    word's Huffman path. ``tree`` = (points, codes, mask), each (V, L): the padded paths of every word;
    w_out holds the V - 1 inner nodes' vectors."""
    D = w_in.size(1)
    points, codes, mask = tree
    v = w_in[centres]                                                    # (B, D)
    nodes, code, m = points[contexts], codes[contexts], mask[contexts]   # (B, L)
    u = w_out[nodes]                                                     # (B, L, D)
    score = torch.bmm(u, v[:, :, None]).squeeze(-1)                      # (B, L)
    grad = (1 - code - torch.sigmoid(score)) * m * lr                   # (B, L): label 1 - code
    w_out.index_add_(0, nodes.flatten(), (grad[..., None] * v[:, None, :]).reshape(-1, D))
    w_in.index_add_(0, centres, (grad[..., None] * u).sum(1))


STEPS = {"sg-ns": sg_ns_step, "cbow-ns": cbow_ns_step, "sg-hs": sg_hs_step}


def huffman_tree(counts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(points, codes, mask), each (V, L): every word's Huffman path padded to the longest one."""
    codes, points = huffman_codes(counts)
    code_t, mask_t = _padded(codes)
    point_t, _ = _padded(points)
    return point_t, code_t, mask_t


def learning_rate(cfg: "W2VConfig", done: int, total: int) -> float:
    """word2vec's schedule: linear from cfg.lr to cfg.min_lr over the whole run (done of total examples)."""
    return max(cfg.min_lr, cfg.lr - (cfg.lr - cfg.min_lr) * done / total)


def train(sentences: list[list[str]], cfg: W2VConfig | None = None, method: str = "sg-ns",
          vocab: Vocab | None = None, progress: bool = True) -> tuple[torch.Tensor, Vocab, dict]:
    """Train word vectors; returns (vectors (V, D), vocab, info with seconds and words/second).

    Each epoch: subsample the corpus, draw each word's reach, build the examples, shuffle them,
    draw every noise word at once (negative sampling), then hand alternate batches to
    ``cfg.workers`` threads that apply the method's step to the shared vectors without locks.
    """
    from .widgets import progress as progress_bar

    cfg = cfg or W2VConfig()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(cfg.workers, int) or cfg.workers < 1:
        raise ValueError(f"workers must be a positive int, got {cfg.workers!r}")
    vocab = vocab or Vocab(sentences, cfg.min_count)
    ids_all, sent_all = vocab.encode(sentences)
    V, D = len(vocab), cfg.dim
    g = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    w_in = (torch.rand(V, D, generator=g) - 0.5) / D                 # input vectors: the word vectors
    hs = method == "sg-hs"
    w_out = torch.zeros(V - 1 if hs else V, D)                       # output vectors (inner nodes for HS)
    keep = keep_probability(vocab.counts, cfg.sample)
    noise = torch.tensor(vocab.counts, dtype=torch.float64) ** cfg.ns_exponent
    noise_cdf = (noise.cumsum(0) / noise.sum()).float()
    tree = huffman_tree(vocab.counts) if hs else None
    step_fn = STEPS[method]

    def run_batches(starts, centres, contexts, negatives_all, epoch):
        for s in starts:
            lr = learning_rate(cfg, epoch * per_epoch + s, cfg.epochs * per_epoch)
            extra = tree if hs else negatives_all[s:s + cfg.batch_size]
            step_fn(w_in, w_out, centres[s:s + cfg.batch_size], contexts[s:s + cfg.batch_size], extra, lr)

    threads_before = torch.get_num_threads()
    if cfg.workers > 1:
        torch.set_num_threads(1)            # one core per worker thread
    start = time.perf_counter()
    per_epoch = None
    bar = progress_bar(total=cfg.epochs, desc=method, unit="epoch", disable=not progress)
    try:
        for epoch in range(cfg.epochs):
            ids, sent = subsample(ids_all, sent_all, keep, rng)
            reach = draw_reach(len(ids), cfg.window, rng)
            make = cbow_examples if method == "cbow-ns" else skipgram_pairs
            centres, contexts = make(ids, sent, reach)
            order = rng.permutation(len(centres))
            centres, contexts = torch.from_numpy(centres[order]), torch.from_numpy(contexts[order])
            per_epoch = per_epoch or len(centres)   # examples per epoch vary a little with subsampling
            negatives_all = None
            if not hs:                              # all noise words of the epoch in one draw
                negatives_all = torch.searchsorted(noise_cdf, torch.rand(len(centres), cfg.negative, generator=g))
                negatives_all.clamp_(max=V - 1)
            starts = list(range(0, len(centres), cfg.batch_size))
            workers = [threading.Thread(target=run_batches, args=(starts[k::cfg.workers], centres, contexts,
                                                                    negatives_all, epoch))
                       for k in range(cfg.workers)]
            for t in workers:
                t.start()
            for t in workers:
                t.join()
            bar.update()
    finally:
        torch.set_num_threads(threads_before)
        bar.close()
    seconds = time.perf_counter() - start
    info = {"seconds": seconds, "words_per_s": cfg.epochs * vocab.total_words / seconds,
            "examples_per_epoch": per_epoch or 0}
    return w_in, vocab, info


# ---- evaluation ----------------------------------------------------------------------------------
def unit(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)


def most_similar(vectors: torch.Tensor, vocab: Vocab, word: str, topn: int = 10) -> list[tuple[str, float]]:
    """The ``topn`` words with the highest cosine similarity to ``word``."""
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary ({len(vocab)} words seen >= min_count times)")
    u = unit(vectors)
    sims = u @ u[vocab.index[word]]
    sims[vocab.index[word]] = -2
    best = sims.topk(topn)
    return [(vocab.words[i], s) for i, s in zip(best.indices.tolist(), best.values.tolist())]


def analogy(vectors: torch.Tensor, vocab: Vocab, a: str, b: str, c: str, topn: int = 1) -> list[tuple[str, float]]:
    """a : b :: c : ?  by 3CosAdd: the word closest to b - a + c (the three inputs excluded)."""
    for w in (a, b, c):
        if w not in vocab:
            raise KeyError(f"{w!r} is not in the vocabulary")
    u = unit(vectors)
    sims = u @ unit((u[vocab.index[b]] - u[vocab.index[a]] + u[vocab.index[c]])[None])[0]
    for w in (a, b, c):
        sims[vocab.index[w]] = -2
    best = sims.topk(topn)
    return [(vocab.words[i], s) for i, s in zip(best.indices.tolist(), best.values.tolist())]


def similarity_spearman(vectors: torch.Tensor, vocab: Vocab, rows: list[tuple[str, str, float]]):
    """Spearman correlation between cosine similarities and human scores on the covered pairs.

    Returns (rho, covered pairs, all pairs)."""
    from scipy.stats import spearmanr

    u = unit(vectors)
    covered = [(a, b, s) for a, b, s in rows if a in vocab and b in vocab]
    if len(covered) < 3:
        return float("nan"), len(covered), len(rows)
    cos = [float(u[vocab.index[a]] @ u[vocab.index[b]]) for a, b, _ in covered]
    return float(spearmanr([s for *_, s in covered], cos).correlation), len(covered), len(rows)


def analogy_accuracy(vectors: torch.Tensor, vocab: Vocab, questions: list[tuple[str, str, str, str]]):
    """3CosAdd accuracy on the questions whose four words are all known: (accuracy, covered, all)."""
    covered = [q for q in questions if all(w in vocab for w in q)]
    if not covered:
        return float("nan"), 0, len(questions)
    u = unit(vectors)
    idx = torch.tensor([[vocab.index[w] for w in q] for q in covered])       # (N, 4)
    correct = 0
    for chunk in idx.split(512):
        target = unit(u[chunk[:, 1]] - u[chunk[:, 0]] + u[chunk[:, 2]])      # (n, D)
        sims = target @ u.T                                                  # (n, V)
        sims.scatter_(1, chunk[:, :3], -2.0)
        correct += int((sims.argmax(1) == chunk[:, 3]).sum())
    return correct / len(covered), len(covered), len(questions)
