"""Where the course lives on GitHub, and every line that points there.

``REPO`` and ``BRANCH`` are set here and nowhere else. Each notebook's Open-in-Colab badge, the
Colab install line of its setup cell and the README's chapter-table badges are generated from
them::

    python -m course_utils.colab           # rewrite whatever drifted
    python -m course_utils.colab --check   # list drift and exit 1 (the tests do this)

A fork only edits ``REPO``/``BRANCH`` below and runs the first command.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = "scratch-to-chat/scratch-to-chat"
BRANCH = "main"

ROOT = Path(__file__).resolve().parents[1]
_BADGE_URL = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"']+")
_INSTALL_URL = re.compile(r"git\+https://github\.com/[^)\s\"']+")


def badge_url(notebook: str) -> str:
    """Colab's address for ``notebooks/<notebook>`` on GitHub, e.g. ``badge_url("00_x.ipynb")``."""
    if not re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", notebook):
        raise ValueError(f"expected a chapter notebook name like '00_topic.ipynb', got {notebook!r}")
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/notebooks/{notebook}"


def install_url() -> str:
    """What the setup cell passes to ``pip install`` on Colab."""
    return f"git+https://github.com/{REPO}@{BRANCH}"


def _fix_notebook(path: Path) -> tuple[str, list[str]]:
    """Return the notebook's corrected JSON text and the list of what was wrong."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = []

    def rewrite(cell, pattern, replacement, what):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if not pattern.search(text):
            problems.append(f"{path.name}: no {what} found")
            return
        new = pattern.sub(replacement, text)
        if new != text:
            problems.append(f"{path.name}: {what} drifted")
            cell["source"] = new.splitlines(keepends=True)

    cells = nb["cells"]
    rewrite(cells[0], _BADGE_URL, badge_url(path.name), "Colab badge in the title cell")
    setup = next((c for c in cells[:4] if c["cell_type"] == "code"), None)
    if setup is None:
        problems.append(f"{path.name}: no setup code cell among the first four cells")
    else:
        rewrite(setup, _INSTALL_URL, install_url(), "Colab install line in the setup cell")
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n", problems


def _fix_readme(path: Path, notebooks: list[str]) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    problems = []
    lines = text.splitlines(keepends=True)
    for name in notebooks:
        row = next((i for i, line in enumerate(lines)
                    if line.startswith("|") and f"(notebooks/{name})" in line), None)
        if row is None:
            problems.append(f"README.md: {name} is not in the chapter table")
            continue
        new = _BADGE_URL.sub(badge_url(name), lines[row])
        if new == lines[row] and badge_url(name) not in new:
            problems.append(f"README.md: the row of {name} has no Colab badge")
        elif new != lines[row]:
            problems.append(f"README.md: Colab badge of {name} drifted")
            lines[row] = new
    return "".join(lines), problems


def sync(root: Path = ROOT, check: bool = False) -> list[str]:
    """Bring badges and install lines in line with ``REPO``/``BRANCH``; return the drift found.

    With ``check=True`` nothing is written. Problems that cannot be fixed by rewriting (a
    missing badge, a notebook absent from the README) are reported either way.
    """
    root = Path(root)
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks under {root / 'notebooks'}")
    problems = []
    for path in notebooks:
        text, found = _fix_notebook(path)
        problems += found
        if not check and text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
    readme = root / "README.md"
    text, found = _fix_readme(readme, [p.name for p in notebooks])
    problems += found
    if not check and text != readme.read_text(encoding="utf-8"):
        readme.write_text(text, encoding="utf-8")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    args = parser.parse_args(argv)
    problems = sync(check=args.check)
    for line in problems:
        print(line)
    if args.check:
        return 1 if problems else 0
    unfixable = [p for p in problems if not p.endswith("drifted")]
    print(f"{len(problems) - len(unfixable)} line(s) rewritten for {REPO}@{BRANCH}")
    return 1 if unfixable else 0


if __name__ == "__main__":
    sys.exit(main())
