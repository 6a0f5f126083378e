"""The TSP formula evaluator: arithmetic of TCC only, whatever the input."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pleasurestock_async.sandbox import FormulaError
from pleasurestock_async.sandbox._formula import TspFormula


@pytest.mark.parametrize(
    ("text", "tcc", "expected"),
    [
        ("TCC * 1.5", "50.98", "76.47"),
        ("TCC * 2.5 + 104", "16", "144.00"),
        ("(TCC + 10) / 2", "30", "20.00"),
        ("-TCC + 100", "1", "99.00"),
        ("TCC", "3.333", "3.33"),
    ],
)
def test_evaluates(text: str, tcc: str, expected: str) -> None:
    assert TspFormula(text)(Decimal(tcc)) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo pwned')",
        "TCC.__class__",
        "open('/etc/passwd')",
        "TCC ** 99999",
        "9 ** 9 ** 9",
        "lambda: 1",
        "[TCC] * 10**9",
        "'a' * 10",
        "TCC if 1 else 2",
        "x * 2",
        "TCC; 1",
        "1 / 0",
        "(" * 500 + "1" + ")" * 500,
        "+".join(["TCC"] * 100),
        "1e400",
        "TCC * 1" + "0" * 30,
        "",
        "   ",
        "TCC @ 2",
        "TCC // 2",
        "TCC % 2",
        "not TCC",
    ],
)
def test_hostile_input_refused(text: str) -> None:
    with pytest.raises(FormulaError):
        TspFormula(text)


def test_overflow_at_evaluation_refused() -> None:
    formula = TspFormula("TCC * 999999999999999")
    assert formula(Decimal(1)) == Decimal("999999999999999.00")
    with pytest.raises(FormulaError):
        formula(Decimal("999999999999999"))


@given(st.text(max_size=300))
def test_any_text_is_a_formula_or_a_formula_error(text: str) -> None:
    try:
        formula = TspFormula(text)
    except FormulaError:
        return
    with contextlib.suppress(FormulaError):
        formula(Decimal("12.34"))


@given(
    st.recursive(
        st.one_of(st.just("TCC"), st.integers(0, 1000).map(str)),
        lambda inner: st.tuples(inner, st.sampled_from("+-*"), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        max_leaves=12,
    )
)
def test_agrees_with_python_arithmetic(text: str) -> None:
    tcc = Decimal("7.25")
    try:
        formula = TspFormula(text)
    except FormulaError:
        return  # deeper than allowed
    expected = eval(text, {"__builtins__": {}}, {"TCC": tcc})  # noqa: S307 (test oracle)
    try:
        assert formula(tcc) == Decimal(expected).quantize(Decimal("0.01"))
    except FormulaError:
        assert abs(expected) > Decimal("1e15")
