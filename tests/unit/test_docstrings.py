"""Every public name of ``rota`` has a docstring, and so has each public method and property
of its classes: the Python API reference (docs/reference/python.md) is built from them."""

from __future__ import annotations

import enum
import inspect

import rota


def _undocumented_members(cls: type) -> list[str]:
    missing = []
    for name, value in vars(cls).items():
        if name.startswith("_") or isinstance(value, enum.Enum):
            continue
        func = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        if (callable(func) or isinstance(func, property)) and not (func.__doc__ or "").strip():
            missing.append(f"{cls.__name__}.{name}")
    return missing


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in rota.__all__:
        if name == "__version__":
            continue
        obj = getattr(rota, name)
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            missing += _undocumented_members(obj)
    assert missing == []


def test_a_class_without_its_own_docstring_is_caught() -> None:
    """The check reads a class's own ``__doc__``, not one inherited from a base."""

    class Bare(rota.RotaError):
        def verb(self) -> None:
            pass

    assert Bare.__doc__ is None
    assert _undocumented_members(Bare) == ["Bare.verb"]
