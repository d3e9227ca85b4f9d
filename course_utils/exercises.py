"""``check(...)`` for the exercise cells, with the reference solutions kept in the package.

An exercise cell holds a stub that raises ``NotImplementedError`` and a call
``check("00.1", my_function)``:

- stub untouched  -> prints "not attempted yet" and the cell succeeds (so Run All works);
- right answer    -> prints a confirmation and returns True;
- wrong answer    -> raises :class:`ExerciseFailed` (an ``AssertionError``) saying what is off.

Each chapter's checkers and solutions live in ``course_utils/solutions/chNN.py`` and register
themselves with :func:`exercise`; ``show_solution("00.1")`` prints a reference solution.
Beside each checker sits a planted wrong answer that the checker must reject (the tests use it).
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

NOT_ATTEMPTED = "not attempted yet"


class ExerciseFailed(AssertionError):
    """The answer was checked and is wrong; the message says how."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    checker: Callable[[Any], None]
    solution: Callable
    wrong: Callable


_REGISTRY: dict[str, Exercise] = {}


def exercise(id: str, title: str, solution: Callable, *, wrong: Callable):
    """Decorator that registers ``checker(answer)`` (it raises ExerciseFailed on a wrong answer).

    ``wrong`` is a plausible mistaken answer the checker must reject; the tests use it.
    """

    def register(checker):
        _REGISTRY[id] = Exercise(id, title, checker, solution, wrong)
        return checker

    return register


def get(exercise_id: str) -> Exercise:
    """The registered exercise ``"CC.N"`` (chapter CC), loading its chapter module on demand."""
    if not isinstance(exercise_id, str) or "." not in exercise_id:
        raise ValueError(f"exercise ids look like '00.1', got {exercise_id!r}")
    if exercise_id not in _REGISTRY:
        chapter = exercise_id.split(".")[0]
        try:
            importlib.import_module(f"course_utils.solutions.ch{chapter}")
        except ModuleNotFoundError:
            pass
    if exercise_id not in _REGISTRY:
        raise KeyError(f"no exercise {exercise_id!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[exercise_id]


def check(exercise_id: str, answer: Any) -> bool | None:
    """Check ``answer`` for the exercise; see the module docstring for what happens."""
    ex = get(exercise_id)
    if answer is None or answer is Ellipsis:
        print(f"Exercise {ex.id} ({ex.title}): {NOT_ATTEMPTED}.")
        return None
    try:
        ex.checker(answer)
    except NotImplementedError:
        print(f"Exercise {ex.id} ({ex.title}): {NOT_ATTEMPTED}. Replace the `raise NotImplementedError` line.")
        return None
    except ExerciseFailed as err:
        raise ExerciseFailed(f"Exercise {ex.id} ({ex.title}): not yet right. {err}") from None
    print(f"Exercise {ex.id} ({ex.title}): correct, well done.")
    return True


def require(condition: bool, message: str) -> None:
    """Inside a checker: fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseFailed(message)


def solution_source(exercise_id: str) -> str:
    """The source code of the reference solution."""
    return inspect.getsource(get(exercise_id).solution)


def show_solution(exercise_id: str) -> None:
    """Print the reference solution (try first!)."""
    print(solution_source(exercise_id))
