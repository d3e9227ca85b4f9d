"""Notebook hygiene: what every chapter notebook must look like (DESIGN.md section 5)."""
import json
import re
from pathlib import Path

import pytest

from course_utils import colab, glossary

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_name_and_kernel(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
    nb = _load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_stored_outputs(path):
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"cell {i} has stored outputs; clear them before committing"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_title_badge_and_setup(path):
    cells = _load(path)["cells"]
    title = _source(cells[0])
    number = path.name[:2]
    assert cells[0]["cell_type"] == "markdown" and title.startswith(f"# {number} · ")
    assert colab.badge_url(path.name) in title, "the Colab badge must point at this notebook"
    for needed in ("What you will build", "Prerequisites", "Run time"):
        assert needed in title
    setup = next((_source(c) for c in cells[:4] if c["cell_type"] == "code"), "")
    assert "course_utils.setup()" in setup
    assert colab.install_url() in setup and "google.colab" in setup


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_ends_with_key_results_summary_and_terms(path):
    code = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
    text = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "markdown")
    number = path.name[:2]
    assert f'results.report("{number}"' in code
    assert "results_rows = results.Table()" in code and "results_rows = []" not in code  # rows by name
    assert f"glossary.show(chapter={int(number)})" in code
    for heading in ("Exercises", "## Key results", "## Summary", "Further reading"):
        assert heading in text, f"missing section: {heading}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_checks_are_registered(path):
    from course_utils import exercises

    code = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
    ids = re.findall(r'check\("(\d\d\.\d+)"', code)
    assert len(ids) >= 2, "each chapter has at least two exercises"
    for exercise_id in ids:
        assert exercise_id.startswith(path.name[:2])
        exercises.get(exercise_id)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_referenced_images_exist(path):
    for cell in _load(path)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        src = _source(cell)
        for ref in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", src) + re.findall(r'<img[^>]+src="([^"]+)"', src):
            if ref.startswith("http"):
                continue
            assert (path.parent / ref).resolve().exists(), f"missing image {ref}"


BILINGUAL = re.compile(r"\*\*([^*]+)\*\*\s*[（(]([^)）]*[\u4e00-\u9fff][^)）]*)[)）]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_glossary_terms_are_consistent(path):
    problems = []
    for cell in _load(path)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for english, chinese in BILINGUAL.findall(_source(cell)):
            try:
                term = glossary.lookup(english)
            except KeyError:
                problems.append(f"'{english}' ({chinese}) is not in glossary.tsv")
                continue
            if term.chinese != chinese.strip():
                problems.append(f"'{english}' is written ({chinese}); the glossary says ({term.chinese})")
    assert not problems, "\n".join(problems)


def _first_introductions():
    """{glossary English term: chapter of its first **English** (中文) in the notebooks' prose}.

    A row whose Chinese is the English name itself (RMSprop, Adam) counts as introduced by **Name**.
    """
    first = {}
    for path in NOTEBOOKS:
        chapter = int(path.name[:2])
        prose = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "markdown")
        for english, _ in BILINGUAL.findall(prose):
            try:
                first.setdefault(glossary.lookup(english).english, chapter)
            except KeyError:
                pass  # reported by test_glossary_terms_are_consistent
        for term in glossary.terms():
            if term.chinese == term.english and f"**{term.english}**" in prose:
                first.setdefault(term.english, chapter)
    return first


def test_every_glossary_row_is_introduced_in_its_chapter():
    """Each row is written bilingually in the prose, first in the chapter the row names.

    The end-of-chapter table (glossary.show) lists a chapter's rows, so a row with the wrong chapter
    shows a term in the wrong table, and a row never written in the prose is a term the learner never meets.
    """
    first = _first_introductions()
    problems = []
    for term in glossary.terms():
        if term.english not in first:
            problems.append(f"'{term.english}' ({term.chinese}) is never written **{term.english}** ({term.chinese}) "
                            f"in a notebook; introduce it in chapter {term.chapter:02d}")
        elif first[term.english] != term.chapter:
            problems.append(f"'{term.english}' is first introduced in chapter {first[term.english]:02d}, "
                            f"but its glossary row says chapter {term.chapter:02d}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_listed_in_readme(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"notebooks/{path.name}" in readme, f"add {path.name} to the README chapter table"


LOCAL_PATH = re.compile(r"(/work/|/home/|/Users/|/root/|/tmp/|[A-Za-z]:\\\\)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_metadata_fits_colab(path):
    """Colab opens the notebook as it is: a plain python3 kernel and no machine-specific paths."""
    nb = _load(path)
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, "strip editor/extension metadata"
    assert nb["metadata"]["kernelspec"] == {"display_name": "Python 3", "language": "python",
                                           "name": "python3"}
    for i, cell in enumerate(nb["cells"]):
        assert not cell.get("metadata"), f"cell {i} carries metadata"
        found = LOCAL_PATH.search(_source(cell))
        assert not found, f"cell {i} mentions a local path: {found.group(0)!r}"


def _exercise_cells():
    for path in NOTEBOOKS:
        for i, cell in enumerate(_load(path)["cells"]):
            if cell["cell_type"] == "code" and re.search(r'^check\("\d\d\.\d+"', _source(cell), re.M):
                yield pytest.param(path, i, id=f"{path.name[:2]}-cell{i}")


def test_every_registered_exercise_has_a_stub_cell():
    """The stub scan below finds every exercise, so none escapes the unattempted check."""
    from course_utils import exercises

    found = set()
    for param in _exercise_cells():
        path, index = param.values
        found |= set(re.findall(r'^check\("(\d\d\.\d+)"', _source(_load(path)["cells"][index]), re.M))
    assert found == set(exercises._REGISTRY)


@pytest.mark.parametrize("path, index", list(_exercise_cells()))
def test_exercise_stubs_are_unattempted_as_committed(path, index, capsys):
    """Run All must print "not attempted yet" for every exercise until the learner writes it."""
    import math

    import numpy as np
    import torch
    import torch.nn.functional as F

    from course_utils import exercises

    verdicts = []
    namespace = {"math": math, "np": np, "torch": torch, "F": F, "nn": torch.nn,
                 "check": lambda ex_id, answer: verdicts.append((ex_id, exercises.check(ex_id, answer)))}
    exec(compile(_source(_load(path)["cells"][index]), f"{path.name} cell {index}", "exec"), namespace)
    assert verdicts and all(verdict is None for _, verdict in verdicts), \
        f"a stub passes its check as committed: {verdicts}"
    assert exercises.NOT_ATTEMPTED in capsys.readouterr().out
