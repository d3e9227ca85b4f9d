import ipywidgets as W
import pytest
import torch

from course_utils import exercises, widgets
from course_utils.exercises import ExerciseFailed, check


def test_static_mode_outside_a_kernel():
    assert widgets.static_mode()


def test_interact_static_calls_once_with_defaults(capsys):
    seen = []
    box = widgets.interact(lambda n, word: seen.append((n, word)),
                           n=W.IntSlider(value=3, min=0, max=5), word=W.Text(value="hi"))
    assert seen == [(3, "hi")]
    assert "static rendering" in capsys.readouterr().out
    assert [type(c).__name__ for c in box.children] == ["IntSlider", "Text"]


def test_progress_is_text_in_static_mode(capsys, monkeypatch):
    """An executed copy keeps a text bar's last state; a widget bar would be saved at 0%."""
    monkeypatch.setattr(widgets, "static_mode", lambda: True)
    assert sum(widgets.progress(range(5), desc="steps")) == 10
    out = capsys.readouterr().out
    assert "steps" in out and "5/5" in out
    monkeypatch.setattr(widgets, "static_mode", lambda: False)
    from tqdm.auto import tqdm

    bar = widgets.progress(range(2), disable=True)
    assert isinstance(bar, tqdm) and list(bar) == [0, 1]


def test_interact_rejects_bad_controls():
    with pytest.raises(TypeError, match="callable"):
        widgets.interact(3, n=W.IntSlider())
    with pytest.raises(ValueError, match="at least one"):
        widgets.interact(lambda: None)
    with pytest.raises(TypeError, match="value widget"):
        widgets.interact(lambda n: None, n=5)


def _all_exercises():
    import importlib
    import pkgutil

    import course_utils.solutions as sol

    for mod in pkgutil.iter_modules(sol.__path__):
        importlib.import_module(f"course_utils.solutions.{mod.name}")
    return sorted(exercises._REGISTRY)


def test_every_exercise_has_a_wrong_answer():
    ids = _all_exercises()
    assert ids, "no exercises registered"
    for exercise_id in ids:
        ex = exercises.get(exercise_id)
        assert callable(ex.wrong) and ex.wrong is not ex.solution, exercise_id


@pytest.mark.parametrize("exercise_id", _all_exercises())
def test_solution_passes_and_wrong_answer_fails(exercise_id, capsys):
    ex = exercises.get(exercise_id)
    assert check(exercise_id, ex.solution) is True
    with pytest.raises(ExerciseFailed, match="not yet right"):
        check(exercise_id, ex.wrong)
    assert "def " in exercises.solution_source(exercise_id)


@pytest.mark.parametrize("exercise_id", _all_exercises())
def test_untouched_stub_is_not_attempted(exercise_id, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert check(exercise_id, stub) is None
    assert exercises.NOT_ATTEMPTED in capsys.readouterr().out
    assert check(exercise_id, None) is None


def test_unknown_and_malformed_ids():
    with pytest.raises(KeyError, match="no exercise"):
        exercises.get("00.99")
    with pytest.raises(ValueError, match="look like"):
        exercises.get("first")


def test_wrong_structure_is_reported():
    with pytest.raises(ExerciseFailed, match="pair"):
        check("00.1", lambda x, y, w, b: 0.0)
    with pytest.raises(ExerciseFailed, match="triple"):
        check("00.2", lambda *a, **k: torch.zeros(5))
