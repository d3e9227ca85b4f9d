"""Interactive controls that still show something useful without a live front end.

In JupyterLab or Colab, :func:`interact` shows the controls and redraws when they change.
Where no front end can run widgets (nbval, nbconvert, a notebook viewer), the cell instead
calls the function once with the controls' starting values, so the executed notebook still
holds the picture. The test command sets ``COURSE_STATIC=1`` to ask for that static form.
"""
from __future__ import annotations

import os
from typing import Callable

from .plots import in_notebook

STATIC_ENV = "COURSE_STATIC"
STATIC_NOTE = (
    "(static rendering with the default settings; open the notebook in JupyterLab or Colab "
    "to move the controls)"
)


def static_mode() -> bool:
    """True when widgets cannot be used: outside a Jupyter kernel, or ``COURSE_STATIC=1``."""
    return not in_notebook() or os.environ.get(STATIC_ENV, "").strip() in ("1", "true", "yes")


def progress(iterable=None, **kwargs):
    """A tqdm progress bar: a widget in a live notebook, plain text in static mode.

    nbconvert saves a widget bar as it was first drawn (0%), so an executed copy would show every
    training as never started; in static mode the bar is text on stdout, redrawn every few seconds,
    and the copy keeps its last state: steps done, time taken, speed. Takes tqdm's arguments.
    """
    if static_mode():
        import sys

        from tqdm.std import tqdm

        kwargs.setdefault("mininterval", 5.0)
        kwargs.setdefault("ncols", 100)
        return tqdm(iterable, file=sys.stdout, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def interact(fn: Callable, **controls):
    """Show ``fn`` with one control per keyword argument, or its static rendering.

    Each control is an ipywidgets value widget (``IntSlider``, ``Dropdown``, ``Text``, ...);
    ``fn`` is called with the controls' values as keyword arguments. Returns the
    ``ipywidgets.interactive`` object (its ``.children`` are the controls, then the output
    area), or in static mode a ``VBox`` of the controls, which nothing displays.
    """
    import ipywidgets as W

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not controls:
        raise ValueError("interact() needs at least one control, e.g. lr=FloatLogSlider(...)")
    for name, widget in controls.items():
        if not isinstance(widget, W.ValueWidget):
            raise TypeError(
                f"control {name!r} must be an ipywidgets value widget (IntSlider, Dropdown, ...), "
                f"got {type(widget).__name__}"
            )
    if static_mode():
        print(STATIC_NOTE)
        fn(**{name: w.value for name, w in controls.items()})
        return W.VBox(list(controls.values()))
    from IPython.display import display

    widget = W.interactive(fn, **controls)
    display(widget)
    return widget
