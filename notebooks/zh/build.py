"""Build the Chinese edition (notebooks/zh/NN_*.ipynb) from the English notebooks and the translations.

Each chapter's translation is one text file, ``notebooks/zh/translations/NN_topic.md``: for every
markdown cell of the English notebook, in notebook order, a header line and the Chinese text::

    <!-- cell 3f2a9c1e sha 0b1c2d3e4f5a -->
    中文 markdown ……

``cell`` is the English cell's id and ``sha`` the first 12 hex digits of the sha256 of its source,
so an entry goes stale the moment the English text changes. Code cells are copied byte for byte:
both editions run the same code and print the same output.

    python notebooks/zh/build.py            # give English cells ids, then write notebooks/zh/*.ipynb
    python notebooks/zh/build.py --check    # change nothing; list problems and exit 1 if any (tests)
    python notebooks/zh/build.py --only 03  # build chapter 03 only (English notebooks untouched)
    python notebooks/zh/build.py --todo 03  # print the English cells of chapter 03 that need a
                                            # (new) translation, as entries ready to fill in

A chapter is built only when its translation file exists. ``make zh`` runs the first command.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import sys
from pathlib import Path

ZH = Path(__file__).resolve().parent
EN = ZH.parent
TRANSLATIONS = ZH / "translations"
HEADER = re.compile(r"^<!-- cell (\S+) sha ([0-9a-f]{12}) -->[ \t]*$", re.M)
# Paths that move one level down: images and the README (the Chinese one).
RELINK = [("](../images/", "](../../images/"), ('src="../images/', 'src="../../images/'),
          ("](../README.md", "](../../README.zh.md")]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def dump(nb: dict) -> str:
    """The JSON text Jupyter itself writes (indent 1, non-ASCII kept), ending in a newline."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def chapters() -> list[Path]:
    return sorted(EN.glob("[0-9][0-9]_*.ipynb"))


def add_ids(path: Path) -> bool:
    """Give every cell of an English notebook a unique id (nbformat 4.5); True if the file changed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = nb.get("nbformat_minor", 0) < 5
    nb["nbformat_minor"] = max(nb.get("nbformat_minor", 0), 5)
    seen = set()
    for cell in nb["cells"]:
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = secrets.token_hex(4)
            changed = True
        seen.add(cell["id"])
    if changed:
        path.write_text(dump(nb), encoding="utf-8")
    return changed


def read_translations(path: Path) -> dict[str, tuple[str, str]]:
    """{cell id: (sha of the English source it translates, Chinese text)}."""
    if not path.exists():
        return {}
    parts = HEADER.split(path.read_text(encoding="utf-8"))
    return {parts[i]: (parts[i + 1], parts[i + 2].strip("\n")) for i in range(1, len(parts), 3)}


def relink(text: str) -> str:
    for old, new in RELINK:
        text = text.replace(old, new)
    # The Colab badge opens this edition: .../notebooks/NN_x.ipynb -> .../notebooks/zh/NN_x.ipynb
    return re.sub(r"(colab\.research\.google\.com/github/\S+?/notebooks/)(\d\d_)", r"\1zh/\2", text)


def build(en_path: Path) -> tuple[dict | None, list[str]]:
    """The Chinese notebook for one chapter and the list of problems (missing or stale entries)."""
    nb = json.loads(en_path.read_text(encoding="utf-8"))
    entries = read_translations(TRANSLATIONS / en_path.with_suffix(".md").name)
    problems, cells = [], []
    for i, cell in enumerate(nb["cells"]):
        out = dict(cell)
        if cell["cell_type"] == "markdown":
            key = cell.get("id")
            if key is None:
                problems.append(f"{en_path.name} cell {i} has no id: run `make zh`")
                continue
            if key not in entries:
                problems.append(f"{en_path.name} cell {i} ({key}) has no translation")
                continue
            digest, text = entries[key]
            if digest != sha(source(cell)):
                problems.append(f"{en_path.name} cell {i} ({key}) changed since it was translated")
            out["source"] = relink(text).splitlines(keepends=True)
        cells.append(out)
    ids = {c.get("id") for c in nb["cells"]}
    problems += [f"{en_path.name}: translation of cell {k}, which the notebook no longer has"
                 for k in entries if k not in ids]
    nb["cells"] = cells
    return nb, problems


def todo(number: str) -> str:
    """Entries for the markdown cells of chapter `number` without an up-to-date translation."""
    (en_path,) = [p for p in chapters() if p.name.startswith(number + "_")]
    nb = json.loads(en_path.read_text(encoding="utf-8"))
    entries = read_translations(TRANSLATIONS / en_path.with_suffix(".md").name)
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and entries.get(cell.get("id"), ("",))[0] != sha(source(cell)):
            out.append(f"<!-- cell {cell.get('id')} sha {sha(source(cell))} -->\n{source(cell)}\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    parser.add_argument("--todo", metavar="NN", help="print the entries chapter NN still needs")
    parser.add_argument("--only", metavar="NN", help="build chapter NN only, and leave the English notebooks alone")
    args = parser.parse_args(argv)
    if args.todo:
        print(todo(args.todo), end="")
        return 0
    problems = []
    for en_path in chapters():
        if args.only and not en_path.name.startswith(args.only + "_"):
            continue
        if not args.check and not args.only and add_ids(en_path):
            print(f"gave the cells of {en_path.name} ids")
        if not (TRANSLATIONS / en_path.with_suffix(".md").name).exists():
            continue
        nb, found = build(en_path)
        problems += found
        zh_path = ZH / en_path.name
        if args.check:
            if not zh_path.exists() or zh_path.read_text(encoding="utf-8") != dump(nb):
                problems.append(f"{zh_path.name} differs from what `make zh` builds")
        elif not found:
            zh_path.write_text(dump(nb), encoding="utf-8")
            print(f"wrote notebooks/zh/{zh_path.name}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
