"""The course's data sets, all read from files that installed packages ship: no downloads.

| loader                  | returns                                            | size                        |
|-------------------------|----------------------------------------------------|-----------------------------|
| ``wiki_articles()``     | list of ``(title, text)`` pairs, cleaned prose     | 104 articles, ~2.9 M chars  |
| ``wiki_text()``         | one string, articles separated by blank lines      | ~2.9 M characters           |
| ``wiki_sentences()``    | list of sentences, each a list of lowercase tokens | ~23.6 k sentences, ~0.45 M tokens |
| ``word_list()``         | sorted unique lowercase words, 3-12 letters a-z    | ~29.8 k words               |
| ``digits()``            | ``images (1797, 8, 8) float32 in [0, 1]``, labels  | 1,797 images, 10 classes    |
| ``diabetes()``          | ``X (442, 10) float32``, ``y (442,) float32``      | 442 patients                |
| ``word_similarity(n)``  | list of ``(word1, word2, human score)``            | 353 (wordsim353), 999 (simlex999) |
| ``analogies()``         | dict section -> list of ``(a, b, c, d)`` lowercase | 14 sections, 19,544 questions |

The last ``VAL_ARTICLES`` articles are held out: chapter 06 validates on them, and chapters 07-10
draw their held-out sentences and topics from them.

The Wikipedia text is a shortened 2017 dump that gensim ships as test data
(``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``); it is licensed
CC BY-SA by its Wikipedia authors. Parsing it takes a few seconds, so the result is cached
(see ``artifacts``) and kept in memory after the first call.
"""
from __future__ import annotations

import bz2
import functools
import os
import re

import numpy as np

from . import artifacts

VAL_ARTICLES = 10     # the last 10 Wikipedia articles: validation text for chapters 06-10

WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
_CLEANER_VERSION = 1  # bump when the cleaning below changes, so caches are rebuilt
_TAIL_SECTIONS = re.compile(
    r"^(see also|references|external links|bibliography|further reading|notes|sources|"
    r"footnotes|citations|notes and references)$",
    re.IGNORECASE,
)


def gensim_data_file(name: str) -> str:
    """Path of a file in gensim's bundled test data, with a clear error if it is missing."""
    try:
        from gensim.test.utils import datapath
    except ImportError as err:  # pragma: no cover - gensim is a dependency
        raise ImportError("gensim is not installed: run `make lab` or `pip install gensim`.") from err
    path = datapath(name)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"gensim's data file {name!r} is missing at {path}. Some stripped-down installs drop "
            "gensim's test data; reinstall it with `pip install --force-reinstall gensim`."
        )
    return path


def clean_wiki_markup(text: str) -> str:
    """Turn the output of gensim's ``filter_wiki`` into plain prose.

    Drops bold/italic quotes, turns ``== Heading ==`` into a line ``Heading``, cuts the
    trailing reference sections, strips list markers and the empty brackets left behind by
    removed templates.
    """
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        heading = re.fullmatch(r"=+\s*(.*?)\s*=+", line)
        if heading:
            title = heading.group(1).strip()
            if _TAIL_SECTIONS.match(title):
                break
            line = title
        line = re.sub(r"'{2,}", "", line)
        line = line.lstrip("*#:; ").strip()
        line = re.sub(r"\(\s*[,;:]?\s*\)", "", line)  # "( )", "(, )" left by templates
        line = re.sub(r"[ \t]{2,}", " ", line)
        line = re.sub(r" ([,.;:])", r"\1", line)
        if re.search(r"\w", line):
            lines.append(line)
        elif lines and lines[-1] != "":
            lines.append("")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _parse_wiki() -> list:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    articles = []
    with bz2.open(gensim_data_file(WIKI_FILE), "rb") as f:
        for title, text, _pageid in extract_pages(f):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            clean = clean_wiki_markup(filter_wiki(text))
            if len(clean) >= 500:
                articles.append([title, clean])
    return articles


@functools.lru_cache(maxsize=None)
def _wiki_cached() -> tuple:
    raw = artifacts.get_or_build(
        "data-wiki-articles", {"cleaner": _CLEANER_VERSION, "file": WIKI_FILE}, _parse_wiki,
        per_mode=False,
    )
    return tuple((str(t), str(x)) for t, x in raw)


def wiki_articles() -> list[tuple[str, str]]:
    """The Wikipedia articles as ``(title, text)`` pairs (104 articles, ~2.9 M characters)."""
    return list(_wiki_cached())


def wiki_text() -> str:
    """All article texts joined by blank lines: the corpus chapters 05-09 train on."""
    return "\n\n".join(text for _title, text in _wiki_cached())


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at ., ! or ? followed by white space (good enough for this text)."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


@functools.lru_cache(maxsize=None)
def _sentences_cached() -> tuple:
    token_re = re.compile(r"[a-z]+(?:'[a-z]+)?")
    out = []
    for _title, text in _wiki_cached():
        for sentence in split_sentences(text):
            tokens = token_re.findall(sentence.lower())
            if len(tokens) >= 3:
                out.append(tuple(tokens))
    return tuple(out)


def wiki_sentences() -> list[list[str]]:
    """Sentences of the Wikipedia text as lists of lowercase tokens (letters and apostrophes)."""
    return [list(s) for s in _sentences_cached()]


@functools.lru_cache(maxsize=None)
def _words_cached() -> tuple:
    words = {tok for sent in _sentences_cached() for tok in sent if re.fullmatch(r"[a-z]{3,12}", tok)}
    return tuple(sorted(words))


def word_list() -> list[str]:
    """Unique lowercase words of 3-12 letters a-z from the Wikipedia text, sorted."""
    return list(_words_cached())


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits: ``images (1797, 8, 8) float32 in [0, 1]``, ``labels (1797,) int64``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    return images, bunch.target.astype(np.int64)


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes regression set: ``X (442, 10)``, ``y (442,)`` disease progression.

    ``X`` holds age, sex, body-mass index, blood pressure and six blood serum measurements,
    already centred and scaled by scikit-learn; ``y`` is a disease-progression score one year
    later (25 to 346).
    """
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    return bunch.data.astype(np.float32), bunch.target.astype(np.float32)


_SIMILARITY_FILES = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}


def word_similarity(name: str = "wordsim353") -> list[tuple[str, str, float]]:
    """A word-similarity set as ``(word1, word2, human score)``: 'wordsim353' or 'simlex999'."""
    if name not in _SIMILARITY_FILES:
        raise ValueError(f"unknown similarity set {name!r}; choose one of {sorted(_SIMILARITY_FILES)}")
    rows = []
    with open(gensim_data_file(_SIMILARITY_FILES[name]), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            w1, w2, score = line.rstrip("\n").split("\t")[:3]
            rows.append((w1.lower(), w2.lower(), float(score)))
    return rows


def analogies() -> dict[str, list[tuple[str, str, str, str]]]:
    """The word-analogy questions (a : b :: c : d), grouped by section, lowercased."""
    sections: dict[str, list] = {}
    current = None
    with open(gensim_data_file("questions-words.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(":"):
                current = line[1:].strip()
                sections[current] = []
            elif line.strip():
                if current is None:
                    raise ValueError("questions-words.txt does not start with a ': section' line")
                sections[current].append(tuple(line.lower().split()))
    return sections
