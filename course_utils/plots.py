"""One plotting style for the whole course, and a loss plot that updates while training.

``LiveLossPlot`` redraws in place inside Jupyter (at most once every ``min_interval`` seconds,
so plotting never dominates a training loop) and, when no display is attached (plain Python,
nbconvert, CI), keeps the numbers and draws once when ``finish()`` is called.
"""
from __future__ import annotations

import time

import matplotlib

STYLE = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course style to matplotlib (idempotent)."""
    matplotlib.rcParams.update(STYLE)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich output can be displayed)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with jupyterlab
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveLossPlot:
    """Collect loss values by step and draw them as curves, live in a notebook.

    >>> plot = LiveLossPlot(title="MLP on digits")
    >>> plot.update(0, train=2.30); plot.update(100, train=0.41, val=0.52)
    >>> fig = plot.finish()
    """

    def __init__(self, title: str = "Training loss", ylabel: str = "loss", logy: bool = False,
                 min_interval: float = 1.0, live: bool | None = None):
        self.title, self.ylabel, self.logy = title, ylabel, logy
        self.min_interval = float(min_interval)
        self.live = in_notebook() if live is None else bool(live)
        self.series: dict[str, tuple[list, list]] = {}
        self._last_draw = 0.0
        self._handle = None

    def update(self, step: int, **values: float) -> None:
        """Record ``values`` (name=number) at ``step``; redraw if live and enough time has passed."""
        if not values:
            raise ValueError("update() needs at least one named value, e.g. update(step, train=0.5)")
        for name, value in values.items():
            value = float(value)
            xs, ys = self.series.setdefault(name, ([], []))
            xs.append(int(step))
            ys.append(value)
        if self.live and time.monotonic() - self._last_draw >= self.min_interval:
            self._draw_live()

    def figure(self):
        """A new matplotlib figure of everything recorded so far."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        for name, (xs, ys) in self.series.items():
            ax.plot(xs, ys, label=name, marker="o" if len(xs) < 30 else None, markersize=3)
        ax.set(title=self.title, xlabel="step", ylabel=self.ylabel)
        if self.logy:
            ax.set_yscale("log")
        if self.series:
            ax.legend()
        return fig

    def _draw_live(self):
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)  # already rendered; closing keeps it from being shown twice
        self._last_draw = time.monotonic()
        return fig

    def finish(self):
        """Draw the final state (in place when live, else once) and return the figure."""
        import matplotlib.pyplot as plt

        if self.live:
            return self._draw_live()
        fig = self.figure()
        if in_notebook():
            plt.show()
        return fig
