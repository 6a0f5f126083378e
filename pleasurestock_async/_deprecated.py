"""Old names kept working for one minor version after a rename: each use warns with a
``DeprecationWarning`` that names the new one.

Attributes are renamed with a property decorated by :func:`typing_extensions.deprecated` (type
checkers flag it too); :func:`renamed_arguments` lets a class's constructor take the old
keyword names as well.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["REMOVED_IN", "renamed", "renamed_arguments"]

REMOVED_IN = "0.4"
"""The version that drops the names deprecated by this one."""

T = TypeVar("T", bound=type)


def renamed(owner: str, old: str, new: str) -> str:
    """The message of a renamed attribute or argument."""
    return f"{owner}.{old} is deprecated and goes in {REMOVED_IN}: use {owner}.{new}"


def renamed_arguments(
    old: Mapping[str, tuple[str, Callable[[Any], Any] | None]],
) -> Callable[[T], T]:
    """A class decorator: the constructor also takes each keyword of ``old`` (it warns) as the
    new name it maps to, its value converted by the function given with it (None: as is)."""

    def decorate(cls: T) -> T:
        init = vars(cls)["__init__"]  # the dataclass's own

        @functools.wraps(init)
        def accepting_old_names(self: Any, *args: Any, **kwargs: Any) -> None:
            for name in old.keys() & kwargs.keys():
                new, convert = old[name]
                if new in kwargs:
                    raise TypeError(f"{cls.__name__}() got {name!r} and {new!r}: pass {new!r}")
                warnings.warn(renamed(cls.__name__, name, new), DeprecationWarning, stacklevel=2)
                value = kwargs.pop(name)
                kwargs[new] = value if convert is None else convert(value)
            init(self, *args, **kwargs)

        cls.__init__ = accepting_old_names  # type: ignore[misc]
        return cls

    return decorate
