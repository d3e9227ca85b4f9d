"""The course's bilingual term table (English, 中文, chapter, one-line meaning).

Each notebook writes a term's first use as **English term** (中文) with exactly the Chinese
given here, in the chapter the row names (tests check both), and ends with ``glossary.show(chapter=N)``.
The table itself is ``glossary.tsv`` next to this file: one row per term, the chapter of first use,
one Chinese name per English term. ``synonyms`` lists other Chinese names a learner meets for the
same idea (the source notes' words, for example 偏差 for bias), separated by " / "; the course
writes only the main one.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

TSV = Path(__file__).with_name("glossary.tsv")


@dataclass(frozen=True)
class Term:
    english: str
    chinese: str
    chapter: int
    meaning: str
    synonyms: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def terms() -> tuple[Term, ...]:
    """Every term, in the order of the table."""
    with open(TSV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for i, row in enumerate(rows, start=2):
        if None in row or any(not (row.get(k) or "").strip() for k in ("english", "chinese", "chapter", "meaning")):
            raise ValueError(f"{TSV.name} line {i} is malformed: {row}")
        synonyms = tuple(w.strip() for w in (row.get("synonyms") or "").split(" / ") if w.strip())
        out.append(Term(row["english"].strip(), row["chinese"].strip(), int(row["chapter"]), row["meaning"].strip(),
                        synonyms))
    return tuple(out)


def lookup(word: str) -> Term:
    """The entry for an English term (case-insensitive, plural allowed) or a Chinese term or synonym."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError("lookup() needs a non-empty term, e.g. lookup('gradient') or lookup('梯度')")
    key = word.strip().lower()
    singulars = {key, key[:-1] if key.endswith("s") else key, key[:-2] if key.endswith("es") else key}
    for term in terms():
        if term.english.lower() in singulars or word.strip() in (term.chinese, *term.synonyms):
            return term
    close = [t.english for t in terms() if key in t.english.lower()][:5]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise KeyError(f"{word!r} is not in the glossary.{hint}")


def for_chapter(chapter: int) -> list[Term]:
    """The terms introduced in ``chapter`` (0-10)."""
    if not isinstance(chapter, int) or not 0 <= chapter <= 10:
        raise ValueError(f"chapter must be an int from 0 to 10, got {chapter!r}")
    return [t for t in terms() if t.chapter == chapter]


def markdown(chapter: int) -> str:
    """The chapter's terms as a Markdown table."""
    lines = ["| English | 中文 | also written | meaning |", "|---|---|---|---|"]
    lines += [f"| {t.english} | {t.chinese} | {' / '.join(t.synonyms)} | {t.meaning} |" for t in for_chapter(chapter)]
    return "\n".join(lines)


def show(chapter: int) -> None:
    """Display the chapter's term table (rendered Markdown in a notebook, text elsewhere)."""
    from IPython.display import Markdown, display

    display(Markdown(markdown(chapter)))
