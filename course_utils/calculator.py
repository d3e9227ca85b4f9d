"""Arithmetic problems and a calculator tool (chapter 10).

Problems are generated, not downloaded: two- and three-digit operands, ``+ - *``, asked in symbols
("What is 47 + 38?") or in words ("What is forty-seven plus thirty-eight?"). A tool call is the span
``<<expression>>`` in the assistant's text; the runtime evaluates the expression with
:func:`evaluate` (a small parser for integers, ``+ - * /`` and parentheses, never Python's ``eval``)
and writes the result right after the ``>>``, then the model goes on: ``<<47 + 38>>85``. The
calculator reads numbers written in words too ("forty-one plus seventeen"), so the model's job is to
see that a question needs it, copy the expression into a call and use the result.
"""
from __future__ import annotations

import random
import re
from typing import NamedTuple

CALL_START, CALL_END = "<<", ">>"
OPS = {"+": ("plus", lambda a, b: a + b), "-": ("minus", lambda a, b: a - b), "*": ("times", lambda a, b: a * b)}
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
        "sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """0 <= n < 1000 in English words: 47 -> 'forty-seven', 305 -> 'three hundred five'."""
    if not isinstance(n, int) or not 0 <= n < 1000:
        raise ValueError(f"number_words handles integers 0..999, got {n!r}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    rest = n % 100
    return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))


# ---- a safe evaluator -------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\d+)|([a-z]+(?:-[a-z]+)?)|(.))", re.IGNORECASE)
OP_WORDS = {"plus": "+", "minus": "-", "times": "*"}
_WORD_VALUES = {w: i for i, w in enumerate(_ONES)} | {w: 10 * i for i, w in enumerate(_TENS) if i >= 2}


def _word_number(words: list[str], expression: str) -> int:
    """['two', 'hundred', 'forty-one'] -> 241: the inverse of :func:`number_words` (0..999)."""
    def fail():
        raise ValueError(f"{' '.join(words)!r} is not a number the calculator knows, in {expression!r}")

    hundreds, tail = 0, None
    for i, w in enumerate(words):
        if w == "hundred":                            # only as the second word: "two hundred ..."
            if i != 1 or tail is None or not 1 <= tail <= 9:
                fail()
            hundreds, tail = 100 * tail, None
            continue
        parts = w.split("-")
        if tail is not None or any(p not in _WORD_VALUES for p in parts):
            fail()
        if len(parts) == 2 and not (_WORD_VALUES[parts[0]] in range(20, 100, 10) and 1 <= _WORD_VALUES[parts[1]] <= 9):
            fail()                                    # "forty-one" yes, "forty-twelve" no
        tail = sum(_WORD_VALUES[p] for p in parts)
    if hundreds and tail == 0:
        fail()
    return hundreds + (tail or 0)


def _lex(expression: str) -> list:
    """Numbers (digits or English words up to 999) as ints; operators and parentheses as str."""
    tokens, words = [], []
    for number, word, other in _TOKEN.findall(expression.strip()):
        word = word.lower()
        if word and word not in OP_WORDS:
            words.append(word)                        # a number written in words, maybe several
            continue
        if words:
            tokens.append(_word_number(words, expression))
            words = []
        if number:
            tokens.append(int(number))
        elif word:
            tokens.append(OP_WORDS[word])
        elif other in "+-*/()":
            tokens.append(other)
        else:
            raise ValueError(f"the calculator does not understand {other!r} in {expression!r}")
    if words:
        tokens.append(_word_number(words, expression))
    return tokens


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression: integers (in digits or in words up to 999, "forty-one"),
    ``+ - * /`` (or plus, minus, times), unary minus, parentheses.

    A recursive-descent parser (expression -> term (+|- term)*, term -> factor (*|/ factor)*,
    factor -> number | -factor | ( expression )). Anything else raises ``ValueError``, so the model
    can ask for arithmetic and nothing more. ``/`` gives an int when the division is exact.
    """
    if not isinstance(expression, str) or len(expression) > 200:
        raise ValueError("the calculator takes a string of at most 200 characters")
    tokens = _lex(expression)
    pos = 0
    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def factor():
        if peek() is None:
            raise ValueError(f"{expression!r} ends where a number should come")
        tok = take()
        if isinstance(tok, int):
            return tok
        if tok == "-":
            return -factor()
        if tok == "(":
            value = expr()
            if peek() != ")":
                raise ValueError(f"unbalanced parentheses in {expression!r}")
            take()
            return value
        raise ValueError(f"expected a number in {expression!r}, got {tok!r}")

    def term():
        value = factor()
        while peek() in ("*", "/"):
            op, right = take(), factor()
            if op == "*":
                value = value * right
            elif right == 0:
                raise ValueError(f"division by zero in {expression!r}")
            else:
                value = value // right if value % right == 0 else value / right
        return value

    def expr():
        value = term()
        while peek() in ("+", "-"):
            op, right = take(), term()
            value = value + right if op == "+" else value - right
        return value

    value = expr()
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos]!r} in {expression!r}")
    return value


def run_tool(text: str) -> str | None:
    """If ``text`` ends with a complete call ``<<expression>>``, the result to append, else None.
    A call the calculator cannot evaluate gets ``error``, which the model sees as the result."""
    if not text.endswith(CALL_END) or CALL_START not in text:
        return None
    expression = text[text.rindex(CALL_START) + len(CALL_START):-len(CALL_END)]
    try:
        return str(evaluate(expression))
    except ValueError:
        return "error"


# ---- problems ----------------------------------------------------------------------------------
class Problem(NamedTuple):
    question: str        # what the user asks
    expression: str      # what a correct assistant passes to the calculator: "47 + 38", "forty-one plus seventeen"
    answer: int


def _operand(rng: random.Random, digits: int, round_share: float) -> int:
    n = rng.randrange(10 ** (digits - 1), 10 ** digits)
    if rng.random() < round_share:                    # 60, 300, 520: numbers whose words skip a part
        n -= n % (10 if digits < 3 or rng.random() < 0.5 else 100)
    return n


def make_problem(rng: random.Random, ops: str = "+-*", digits: tuple[int, ...] = (2, 3),
                 words: float = 0.5, round_share: float = 0.0) -> Problem:
    """One problem: each operand has a number of digits drawn from ``digits``; in words with
    probability ``words``; ``round_share`` of the operands rounded to tens or hundreds (extra
    training on the number words that are easiest to get wrong: "sixty", "five hundred twenty")."""
    op = rng.choice(ops)
    a, b = (_operand(rng, rng.choice(digits), round_share) for _ in range(2))
    if op == "-" and b > a:
        a, b = b, a                                   # no negative answers
    name, fn = OPS[op]
    if rng.random() < words:
        expression = f"{number_words(a)} {name} {number_words(b)}"
    else:
        expression = f"{a} {op} {b}"
    return Problem(f"What is {expression}?", expression, fn(a, b))


def make_problems(n: int, seed: int, exclude: set[str] = frozenset(), **kwargs) -> list[Problem]:
    """``n`` distinct problems from seed ``seed``, none of whose question is in ``exclude``."""
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < n:
        p = make_problem(rng, **kwargs)
        if p.question not in seen:
            seen.add(p.question)
            out.append(p)
    return out


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def last_number(text: str) -> float | None:
    """The last number written in ``text`` (commas as thousands separators allowed), or None."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").rstrip(","))
    except ValueError:
        return None


def tool_answer(p: Problem) -> str:
    """What the assistant writes for ``p`` with the calculator: the call, the result the runtime
    fills in, and a sentence."""
    return f"{CALL_START}{p.expression}{CALL_END}{p.answer}\nThe answer is {p.answer}."
