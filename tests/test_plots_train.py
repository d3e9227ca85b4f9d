import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import plots, train


def test_live_loss_plot_headless_records_and_draws():
    plot = plots.LiveLossPlot(title="t", live=False)
    for step in range(5):
        plot.update(step, train=1.0 / (step + 1))
    plot.update(4, val=0.5)
    fig = plot.finish()
    ax = fig.axes[0]
    assert ax.get_title() == "t" and ax.get_xlabel() == "step"
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    assert plot.series["train"][1][-1] == pytest.approx(0.2)


def test_live_loss_plot_needs_values():
    with pytest.raises(ValueError):
        plots.LiveLossPlot(live=False).update(0)


def test_not_in_notebook_here():
    assert plots.in_notebook() is False


def _regression_problem():
    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5]) + 0.3
    return X, y


def test_fit_matches_a_hand_written_loop():
    X, y = _regression_problem()
    batches = [torch.arange(i, i + 16) for i in range(0, 64, 16)]

    torch.manual_seed(1)
    ref = torch.nn.Linear(3, 1)
    for step in range(12):
        idx = batches[step % 4]
        loss = F.mse_loss(ref(X[idx]).squeeze(1), y[idx])
        ref.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= 0.1 * p.grad

    torch.manual_seed(1)
    model = torch.nn.Linear(3, 1)
    hist = train.fit(model, torch.optim.SGD(model.parameters(), lr=0.1),
                     batches=[(X[i], y[i]) for i in batches],
                     loss_fn=lambda m, b: F.mse_loss(m(b[0]).squeeze(1), b[1]),
                     steps=12, eval_every=5, plot=False,
                     eval_fn=lambda m: {"mse": F.mse_loss(m(X).squeeze(1), y).item()})
    for p, q in zip(ref.parameters(), model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert hist.steps == list(range(12)) and len(hist.train_loss) == 12
    assert hist.eval_steps == [0, 5, 10, 12]
    assert hist.last("mse") < hist.evals["mse"][0]
    assert model.training  # fit restores train mode after evaluating


def test_fit_rejects_bad_input():
    X, y = _regression_problem()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ok_loss = lambda m, b: F.mse_loss(m(X).squeeze(1), y)  # noqa: E731
    with pytest.raises(TypeError, match="nn.Module"):
        train.fit("model", opt, [0], ok_loss, steps=1, plot=False)
    with pytest.raises(ValueError, match="steps"):
        train.fit(model, opt, [0], ok_loss, steps=0, plot=False)
    with pytest.raises(TypeError, match="batches"):
        train.fit(model, opt, 5, ok_loss, steps=1, plot=False)
    with pytest.raises(ValueError, match="scalar"):
        train.fit(model, opt, [0], lambda m, b: m(X), steps=1, plot=False)
    with pytest.raises(TypeError, match="dict"):
        train.fit(model, opt, [0], ok_loss, steps=1, plot=False, eval_fn=lambda m: 1.0)


def test_fit_stops_on_divergence():
    X, y = _regression_problem()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e6)
    with pytest.raises(FloatingPointError, match="learning rate"):
        train.fit(model, opt, [0], lambda m, b: F.mse_loss(m(X).squeeze(1), y) * math.inf, steps=3, plot=False)


def test_history_last_unknown_name():
    with pytest.raises(KeyError):
        train.History().last("accuracy")


def test_fit_applies_the_lr_schedule():
    X, y = _regression_problem()
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    seen = []
    train.fit(model, opt, [0], lambda m, b: F.mse_loss(m(X).squeeze(1), y), steps=4, plot=False,
              lr_schedule=lambda step: seen.append(step) or 0.01 * (step + 1))
    assert seen == [0, 1, 2, 3] and opt.param_groups[0]["lr"] == pytest.approx(0.04)


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    cfg = train.TrainConfig(steps=100, lr=1e-3, warmup=10, min_lr_ratio=0.1)
    lrs = [train.lr_schedule(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_optimizer_decays_matrices_only(make_tiny_gpt):
    opt = train.make_optimizer(make_tiny_gpt(vocab_size=300), train.TrainConfig())
    decay, no_decay = opt.param_groups
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0.0


def test_fit_progress_text_stays_short(capsys):
    """In static mode (here: no notebook) the bar is text on stdout; the loss shown beside it must not
    force a redraw per update, or an executed copy holds one line per ten steps."""
    model = torch.nn.Linear(2, 1)
    batch = (torch.randn(8, 2), torch.randn(8, 1))
    train.fit(model, torch.optim.SGD(model.parameters(), lr=0.01), lambda step: batch,
              loss_fn=lambda m, b: F.mse_loss(m(b[0]), b[1]), steps=500, plot=False, desc="short")
    out = capsys.readouterr().out
    assert "500/500" in out and "loss=" in out
    assert out.count("\r") <= 5, f"{out.count(chr(13))} redraws for 500 steps"
