"""Request models declare, for type checkers only, the ``__init__`` users call: the Python
names (not the wire's aliases) and what the model accepts at run time (a date as its ISO
string, a price as text). That declaration must name exactly the model's fields, with the same
defaults, or a checker would accept a call the model refuses (or refuse one it accepts)."""

from __future__ import annotations

import ast
import inspect
from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from pleasurestock_async.types import OrderItem, SaleRecord, SmartReorderProduct

MODELS = [SaleRecord, OrderItem, SmartReorderProduct]


def declared_init(model: type[BaseModel]) -> ast.FunctionDef:
    """The ``__init__`` of the model's ``if TYPE_CHECKING:`` block."""
    tree = ast.parse(inspect.getsource(model))
    (klass,) = tree.body
    assert isinstance(klass, ast.ClassDef)
    for node in klass.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.FunctionDef) and inner.name == "__init__":
                    return inner
    raise AssertionError(f"{model.__name__} declares no __init__ for type checkers")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_declared_init_names_every_field_with_its_default(model: type[BaseModel]) -> None:
    init = declared_init(model)
    assert not init.args.args[1:] and init.args.kwarg is None  # keyword-only, no **kwargs
    declared = {
        arg.arg: default is not None
        for arg, default in zip(init.args.kwonlyargs, init.args.kw_defaults, strict=True)
    }
    fields = {
        name: field.default is not PydanticUndefined or field.default_factory is not None
        for name, field in model.model_fields.items()
    }
    assert declared == fields


def test_what_the_declarations_promise_is_what_the_models_take() -> None:
    record = SaleRecord(internal_id="ps_vj31ucxsab", date="2025-11-04", quantity=3)
    assert record.date == date(2025, 11, 4)
    item = OrderItem(ps_id="ps_1234567890", quantity=2, custom_price="25.50")
    assert item.custom_price == Decimal("25.50")
    assert item.model_dump(by_alias=True, mode="json")["customPrice"] == 25.5
    product = SmartReorderProduct(
        ps_id="ps_1234567890", quantity=1, current_stock=2, sales_history=(5, 8, 12, 6, 9, 11, 7)
    )
    assert product.sales_history == [5, 8, 12, 6, 9, 11, 7]
