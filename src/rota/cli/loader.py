"""Finding the user's ``rota.App``: ``--app MODULE[:ATTR]`` or ``--app path/to/file.py[:ATTR]``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

from rota.app import App
from rota.cli.errors import CliError, summary

DEFAULT_ATTR = "app"


def split_ref(ref: str) -> tuple[str, str | None]:
    """``"pkg.mod:attr"`` -> (``"pkg.mod"``, ``"attr"``); a Windows drive colon is kept."""
    target, sep, attr = ref.rpartition(":")
    if not sep or not attr or "/" in attr or "\\" in attr or attr.endswith(".py"):
        return ref, None
    return target, attr


def _is_path(target: str) -> bool:
    return target.endswith(".py") or os.sep in target or "/" in target


def _import_file(path: str) -> ModuleType:
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise CliError(f"cannot load app: file {path!r} not found")
    folder = os.path.dirname(full)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the app file can import its siblings
    name = os.path.splitext(os.path.basename(full))[0] or "rota_app"
    if name in sys.modules:  # never shadow a module already imported (json.py, rota.py, ...)
        name = f"rota_app_{name}"
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot load app: {path!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CliError(f"cannot load app: error while importing {path}: {summary(exc)}") from exc
    return module


def _import_module(name: str) -> ModuleType:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: the working dir is importable
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise CliError(f"cannot load app: no module named {name!r}") from exc
        raise CliError(f"cannot load app: error while importing {name}: {summary(exc)}") from exc
    except Exception as exc:
        raise CliError(f"cannot load app: error while importing {name}: {summary(exc)}") from exc


def _find_app(module: ModuleType, where: str, attr: str | None) -> App:
    if attr is None:
        value = getattr(module, DEFAULT_ATTR, None)
        if value is None:  # no `app`: accept the module's only App, whatever its name
            apps = [v for v in vars(module).values() if isinstance(v, App)]
            if len(apps) == 1:
                return apps[0]
            raise CliError(
                f"cannot load app: {where} has no attribute {DEFAULT_ATTR!r}; "
                f"name it with --app {where}:NAME"
            )
        attr = DEFAULT_ATTR
    else:
        try:
            value = getattr(module, attr)
        except AttributeError:
            raise CliError(f"cannot load app: {where} has no attribute {attr!r}") from None
    if not isinstance(value, App):
        raise CliError(
            f"cannot load app: {where}:{attr} is a {type(value).__name__}, not a rota.App"
        )
    return value


def load_app(ref: str) -> App:
    """The App named by ``ref``; a CliError (exit 2) with one clear line otherwise."""
    target, attr = split_ref(ref.strip())
    if not target:
        raise CliError(f"cannot load app: {ref!r} names no module or file")
    module = _import_file(target) if _is_path(target) else _import_module(target)
    return _find_app(module, target, attr)
