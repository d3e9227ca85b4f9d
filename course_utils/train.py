"""A small training loop for chapters that are not about the loop itself.

It is the loop chapter 00 writes by hand (forward, loss, backward, update), plus a progress
bar, periodic evaluation and a history of the numbers, nothing more:

    for step in range(steps):
        batch = next_batch(step)
        loss = loss_fn(model, batch)          # forward + loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()                       # gradients
        optimizer.step()                      # the update: this is where learning happens
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import torch

from .config import run_seed
from .plots import LiveLossPlot
from .widgets import progress


@dataclass
class History:
    """What ``fit`` measured: the training loss at every step, evaluations every ``eval_every``."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    evals: dict[str, list[float]] = field(default_factory=dict)

    def last(self, name: str = "train_loss") -> float:
        """The latest value of ``train_loss`` or of an evaluation metric."""
        values = self.train_loss if name == "train_loss" else self.evals.get(name)
        if not values:
            raise KeyError(f"no values recorded for {name!r}; known: train_loss, {sorted(self.evals)}")
        return values[-1]


def _batch_source(batches) -> Callable[[int], Any]:
    if callable(batches):
        return batches
    if isinstance(batches, Iterable):
        cycle = itertools.cycle(batches)
        return lambda _step: next(cycle)
    raise TypeError(f"batches must be a callable step -> batch or an iterable, got {type(batches).__name__}")


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    steps: int,
    eval_fn: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int = 100,
    clip_grad_norm: float | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    plot: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` for ``steps`` optimizer steps and return the :class:`History`.

    ``batches``: a function ``step -> batch`` or an iterable of batches (cycled).
    ``loss_fn(model, batch)``: a scalar loss tensor. ``eval_fn(model)``: a dict of numbers,
    called under ``torch.no_grad()`` with the model in ``eval()`` mode at step 0, every
    ``eval_every`` steps and at the end. ``clip_grad_norm``: clip the global gradient norm.
    ``lr_schedule(step)``: the learning rate to use at ``step`` (set on every parameter group).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive int, got {eval_every!r}")
    next_batch = _batch_source(batches)
    history = History()
    live = LiveLossPlot(title=desc) if plot else None

    def evaluate(step: int) -> None:
        if eval_fn is None:
            return
        was_training = model.training
        model.eval()
        with torch.no_grad():
            metrics = eval_fn(model)
        model.train(was_training)
        if not isinstance(metrics, dict):
            raise TypeError(f"eval_fn must return a dict of numbers, got {type(metrics).__name__}")
        history.eval_steps.append(step)
        for name, value in metrics.items():
            history.evals.setdefault(name, []).append(float(value))
        if live is not None:
            live.update(step, **metrics)

    model.train()
    evaluate(0)
    bar = progress(range(steps), desc=desc, leave=True)
    for step in bar:
        loss = loss_fn(model, next_batch(step))
        if not torch.is_tensor(loss) or loss.dim() != 0:
            raise ValueError("loss_fn must return a scalar tensor (0-dim)")
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"the loss became {value} at step {step}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if lr_schedule is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_schedule(step)
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        history.steps.append(step)
        history.train_loss.append(value)
        if live is not None:
            live.update(step, train=value)
        if (step + 1) % eval_every == 0 and step + 1 < steps:
            evaluate(step + 1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)   # drawn at the next refresh
    evaluate(steps)
    if live is not None:
        live.finish()
    return history


# ---- the settings and pieces every transformer run shares (chapters 06-10) ----------------------
@dataclass
class TrainConfig:
    steps: int = 1000
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.1   # cosine decays to lr * min_lr_ratio
    warmup: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    seed: int = field(default_factory=run_seed)  # 1337 unless COURSE_SEED is set


def lr_schedule(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to ``cfg.lr`` over ``cfg.warmup`` steps, then cosine down to lr * min_lr_ratio."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; weight decay on the matrices (embeddings included), none
    on biases and LayerNorm gains. Frozen parameters (``requires_grad=False``) get no optimizer state."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
