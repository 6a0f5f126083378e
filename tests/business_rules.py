"""The business rules the OpenAPI document lists per operation (``x-business-rules``): the
refusals of a request that the document allows, for what exists rather than for its shape."""

from __future__ import annotations

from typing import Any

from pleasurestock_async.sandbox._openapi import openapi_document

__all__ = ["business_rule"]

_DOC = openapi_document()


def business_rule(method: str, path: str, status: int, body: Any) -> str | None:
    """The name of the documented rule that answer (``status`` and JSON ``body``) of the
    operation (``path`` as the document writes it) is, or None."""
    if not isinstance(body, dict):
        return None
    reasons: list[str] = []
    for key in ("errors", "details"):  # per record (the sales format), or the error format's
        found = body.get(key)
        for reason in found if isinstance(found, list) else []:
            reasons.append(str(reason.get("error") if isinstance(reason, dict) else reason))
    if not reasons and isinstance(body.get("message"), str):  # a refusal with one reason
        reasons.append(body["message"])
    for rule in _DOC["paths"][path][method.lower()].get("x-business-rules", []):
        if status != rule["status"] or body.get("error") != rule["error"]:
            continue
        if not rule["reasons"] or all(any(r in why for r in rule["reasons"]) for why in reasons):
            return str(rule["rule"])
    return None
