import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from course_utils import charlm
from course_utils.monitor import Monitor, dead_fraction, saturation_fraction


def _net(act=nn.Tanh):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 32), act(), nn.Linear(32, 32), act(), nn.Linear(32, 3))


def _train(model, opt, steps):
    torch.manual_seed(1)
    X, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    for _ in range(steps):
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_monitor_samples_every_n_steps_and_records_ratios():
    model = _net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = Monitor(model, opt, every=5, verbose=False)
    _train(model, opt, 12)
    assert list(mon.layers) == ["1", "3"] and list(mon.weights) == ["0.weight", "2.weight", "4.weight"]
    assert [r["step"] for r in mon.acts["1"]] == [0, 5, 10]
    row = mon.params["2.weight"][0]
    assert row["grad_data"] > 0 and row["update_data"] > 0
    # SGD: the update is lr * grad, so update:data = lr * grad:data
    assert row["update_data"] == pytest.approx(0.1 * row["grad_data"], rel=1e-4)
    assert all(math.isfinite(r["grad_std"]) for r in mon.acts["1"])
    steps, logs = mon.series("update")["4.weight"]
    assert steps == [0, 5, 10] and all(-6 < v < 0 for v in logs)
    mon.plot_histograms()
    mon.plot_histograms("grads")
    mon.plot_ratios("grad")
    mon.remove()
    _train(model, opt, 6)
    assert [r["step"] for r in mon.acts["1"]] == [0, 5, 10]  # no more samples after remove()


def test_monitor_warns_on_saturation_and_dead_units():
    model = _net()
    with torch.no_grad():
        model[0].weight.mul_(50)
    mon = Monitor(model, verbose=False)
    model(torch.randn(64, 8)).sum().backward()
    assert mon.latest()[0]["saturated"] > 0.5
    assert any("saturated" in w for w in mon.warnings)

    relu = _net(nn.ReLU)
    with torch.no_grad():
        relu[0].bias.fill_(-100.0)
    mon = Monitor(relu, verbose=False)
    relu(torch.randn(16, 8))
    assert mon.latest()[0]["dead"] == 1.0 and any("dead" in w for w in mon.warnings)


def test_eval_mode_passes_are_not_sampled():
    model = _net().eval()
    mon = Monitor(model, verbose=False)
    model(torch.randn(4, 8))
    assert mon.latest() == []
    with pytest.raises(RuntimeError, match="nothing sampled"):
        mon.plot_histograms()
    with pytest.raises(RuntimeError, match="no ratios"):
        mon.plot_ratios()


def test_saturation_and_dead_fraction_values():
    t = torch.tensor([[0.99, 0.1], [-0.98, 0.0]])
    assert saturation_fraction(t, nn.Tanh()) == 0.5
    assert math.isnan(saturation_fraction(t, nn.ReLU()))
    assert saturation_fraction(torch.tensor([0.999, 0.5, 0.001]), nn.Sigmoid()) == pytest.approx(2 / 3)
    assert dead_fraction(torch.tensor([[0.0, 1.0], [0.0, 0.0]])) == 0.5
    with pytest.raises(ValueError, match="batch"):
        dead_fraction(torch.tensor([0.0, 1.0]))


def test_monitor_rejects_bad_arguments():
    with pytest.raises(TypeError):
        Monitor("model")
    with pytest.raises(TypeError):
        Monitor(_net(), optimizer="sgd")
    with pytest.raises(ValueError):
        Monitor(_net(), every=0)
    with pytest.raises(ValueError, match="nothing|no activation"):
        Monitor(nn.Sequential(nn.Flatten()))
    with pytest.raises(ValueError):
        Monitor(_net(), verbose=False).series("weights")


def test_build_examples_and_split():
    X, Y = charlm.build_examples(["ab", "c"], block_size=2)
    assert X.tolist() == [[0, 0], [0, 1], [1, 2], [0, 0], [0, 3]]
    assert Y.tolist() == [1, 2, 0, 3, 0]
    words = [f"w{i}" for i in range(100)]
    tr, va, te = charlm.split_words(words, seed=1)
    assert (len(tr), len(va), len(te)) == (80, 10, 10) and sorted(tr + va + te) == sorted(words)
    assert charlm.split_words(words, seed=1) == (tr, va, te)


@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12), min_size=1, max_size=20),
       st.integers(min_value=1, max_value=6))
def test_examples_count_and_targets(words, block):
    X, Y = charlm.build_examples(words, block)
    assert X.shape == (sum(len(w) + 1 for w in words), block)
    assert "".join(charlm.ITOS[i] for i in Y.tolist()) == "".join(w + "." for w in words)


def test_bigram_baseline_and_bad_input():
    P = charlm.bigram_counts(["ab", "ab"], smoothing=0.0)
    assert P[0, 1] == 1.0 and P[1, 2] == 1.0 and P[2, 0] == 1.0
    assert charlm.bigram_nll(P, ["ab"]) == pytest.approx(0.0)
    assert charlm.bigram_nll(charlm.bigram_counts(["zz"]), ["ab"]) > 0
    with pytest.raises(ValueError, match="outside a-z"):
        charlm.encode("Ab")
    with pytest.raises(ValueError):
        charlm.build_examples(["ab"], block_size=0)
    with pytest.raises(TypeError):
        charlm.split_words([])
    with pytest.raises(ValueError):
        charlm.split_words(["a"], fractions=(0.5, 0.5, 0.5))
