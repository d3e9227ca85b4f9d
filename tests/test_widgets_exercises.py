import math

import ipywidgets as W
import pytest
import torch
import torch.nn.functional as F

from course_utils import exercises, widgets
from course_utils.exercises import ExerciseFailed, check


def test_static_mode_outside_a_kernel():
    assert widgets.static_mode()


def test_interact_static_calls_once_with_defaults(capsys):
    seen = []
    box = widgets.interact(lambda n, word: seen.append((n, word)),
                           n=W.IntSlider(value=3, min=0, max=5), word=W.Text(value="hi"))
    assert seen == [(3, "hi")]
    assert "static rendering" in capsys.readouterr().out
    assert [type(c).__name__ for c in box.children] == ["IntSlider", "Text"]


def test_interact_rejects_bad_controls():
    with pytest.raises(TypeError, match="callable"):
        widgets.interact(3, n=W.IntSlider())
    with pytest.raises(ValueError, match="at least one"):
        widgets.interact(lambda: None)
    with pytest.raises(TypeError, match="value widget"):
        widgets.interact(lambda n: None, n=5)


# A wrong answer per exercise: right shape, wrong numbers. Every exercise must have one.
def _wrong_00_1(x, y, w, b):
    import math
    a = 1 / (1 + math.exp(-(w * x + b)))
    return (a - y), (a - y) * x  # swapped


def _wrong_00_2(p, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * m / (v.sqrt() + eps), m, v  # no bias correction


def _wrong_01_1(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(0)) / (x.std(0) + eps) + beta  # unbiased std, eps in the wrong place


def _wrong_01_2(fan_in, nonlinearity):
    return 1 / fan_in ** 0.5  # forgets the gain


def _wrong_02_1(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)  # ignores the strides


def _wrong_02_2(x, kernel, stride):
    return x.unfold(2, kernel, stride).unfold(3, kernel, stride).mean(dim=(-2, -1))  # average, not max


def _wrong_03_1(x_t, h_prev, W_xh, W_hh, b_h):
    return torch.tanh(x_t @ W_xh.T + h_prev @ W_hh + b_h)  # W_hh not transposed


def _wrong_03_2(x_t, h_prev, c_prev, W_ih, W_hh, b):
    i, f, g, o = (x_t @ W_ih.T + h_prev @ W_hh.T + b).chunk(4, dim=1)
    c_t = torch.sigmoid(i) * c_prev + torch.sigmoid(f) * torch.tanh(g)  # input and forget gates swapped
    return torch.sigmoid(o) * torch.tanh(c_t), c_t


def _wrong_05_1(chunk_counts):
    counts = {}
    for ids in chunk_counts:
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + 1  # forgets how often the chunk occurs
    return counts


def _wrong_05_2(merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[b] + vocab[a])  # parts in the wrong order
    return vocab


def _wrong_05_3(data):
    return len(data) - 1 if data and data[-1] >= 0x80 else len(data)  # drops one byte, not the whole character


def _wrong_06_1(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)  # forgets the causal mask


def _wrong_06_2(vocab_size, block_size, n_layer, n_embd):
    return vocab_size * n_embd + block_size * n_embd + n_layer * 12 * n_embd**2  # no biases or LayerNorms


def _wrong_06_3(logits, k):
    return logits.masked_fill(logits <= logits.topk(k, dim=-1).values[:, -1:], float("-inf"))  # keeps the wrong side


def _wrong_04_1(tokens, window):
    return [(c, tokens[j]) for i, c in enumerate(tokens) for j in range(i + 1, min(len(tokens), i + window + 1))]  # right side only


def _wrong_04_2(count, total, sample):
    f = count / total
    return (math.sqrt(f / sample) + 1) * sample / f  # not capped at 1


def _wrong_07_1(seqs, pad_id):
    L = max(len(s) for s in seqs)  # right padding: pads after the tokens
    x = torch.tensor([s + [pad_id] * (L - len(s)) for s in seqs], dtype=torch.long)
    return x, torch.tensor([[True] * len(s) + [False] * (L - len(s)) for s in seqs])


def _wrong_07_2(mask):
    return torch.arange(mask.size(1)).expand_as(mask)  # positions of the padded row, not of the tokens


def _wrong_08_1(baseline_scores, candidate_scores):
    wins = sum(c > b for b, c in zip(baseline_scores, candidate_scores))
    losses = sum(c < b for b, c in zip(baseline_scores, candidate_scores))
    ties = len(baseline_scores) - wins - losses
    return wins, losses, ties, wins / len(baseline_scores)  # ties counted as non-wins


def _wrong_08_2(log_ratio, last, score, kl_coef):
    rewards = -kl_coef * log_ratio
    rewards[:, -1] += score  # the last column, not each answer's last token
    return rewards


def _wrong_08_3(logits):
    p = logits.softmax(-1)
    return -(p * p.log()).sum(-1)  # log of an underflowed 0 is -inf: nan


def _wrong_09_1(delta_w, share=0.9):
    S = torch.linalg.svdvals(delta_w)  # singular values, not their squares
    return int(((S.cumsum(0) / S.sum()) < share).sum()) + 1


def _wrong_09_2(w, block=32):
    scale = w.abs().amax(dim=1, keepdim=True) / 127  # one scale per row, as in chapter 09's section
    return torch.round(w / scale).to(torch.int8), scale.expand(w.size(0), w.size(1) // block)


def _wrong_10_1(x, weight, eps=1e-5):
    return torch.nn.functional.layer_norm(x, (x.size(-1),)) * weight  # LayerNorm: subtracts the mean


def _wrong_10_2(x, p, base=10000.0):
    h = x.numel() // 2
    angle = p * base ** (-2 * torch.arange(h, dtype=torch.float32) / x.numel())
    x1, x2 = x[0::2], x[1::2]  # pairs (0, 1), (2, 3): llama.cpp's layout, not (i, i + size/2)
    out = torch.empty_like(x)
    out[0::2], out[1::2] = x1 * angle.cos() - x2 * angle.sin(), x1 * angle.sin() + x2 * angle.cos()
    return out


def _wrong_10_3(rewards, eps=1e-4):
    return (rewards - rewards.mean()) / (rewards.std() + eps)  # normalised over the batch, not per group


WRONG = {"00.1": _wrong_00_1, "00.2": _wrong_00_2, "01.1": _wrong_01_1, "01.2": _wrong_01_2,
         "02.1": _wrong_02_1, "02.2": _wrong_02_2, "03.1": _wrong_03_1, "03.2": _wrong_03_2, "04.1": _wrong_04_1, "04.2": _wrong_04_2,
         "05.1": _wrong_05_1, "05.2": _wrong_05_2, "05.3": _wrong_05_3,
         "06.1": _wrong_06_1, "06.2": _wrong_06_2, "06.3": _wrong_06_3,
         "07.1": _wrong_07_1, "07.2": _wrong_07_2,
         "08.1": _wrong_08_1, "08.2": _wrong_08_2, "08.3": _wrong_08_3, "09.1": _wrong_09_1, "09.2": _wrong_09_2,
         "10.1": _wrong_10_1, "10.2": _wrong_10_2, "10.3": _wrong_10_3}


def _all_exercises():
    import importlib
    import pkgutil

    import course_utils.solutions as sol

    for mod in pkgutil.iter_modules(sol.__path__):
        importlib.import_module(f"course_utils.solutions.{mod.name}")
    return sorted(exercises._REGISTRY)


def test_every_exercise_has_a_wrong_answer_test():
    assert set(_all_exercises()) == set(WRONG)


@pytest.mark.parametrize("exercise_id", sorted(WRONG))
def test_solution_passes_and_wrong_answer_fails(exercise_id, capsys):
    ex = exercises.get(exercise_id)
    assert check(exercise_id, ex.solution) is True
    with pytest.raises(ExerciseFailed, match="not yet right"):
        check(exercise_id, WRONG[exercise_id])
    assert "def " in exercises.solution_source(exercise_id)


@pytest.mark.parametrize("exercise_id", sorted(WRONG))
def test_untouched_stub_is_not_attempted(exercise_id, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert check(exercise_id, stub) is None
    assert exercises.NOT_ATTEMPTED in capsys.readouterr().out
    assert check(exercise_id, None) is None


def test_unknown_and_malformed_ids():
    with pytest.raises(KeyError, match="no exercise"):
        exercises.get("00.99")
    with pytest.raises(ValueError, match="look like"):
        exercises.get("first")


def test_wrong_structure_is_reported():
    with pytest.raises(ExerciseFailed, match="pair"):
        check("00.1", lambda x, y, w, b: 0.0)
    with pytest.raises(ExerciseFailed, match="triple"):
        check("00.2", lambda *a, **k: torch.zeros(5))
