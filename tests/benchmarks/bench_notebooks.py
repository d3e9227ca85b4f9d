"""`make bench`: run every notebook in FAST and full mode, time it, check the budgets.

Writes build/BENCHMARKS.md: one row per notebook with its wall time in each mode next to the
budget of DESIGN.md section 6, then each chapter's key results (from `results.report`).
The LLM chapters (06-10) run in full mode once per seed (``COURSE_SEED``; default 1337, 1, 2):
their results are a small model's training, which moves between seeds and CPUs, so each key
result is reported as the value at every seed, the mean and the spread (min-max), and a target
counts as met only if every seed meets it.
Exit status 1 if a notebook fails, a budget is exceeded or a key result misses its target at any
seed (a learner's full run only prints MISSED; the benchmark counts it).

    python tests/benchmarks/bench_notebooks.py [--modes fast,full] [--only 00,01] [--seeds 1337,1,2]

Timings on a shared machine are noisy; compare notebooks within one run, not across runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
BUDGET_S = {"fast": 60, "full": 300}
BUDGET_OVERRIDES_S = {("08", "full"): 600, ("10", "full"): 600, ("10", "fast"): 120}
TOTAL_BUDGET_S = {"fast": 10 * 60, "full": 55 * 60}  # DESIGN.md section 6
COURSE_SEED = 1337
SEEDED = {"06", "07", "08", "09", "10"}  # chapters whose full-mode results are measured at every seed


def results_file(mode: str, seed: int, chapter: str) -> Path:
    return BUILD / "results" / mode / f"seed-{seed}" / f"{chapter}.json"


def run_notebook(path: Path, mode: str, seed: int) -> tuple[float, str | None]:
    """Execute ``path`` in ``mode`` with ``COURSE_SEED=seed``; return (seconds, error message or None)."""
    env_backup = dict(os.environ)
    os.environ["COURSE_FAST"] = "1" if mode == "fast" else "0"
    os.environ["COURSE_STATIC"] = "1"
    os.environ["COURSE_SEED"] = str(seed)
    os.environ["COURSE_RESULTS_DIR"] = str(results_file(mode, seed, "00").parent)
    results_file(mode, seed, path.name[:2]).unlink(missing_ok=True)  # no stale results
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", coalesce_streams=True,
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
    out_dir = BUILD / "executed" / mode / ("" if seed == COURSE_SEED else f"seed-{seed}")
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    # The notebooks link their diagrams as ../images/NAME.png; give the executed copy the same neighbour.
    shutil.copytree(ROOT / "images", out_dir.parent / "images", dirs_exist_ok=True)
    return seconds, error


def seeds_for(chapter: str, mode: str, seeds: list[int]) -> list[int]:
    return seeds if mode == "full" and chapter in SEEDED else seeds[:1]


def summarise(runs: dict[int, dict]) -> list[dict]:
    """Rows of one chapter across seeds: {name, fmt, op, target, values (by seed), missed (seeds)}."""
    merged: dict[str, dict] = {}
    for seed, saved in runs.items():
        for r in saved["rows"]:
            m = merged.setdefault(r["name"], {"name": r["name"], "fmt": r["fmt"], "op": r["op"],
                                              "target": r["target"], "values": {}, "missed": []})
            m["values"][seed] = r["value"]
            if r["name"] in saved.get("missed", []):
                m["missed"].append(seed)
    return list(merged.values())


def result_lines(title: str, rows: list[dict], seeds: list[int]) -> list[str]:
    many = len(seeds) > 1
    head = ["measure"] + ([f"seed {s}" for s in seeds] + ["mean", "spread (min-max)"] if many else ["value"]) + ["target"]
    lines = ["", f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        f = r["fmt"]
        values = [r["values"].get(s) for s in seeds]
        cells = ["" if v is None else f"{v:{f}}" for v in values]
        present = [v for v in values if v is not None]
        if many and present:
            cells += [f"{statistics.fmean(present):{f}}", f"{min(present):{f}} to {max(present):{f}}"]
        elif many:
            cells += ["", ""]
        target = f"{r['op']} {r['target']:{f}}" if r["op"] and r["target"] is not None else ""
        if target and r["missed"]:
            target += f" MISSED at seed {', '.join(map(str, r['missed']))}"
        elif target and many:
            target += f" (met at all {len(present)})"
        lines.append(f"| {r['name']} | " + " | ".join(cells) + f" | {target} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="fast,full")
    parser.add_argument("--only", default="", help="comma-separated chapter numbers, e.g. 00,01")
    parser.add_argument("--seeds", default=f"{COURSE_SEED},1,2",
                        help=f"seeds for the full-mode runs of chapters {', '.join(sorted(SEEDED))}; "
                             "the first is used for every other run")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in BUDGET_S for m in modes):
        parser.error(f"modes must be among {sorted(BUDGET_S)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    if not seeds or len(set(seeds)) != len(seeds):
        parser.error("--seeds needs at least one seed and no repeats")
    only = {c for c in args.only.split(",") if c}
    notebooks = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if not only or p.name[:2] in only]
    if not notebooks:
        parser.error("no notebook matched")

    rows, failed, totals = [], False, {m: 0.0 for m in modes}
    for path in notebooks:
        row = {"notebook": path.name}
        for mode in modes:
            budget = BUDGET_OVERRIDES_S.get((path.name[:2], mode), BUDGET_S[mode])
            times, errors = [], []
            for seed in seeds_for(path.name[:2], mode, seeds):
                print(f"[bench] {path.name} ({mode}, seed {seed}) ...", flush=True)
                seconds, error = run_notebook(path, mode, seed)
                times.append(seconds)
                if error:
                    errors.append(f"seed {seed}: {error}")
                print(f"[bench]   {seconds:.1f} s (budget {budget} s){': FAILED ' + error if error else ''}", flush=True)
            ok = not errors and max(times) <= budget
            failed |= not ok
            totals[mode] += times[0]  # one learner's Run All of every notebook
            status = "ok" if ok else (f"FAILED: {'; '.join(errors)}" if errors else "OVER BUDGET")
            row[mode] = (times, budget, status)
        rows.append(row)

    lines = ["# Benchmarks", "", f"Machine: {os.cpu_count()} CPU cores. Written by `make bench` "
             f"on {time.strftime('%Y-%m-%d %H:%M')}. Chapters {', '.join(sorted(SEEDED))} run in full mode "
             f"at seeds {', '.join(map(str, seeds))}: their time is the range over those runs (each one "
             "retrains the cached models, as a first run does).", "",
             "| notebook | " + " | ".join(f"{m} time (budget)" for m in modes) + " | status |",
             "|---|" + "---|" * len(modes) + "---|"]
    for row in rows:
        cells = []
        for m in modes:
            times, budget, _ = row[m]
            span = f"{times[0]:.1f} s" if len(times) == 1 else f"{min(times):.0f}-{max(times):.0f} s ({len(times)} runs)"
            cells.append(f"{span} ({budget} s, {max(times) / budget:.0%})")
        status = "; ".join(f"{m}: {row[m][2]}" for m in modes)
        lines.append(f"| {row['notebook']} | " + " | ".join(cells) + f" | {status} |")
    total_cells = []
    for m in modes:
        over = totals[m] > TOTAL_BUDGET_S[m]
        failed |= over and not only
        total_cells.append(f"{totals[m]:.1f} s ({TOTAL_BUDGET_S[m]} s){' OVER' if over else ''}")
    lines.append("| **all notebooks** (seed " + str(seeds[0]) + ") | " + " | ".join(total_cells) + " | |")

    for mode in modes:
        for path in notebooks:
            chapter = path.name[:2]
            chapter_seeds = seeds_for(chapter, mode, seeds)
            runs = {s: json.loads(results_file(mode, s, chapter).read_text())
                    for s in chapter_seeds if results_file(mode, s, chapter).exists()}
            if not runs:
                continue
            summary = summarise(runs)
            missed = [f"{r['name']} (seed {', '.join(map(str, r['missed']))})" for r in summary if r["missed"]]
            if missed:
                failed = True
                print(f"[bench] {path.name} ({mode}): targets missed: {'; '.join(missed)}", flush=True)
            lines += result_lines(f"{path.name}: key results ({mode} mode)", summary, chapter_seeds)
    BUILD.mkdir(exist_ok=True)
    (BUILD / "BENCHMARKS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"\n[bench] wrote {BUILD / 'BENCHMARKS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
