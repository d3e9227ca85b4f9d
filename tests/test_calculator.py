"""Chapter 10's calculator: the parser agrees with arithmetic, reads number words, refuses anything
else; the tool runtime; the problem generator."""
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import calculator as calc


@st.composite
def expressions(draw, depth=0):
    """(text, value) of a random expression of integers, + - * and parentheses."""
    if depth > 2 or draw(st.booleans()):
        n = draw(st.integers(0, 999))
        return (calc.number_words(n) if draw(st.booleans()) else str(n)), n
    (a, va), (b, vb) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "plus", "minus", "times"]))
    value = {"+": va + vb, "-": va - vb, "*": va * vb}[calc.OP_WORDS.get(op, op)]
    return f"({a} {op} {b})", value


@settings(max_examples=200, deadline=None)
@given(expressions())
def test_evaluate_agrees_with_arithmetic(case):
    text, value = case
    assert calc.evaluate(text) == value


def test_precedence_unary_minus_and_division():
    assert calc.evaluate("2 + 3 * 4") == 14 and calc.evaluate("(2 + 3) * 4") == 20
    assert calc.evaluate("-5 + 2") == -3 and calc.evaluate("2 - -3") == 5
    assert calc.evaluate("10 / 4") == 2.5 and calc.evaluate("10 / 5") == 2 and isinstance(calc.evaluate("10 / 5"), int)
    assert calc.evaluate("seven hundred ninety-nine minus 99") == 700


@pytest.mark.parametrize("bad", ["__import__('os')", "2 ** 3", "1 +", "(1", "1)", "", "x", "7 / 0", "forty-twelve",
                                 "twenty twenty", "ten hundred", "one hundred zero", "1" * 201])
def test_refuses_anything_else(bad):
    with pytest.raises(ValueError):
        calc.evaluate(bad)


def test_number_words_round_trip():
    assert calc.number_words(47) == "forty-seven" and calc.number_words(305) == "three hundred five"
    assert all(calc.evaluate(calc.number_words(n)) == n for n in range(1000))
    with pytest.raises(ValueError):
        calc.number_words(1000)


def test_run_tool_and_last_number():
    assert calc.run_tool("The answer is <<47 + 38>>") == "85"
    assert calc.run_tool("The answer is <<forty-seven plus thirty-eight>>") == "85"
    assert calc.run_tool("The answer is <<what?>>") == "error"
    assert calc.run_tool("no call here") is None and calc.run_tool("x >>") is None
    assert calc.last_number("47 + 38 = 85.") == 85 and calc.last_number("It is 1,234 or -7") == -7
    assert calc.last_number("It is 1,234.") == 1234 and calc.last_number("none") is None


def test_problems_are_distinct_reproducible_and_exclude():
    a = calc.make_problems(300, seed=5)
    assert a == calc.make_problems(300, seed=5) and len({p.question for p in a}) == 300
    b = calc.make_problems(200, seed=6, exclude={p.question for p in a})
    assert not {p.question for p in a} & {p.question for p in b}
    for p in a:
        assert p.question == f"What is {p.expression}?" and calc.evaluate(p.expression) == p.answer >= 0
    words = [p for p in a if not p.expression[0].isdigit()]
    assert 0.3 < len(words) / len(a) < 0.7
    rounded = [calc.make_problem(random.Random(i), round_share=1.0) for i in range(50)]
    assert all(int(x) % 10 == 0 for p in rounded if p.expression[0].isdigit() for x in p.expression.split()[::2])
