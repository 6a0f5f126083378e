"""Who is calling: the reference's two auth schemes and the roles behind the keys.

The standard API takes ``X-API-Key: <key>``; the external API takes
``Authorization: Bearer <key>`` (the scheme name in any letter case, as HTTP defines it).
A *manager* key may read and write; a *viewer* key may read, and writing gets the
reference's 403 ("not a manager role").
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from starlette.requests import Request

from ._errors import ApiError

__all__ = ["Api", "Keys", "Role"]

Api = Literal["standard", "external", "signed"]
"""How a route authenticates: an API key header, a Bearer token, or a webhook signature."""


class Role(StrEnum):
    """What a key may do."""

    MANAGER = "manager"
    VIEWER = "viewer"


class Keys:
    """The keys a sandbox accepts, each with its role."""

    def __init__(self, managers: Iterable[str], viewers: Iterable[str]) -> None:
        self._roles = dict.fromkeys(viewers, Role.VIEWER)
        self._roles.update(dict.fromkeys(managers, Role.MANAGER))
        self._labels: dict[str, str] = {}
        for role in (Role.MANAGER, Role.VIEWER):
            keys = [key for key, r in self._roles.items() if r is role]
            for n, key in enumerate(keys, 1):
                self._labels[key] = role.value if n == 1 else f"{role.value} {n}"

    def labels(self) -> list[tuple[str, str, Role]]:
        """Every key with its label and role, managers first."""
        return [(key, label, self._roles[key]) for key, label in self._labels.items()]

    def label(self, key: str) -> str:
        """Which configured key ``key`` is ("manager", "viewer", "manager 2", ...): what the
        inspector shows instead of the key."""
        return self._labels.get(key, "unknown key")

    def redact(self, text: str) -> str:
        """``text`` with every configured key replaced by ``[redacted]``."""
        for key in sorted(self._labels, key=len, reverse=True):
            if key in text:
                text = text.replace(key, "[redacted]")
        return text

    def authenticate(self, request: Request, api: Api) -> tuple[str, Role]:
        """The caller's key and role, or a 401 naming the header the route expects."""
        if api == "external":
            scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
            expected = "Authorization: Bearer <key>"
        else:
            key = request.headers.get("x-api-key", "").strip()
            expected = "X-API-Key"
        role = self._roles.get(key) if key else None
        if role is None:
            raise ApiError(
                401, "Unauthorized", f"Missing or invalid API key (send it as {expected})"
            )
        return key, role

    @staticmethod
    def require_manager(role: Role) -> None:
        """Refuse a write to a key without the manager role."""
        if role is not Role.MANAGER:
            raise ApiError(
                403,
                "Forbidden",
                "Insufficient permissions (not a manager role)",
                ["This API key may read but not write; use a key of a manager"],
            )
