"""The "key results" cell every notebook ends with.

``report(chapter, rows)`` prints one table of the chapter's measured numbers next to the
target for the current mode and raises if a target is missed. When the environment variable
``COURSE_RESULTS_DIR`` is set (``make bench`` sets it), the rows are also written to
``<dir>/<chapter>.json`` so the benchmark table can quote them.
"""
from __future__ import annotations

import json
import math
import operator
import os
from pathlib import Path

from .config import is_fast

RESULTS_ENV = "COURSE_RESULTS_DIR"
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


class TargetMissed(AssertionError):
    """A measured number missed its target for the current mode."""


def row(name: str, value: float, op: str | None = None, fast: float | None = None,
        full: float | None = None, fmt: str = ".4g") -> dict:
    """One result: ``value`` must satisfy ``value <op> target`` (target picked by mode).

    ``op=None`` reports a number without a target.
    """
    if op is not None and op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)} or None, got {op!r}")
    value = float(value)
    target = (fast if is_fast() else full) if op else None
    return {"name": name, "value": value, "op": op, "target": target, "fmt": fmt}


def report(chapter: str, rows: list[dict]) -> None:
    """Print the table, write it for ``make bench`` if asked, and assert every target."""
    if not rows:
        raise ValueError("report() needs at least one row")
    mode = "FAST" if is_fast() else "full"
    width = max(len(r["name"]) for r in rows)
    print(f"Key results, chapter {chapter} ({mode} mode)")
    print(f"{'measure':<{width}}  {'value':>12}  target")
    missed = []
    for r in rows:
        value = format(r["value"], r["fmt"])
        if r["op"] is None or r["target"] is None:
            verdict = ""
        else:
            ok = not math.isnan(r["value"]) and _OPS[r["op"]](r["value"], r["target"])
            verdict = f"{r['op']} {r['target']:{r['fmt']}}  {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(r["name"])
        print(f"{r['name']:<{width}}  {value:>12}  {verdict}")
    out_dir = os.environ.get(RESULTS_ENV)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(out_dir) / f"{chapter}.json", "w", encoding="utf-8") as f:
            json.dump({"chapter": chapter, "mode": mode, "rows": rows}, f, indent=1)
    if missed:
        raise TargetMissed(f"targets missed in {mode} mode: {', '.join(missed)}")
