"""Watch the inside of any ``nn.Module`` while it trains: activations, gradients, update sizes.

    monitor = Monitor(model, optimizer, every=100)   # hooks in; the training loop is unchanged
    ... train ...
    monitor.plot_histograms(); monitor.plot_ratios("update"); monitor.remove()

Every ``every`` optimizer steps the monitor takes one *sample*:

- for each activation layer (``nn.Tanh``, ``nn.ReLU``, ...; a forward hook): the mean and std of
  its output, the **saturation** fraction (|tanh| > 0.97, or sigmoid within 0.015 of 0 or 1), the
  fraction of **dead** units (outputs exactly 0 for every example in the batch: ReLU-style layers),
  and the std of the gradient flowing back into the output (a tensor hook);
- for each weight matrix (parameters with 2 or more dimensions; optimizer hooks): the
  grad:data ratio ``std(grad) / std(weight)`` before the step and the update:data ratio
  ``std(weight_after - weight_before) / std(weight_before)``. A healthy update:data ratio is
  around 1e-3 (log10 = -3): much smaller and the layer barely learns, much larger and it thrashes.

On the other steps the hooks return at once, so watching costs little (measured in chapter 01).
After each sample a plain ``if`` compares saturation and dead fractions with the thresholds and
prints a warning (kept in ``monitor.warnings``).
"""
from __future__ import annotations

import math
from collections import defaultdict

import torch
import torch.nn as nn

ACTIVATIONS = (nn.Tanh, nn.Sigmoid, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.GELU, nn.SiLU)
RELU_LIKE = (nn.ReLU,)


def saturation_fraction(out: torch.Tensor, module: nn.Module, threshold: float = 0.97) -> float:
    """Fraction of outputs in the flat tails: |y| > threshold for tanh, |2y - 1| > threshold for sigmoid.

    NaN for activations that do not saturate (ReLU family, GELU, SiLU).
    """
    if isinstance(module, nn.Tanh):
        return (out.abs() > threshold).float().mean().item()
    if isinstance(module, nn.Sigmoid):
        return ((2 * out - 1).abs() > threshold).float().mean().item()
    return math.nan


def dead_fraction(out: torch.Tensor) -> float:
    """Fraction of units whose output is exactly 0 for every example: ``out (B, ...units)``."""
    if out.dim() < 2:
        raise ValueError(f"dead_fraction needs a batch: out must be (B, units...), got shape {tuple(out.shape)}")
    return (out == 0).flatten(1).all(dim=0).float().mean().item()


class Monitor:
    """Hooks that sample layer statistics every ``every`` optimizer steps. See the module docstring.

    ``optimizer=None`` watches forward/backward passes only (no update ratios); every training-mode
    forward pass is then sampled, which suits one-off measurements at initialisation.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, every: int = 100,
                 saturation_threshold: float = 0.97, warn_saturated: float = 0.10, warn_dead: float = 0.10,
                 keep_values: int = 4096, verbose: bool = True, max_printed: int = 3):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        self.model, self.optimizer, self.every = model, optimizer, every
        self.saturation_threshold = saturation_threshold
        self.warn_saturated, self.warn_dead = warn_saturated, warn_dead
        self.keep_values, self.verbose, self.max_printed = keep_values, verbose, max_printed
        self.step = 0
        self.acts: dict[str, list[dict]] = defaultdict(list)     # layer -> one dict per sample
        self.params: dict[str, list[dict]] = defaultdict(list)   # weight -> one dict per sample
        self.values: dict[str, torch.Tensor] = {}                # layer -> latest output sample
        self.grads: dict[str, torch.Tensor] = {}                 # layer -> latest output-gradient sample
        self.warnings: list[str] = []
        self._before: dict[str, torch.Tensor] = {}
        self._handles = []
        self.layers = {name: m for name, m in model.named_modules() if isinstance(m, ACTIVATIONS)}
        self.weights = {name: p for name, p in model.named_parameters() if p.dim() >= 2}
        if not self.layers and not self.weights:
            raise ValueError("the model has no activation layers and no weight matrices to watch")
        for name, module in self.layers.items():
            self._handles.append(module.register_forward_hook(self._forward_hook(name)))
        if optimizer is not None:
            self._handles.append(optimizer.register_step_pre_hook(self._before_update))
            self._handles.append(optimizer.register_step_post_hook(self._after_update))

    # -- sampling -------------------------------------------------------------------------
    def sampling(self) -> bool:
        """True on the steps this monitor samples."""
        return self.optimizer is None or self.step % self.every == 0

    def _forward_hook(self, name):
        def hook(module, inputs, out):
            if not (module.training and self.sampling() and torch.is_tensor(out)):
                return
            o = out.detach()
            row = {"step": self.step, "mean": o.mean().item(), "std": o.std().item(),
                   "saturated": saturation_fraction(o, module, self.saturation_threshold),
                   "dead": dead_fraction(o) if isinstance(module, RELU_LIKE) and o.dim() >= 2 else math.nan,
                   "grad_std": math.nan}
            self.acts[name].append(row)
            self.values[name] = o.flatten()[: self.keep_values].cpu()
            if out.requires_grad:
                def grad_hook(grad, row=row):
                    row["grad_std"] = grad.std().item()
                    self.grads[name] = grad.detach().flatten()[: self.keep_values].cpu()
                out.register_hook(grad_hook)
            if self.optimizer is None:
                self._check(name, row)
        return hook

    def _before_update(self, optimizer, args, kwargs):
        if not self.sampling():
            return
        for name, p in self.weights.items():
            if p.grad is not None:
                self._before[name] = p.detach().clone()
                self.params[name].append({"step": self.step, "grad_data": (p.grad.std() / p.detach().std()).item(),
                                          "update_data": math.nan})

    def _after_update(self, optimizer, args, kwargs):
        if self.sampling():
            for name, before in self._before.items():
                after = self.weights[name].detach()
                self.params[name][-1]["update_data"] = ((after - before).std() / before.std()).item()
            self._before = {}
            for name, rows in self.acts.items():
                if rows and rows[-1]["step"] == self.step:
                    self._check(name, rows[-1])
        self.step += 1

    def _check(self, name: str, row: dict) -> None:
        """The plain ``if`` check: warn when a layer saturates or its units die."""
        message = None
        if row["saturated"] > self.warn_saturated:
            message = f"step {row['step']}: {name} has {row['saturated']:.0%} of outputs saturated"
        if row["dead"] > self.warn_dead:
            message = f"step {row['step']}: {name} has {row['dead']:.0%} dead units"
        if message:
            self.warnings.append(message)
            if self.verbose and len(self.warnings) <= self.max_printed:
                from tqdm.auto import tqdm

                more = " (further warnings are kept in monitor.warnings)" if len(self.warnings) == self.max_printed else ""
                tqdm.write("warning: " + message + more)

    def remove(self) -> None:
        """Detach every hook; the model and optimizer are as before."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -- reading the results ----------------------------------------------------------------
    def latest(self) -> list[dict]:
        """One row per activation layer with its most recent statistics."""
        return [{"layer": name, **rows[-1]} for name, rows in self.acts.items() if rows]

    def series(self, kind: str = "update") -> dict[str, tuple[list[int], list[float]]]:
        """Per weight: (steps, log10 ratio) for kind 'update' (update:data) or 'grad' (grad:data)."""
        key = {"update": "update_data", "grad": "grad_data"}.get(kind)
        if key is None:
            raise ValueError(f"kind must be 'update' or 'grad', got {kind!r}")
        out = {}
        for name, rows in self.params.items():
            pts = [(r["step"], math.log10(r[key])) for r in rows if r[key] > 0 and math.isfinite(r[key])]
            if pts:
                out[name] = ([s for s, _ in pts], [v for _, v in pts])
        return out

    def plot_histograms(self, which: str = "values", title: str | None = None):
        """Histograms of the latest sampled outputs (``which='values'``) or their gradients ('grads')."""
        import matplotlib.pyplot as plt

        source = {"values": self.values, "grads": self.grads}.get(which)
        if source is None:
            raise ValueError(f"which must be 'values' or 'grads', got {which!r}")
        if not source:
            raise RuntimeError("nothing sampled yet: run a training-mode forward (and backward) pass first")
        fig, ax = plt.subplots(figsize=(9, 3.8))
        for name, vals in source.items():
            row = self.acts[name][-1]
            extra = f", {row['saturated']:.0%} saturated" if not math.isnan(row["saturated"]) else ""
            extra += f", {row['dead']:.0%} dead" if not math.isnan(row["dead"]) else ""
            hist, edges = torch.histogram(vals.float(), bins=60)
            centres = (edges[:-1] + edges[1:]) / 2
            ax.plot(centres, hist / hist.sum(), label=f"{name} ({type(self.layers[name]).__name__}): "
                    f"mean {vals.mean():+.2f}, std {vals.std():.2f}{extra}")
        ax.set(xlabel="output value" if which == "values" else "gradient value", ylabel="fraction of values",
               title=title or f"Layer {'outputs' if which == 'values' else 'output gradients'} at step {self.step}")
        ax.legend(fontsize=8)
        return fig

    def plot_ratios(self, kind: str = "update", title: str | None = None):
        """log10 of update:data (or grad:data) per weight matrix over training, with the 1e-3 guide."""
        import matplotlib.pyplot as plt

        series = self.series(kind)
        if not series:
            raise RuntimeError("no ratios recorded: the monitor needs an optimizer and at least one step")
        fig, ax = plt.subplots(figsize=(9, 3.8))
        for name, (steps, values) in series.items():
            ax.plot(steps, values, label=name)
        if kind == "update":
            ax.axhline(-3, color="black", ls="--", lw=1, label="1e-3 guide")
        ax.set(xlabel="step", ylabel=f"log10 {kind}:data ratio",
               title=title or f"{kind.capitalize()}:data ratio per weight matrix")
        ax.legend(fontsize=8)
        return fig
