"""`make bench`: run every notebook in FAST and full mode, time it, check the budgets.

Writes build/BENCHMARKS.md: one row per notebook with its wall time in each mode next to the
budget of DESIGN.md section 6, then each chapter's key results (from `results.report`).
Exit status 1 if a notebook fails, a budget is exceeded or a key result misses its target (a
learner's full run only prints MISSED; the benchmark counts it).

    python tests/benchmarks/bench_notebooks.py [--modes fast,full] [--only 00,01]

Timings on a shared machine are noisy; compare notebooks within one run, not across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
BUDGET_S = {"fast": 60, "full": 300}
BUDGET_OVERRIDES_S = {("08", "full"): 600}
TOTAL_BUDGET_S = {"fast": 8 * 60, "full": 45 * 60}


def run_notebook(path: Path, mode: str) -> tuple[float, str | None]:
    """Execute ``path`` in ``mode``; return (seconds, error message or None)."""
    env_backup = dict(os.environ)
    os.environ["COURSE_FAST"] = "1" if mode == "fast" else "0"
    os.environ["COURSE_STATIC"] = "1"
    os.environ["COURSE_RESULTS_DIR"] = str(BUILD / "results" / mode)
    (BUILD / "results" / mode / f"{path.name[:2]}.json").unlink(missing_ok=True)  # no stale results
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1][:300]
    finally:
        seconds = time.perf_counter() - start
        os.environ.clear()
        os.environ.update(env_backup)
    out_dir = BUILD / "executed" / mode
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return seconds, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="fast,full")
    parser.add_argument("--only", default="", help="comma-separated chapter numbers, e.g. 00,01")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in BUDGET_S for m in modes):
        parser.error(f"modes must be among {sorted(BUDGET_S)}")
    only = {c for c in args.only.split(",") if c}
    notebooks = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if not only or p.name[:2] in only]
    if not notebooks:
        parser.error("no notebook matched")

    rows, failed, totals = [], False, {m: 0.0 for m in modes}
    for path in notebooks:
        row = {"notebook": path.name}
        for mode in modes:
            print(f"[bench] {path.name} ({mode}) ...", flush=True)
            seconds, error = run_notebook(path, mode)
            budget = BUDGET_OVERRIDES_S.get((path.name[:2], mode), BUDGET_S[mode])
            ok = error is None and seconds <= budget
            failed |= not ok
            totals[mode] += seconds
            row[mode] = (seconds, budget, "ok" if ok else (f"FAILED: {error}" if error else "OVER BUDGET"))
            print(f"[bench]   {seconds:.1f} s (budget {budget} s): {row[mode][2]}", flush=True)
        rows.append(row)

    lines = ["# Benchmarks", "", f"Machine: {os.cpu_count()} CPU cores. Written by `make bench` "
             f"on {time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| notebook | " + " | ".join(f"{m} time (budget)" for m in modes) + " | status |",
             "|---|" + "---|" * len(modes) + "---|"]
    for row in rows:
        cells = [f"{row[m][0]:.1f} s ({row[m][1]} s)" for m in modes]
        status = "; ".join(f"{m}: {row[m][2]}" for m in modes)
        lines.append(f"| {row['notebook']} | " + " | ".join(cells) + f" | {status} |")
    total_cells = []
    for m in modes:
        over = totals[m] > TOTAL_BUDGET_S[m]
        failed |= over and not only
        total_cells.append(f"{totals[m]:.1f} s ({TOTAL_BUDGET_S[m]} s){' OVER' if over else ''}")
    lines.append("| **all notebooks** | " + " | ".join(total_cells) + " | |")

    for mode in modes:
        for path in notebooks:
            result_file = BUILD / "results" / mode / f"{path.name[:2]}.json"
            if not result_file.exists():
                continue
            saved = json.loads(result_file.read_text())
            if saved.get("missed"):
                failed = True
                print(f"[bench] {path.name} ({mode}): targets missed: {', '.join(saved['missed'])}", flush=True)
            lines += ["", f"## {path.name}: key results ({mode} mode)", "", "| measure | value | target |",
                      "|---|---|---|"]
            for r in saved["rows"]:
                target = f"{r['op']} {r['target']:{r['fmt']}}" if r["op"] and r["target"] is not None else ""
                verdict = " MISSED" if r["name"] in saved.get("missed", []) else ""
                lines.append(f"| {r['name']} | {r['value']:{r['fmt']}} | {target}{verdict} |")
    BUILD.mkdir(exist_ok=True)
    (BUILD / "BENCHMARKS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\n[bench] wrote {BUILD / 'BENCHMARKS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
