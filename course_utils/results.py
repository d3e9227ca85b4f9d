"""The "key results" cell every notebook ends with.

A notebook gathers its measured numbers in a :class:`Table` (``results_rows``) as it goes, and
``report(chapter, rows)`` prints them next to the target for the current mode. What a missed
target does depends on who is running:

- FAST mode (the tests, nbval): :class:`TargetMissed` is raised, so CI fails.
- full mode (a learner's Restart & Run All): the row is marked MISSED, one plain sentence says
  what the number means, and the notebook goes on to its summary and glossary.
- ``make bench`` sets ``COURSE_RESULTS_DIR``: the rows (and the names of missed ones) are also
  written to ``<dir>/<chapter>.json``, and the benchmark exits non-zero on any miss.
"""
from __future__ import annotations

import json
import math
import operator
import os
from pathlib import Path
from typing import Iterable, Iterator

from .config import is_fast

RESULTS_ENV = "COURSE_RESULTS_DIR"
_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
# Said of a missed row that brings no sentence of its own.
DEFAULT_MISSED = ("this run's number fell outside the range the chapter was tuned for; small models "
                  "trained for few steps move between seeds and CPUs, so compare it with the spread "
                  "the text gives. Nothing later in the chapter depends on it.")


class TargetMissed(AssertionError):
    """A measured number missed its target for the current mode."""


def row(name: str, value: float, op: str | None = None, fast: float | None = None,
        full: float | None = None, fmt: str = ".4g", missed: str | None = None) -> dict:
    """One result: ``value`` must satisfy ``value <op> target`` (target picked by mode).

    ``op=None`` reports a number without a target. ``missed`` is the sentence printed when the
    target is missed in full mode: what the number means for the learner.
    """
    if op is not None and op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)} or None, got {op!r}")
    value = float(value)
    target = (fast if is_fast() else full) if op else None
    return {"name": name, "value": value, "op": op, "target": target, "fmt": fmt,
            "missed": missed or DEFAULT_MISSED}


class Table:
    """A notebook's result rows, by name: recording a row again replaces it in place.

    Cells are re-run all the time in a notebook; with a plain list, every re-run would add its
    rows to the key-results table a second time.
    """

    def __init__(self, rows: Iterable[dict] = ()):
        self._rows: dict[str, dict] = {}
        self.extend(rows)

    def append(self, result: dict) -> None:
        if not isinstance(result, dict) or "name" not in result:
            raise TypeError(f"a result is a dict made by results.row(...), got {result!r}")
        self._rows[result["name"]] = result

    def extend(self, rows: Iterable[dict]) -> None:
        for result in rows:
            self.append(result)

    def __iadd__(self, rows: Iterable[dict]) -> "Table":
        self.extend(rows)
        return self

    def __iter__(self) -> Iterator[dict]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)


def _is_met(r: dict) -> bool:
    return not math.isnan(r["value"]) and _OPS[r["op"]](r["value"], r["target"])


def report(chapter: str, rows: Iterable[dict]) -> None:
    """Print the table, write it for ``make bench`` if asked; raise on a miss in FAST mode."""
    rows = list(Table(rows))
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
            ok = _is_met(r)
            verdict = f"{r['op']} {r['target']:{r['fmt']}}  {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(r)
        print(f"{r['name']:<{width}}  {value:>12}  {verdict}")
    out_dir = os.environ.get(RESULTS_ENV)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(out_dir) / f"{chapter}.json", "w", encoding="utf-8") as f:
            json.dump({"chapter": chapter, "mode": mode, "rows": rows,
                       "missed": [r["name"] for r in missed]}, f, indent=1)
    if missed and is_fast():
        raise TargetMissed(f"targets missed in {mode} mode: {', '.join(r['name'] for r in missed)}")
    for r in missed:
        print(f"\nMISSED: {r['name'].strip()}: {r['missed']}")
