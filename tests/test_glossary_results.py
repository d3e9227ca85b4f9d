import json

import pytest

from course_utils import glossary, results


def test_glossary_is_well_formed():
    terms = glossary.terms()
    assert len(terms) > 100
    english = [t.english.lower() for t in terms]
    chinese = [t.chinese for t in terms]
    assert len(set(english)) == len(english), "duplicate English terms"
    assert len(set(chinese)) == len(chinese), "duplicate Chinese terms"
    for term in terms:
        clash = set(term.synonyms) & (set(chinese) | {s for t in terms if t is not term for s in t.synonyms})
        assert not clash, f"'{term.english}': synonym(s) {clash} also name another row"
        assert term.chinese not in term.synonyms, f"'{term.english}' lists its own name as a synonym"
    assert {t.chapter for t in terms} == set(range(11)), "every chapter has terms"


def test_glossary_lookup_both_ways():
    assert glossary.lookup("Backpropagation").chinese == "反向传播"
    assert glossary.lookup("反向传播").english == "backpropagation"
    assert glossary.lookup("tensors").english == "tensor"
    assert glossary.lookup("偏差").english == "bias", "the notes' synonym finds the course's term"
    with pytest.raises(KeyError, match="Did you mean"):
        glossary.lookup("gradient desc")
    with pytest.raises(ValueError):
        glossary.lookup("  ")


def test_glossary_chapter_table():
    table = glossary.markdown(0)
    assert table.startswith("| English | 中文 | also written |") and "| tensor | 张量 |  |" in table
    assert "| bias | 偏置 | 偏差 |" in table
    with pytest.raises(ValueError):
        glossary.for_chapter(11)


def test_report_prints_checks_and_writes(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_FAST", "0")
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    rows = [results.row("accuracy", 0.9, ">=", fast=0.1, full=0.8), results.row("loss", 1.23)]
    results.report("99", rows)
    out = capsys.readouterr().out
    assert "accuracy" in out and "ok" in out and "full mode" in out
    saved = json.loads((tmp_path / "99.json").read_text())
    assert saved["rows"][0]["value"] == 0.9 and saved["mode"] == "full"


def test_report_fails_on_a_missed_target(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    rows = [results.row("accuracy", 0.05, ">=", fast=0.1, full=0.8)]
    with pytest.raises(results.TargetMissed, match="accuracy"):
        results.report("99", rows)
    with pytest.raises(results.TargetMissed):
        results.report("99", [results.row("nan", float("nan"), "<=", fast=1, full=1)])


def test_a_learners_full_run_shows_a_miss_and_goes_on(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_FAST", "0")
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    rows = [results.row("accuracy", 0.5, ">=", fast=0.1, full=0.8, missed="the model guesses."),
            results.row("loss", 2.0, "<=", fast=9, full=1), results.row("speed", 3.0, ">=", fast=1, full=1)]
    results.report("99", rows)  # no exception: the notebook reaches its summary
    out = capsys.readouterr().out
    assert "MISSED: accuracy: the model guesses." in out
    assert f"MISSED: loss: {results.DEFAULT_MISSED}" in out and "MISSED: speed" not in out
    assert json.loads((tmp_path / "99.json").read_text())["missed"] == ["accuracy", "loss"]  # make bench fails


def test_a_rerun_cell_replaces_its_row():
    table = results.Table()
    for _ in range(2):  # the same cell run twice
        table.append(results.row("accuracy", 0.9))
        table += [results.row("loss", 1.0), results.row("speed", 2.0)]
    table.append(results.row("accuracy", 0.95))
    assert [r["name"] for r in table] == ["accuracy", "loss", "speed"]
    assert next(iter(table))["value"] == 0.95
    with pytest.raises(TypeError, match="results.row"):
        table.append(("accuracy", 0.9))


def test_report_bad_input():
    with pytest.raises(ValueError):
        results.row("x", 1.0, "==", fast=1, full=1)
    with pytest.raises(ValueError):
        results.report("99", [])
