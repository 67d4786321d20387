"""``python -m verify --module FILE``: check the function/derivative pairs a user's file declares.

The file declares a module-level ``CHECKS`` list; each item is a dict with the keywords
of ``verify.check``::

    CHECKS = [
        dict(function=cube, derivative=cube_derivative, kind="derivative", args=(np.array([0.5, 1.5, -2.0]),)),
        dict(function=loss, derivative=loss_gradient, kind="gradient", args=(x, A), wrt=0, name="loss"),
    ]

Required: function, derivative, kind, args. Optional: wrt, name, tolerance (with
tolerance_reason), holomorphic, fd_step. Each item becomes a registry Identity whose
sampler returns ``args``, so the CLI runs, filters and reports it like a curriculum entry.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .registry import Identity

REQUIRED = ("function", "derivative", "kind", "args")
OPTIONAL = ("wrt", "name", "tolerance", "tolerance_reason", "holomorphic", "fd_step")


def _usage_error(message: str):
    from .results import UsageError

    return UsageError(message)


imported: list[Path] = []  # every user file this process imported (python -m verify then exits the slow way: __main__.py)


def _import(path: Path):
    imported.append(path)
    name = f"verify_user_module_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _usage_error(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # the user's file may import its neighbours
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a SystemExit at import is the file's, not ours
        raise _usage_error(f"cannot import {path}: {_where(exc, path)}") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def where_raised(exc: BaseException, path: Path) -> str:
    """``FILE:LINE`` of the innermost frame of the user's file in the traceback ('' if none)."""
    import traceback

    target, found = Path(path).resolve(), ""
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve() == target:
                found = f"{path}:{frame.lineno}"
        except (OSError, ValueError):
            continue
    return found


def _where(exc: BaseException, path: Path) -> str:
    """``SyntaxError at FILE:LINE: message``: the line of the user's file that failed."""
    if isinstance(exc, SyntaxError):
        line = f" at {path}:{exc.lineno}" if exc.lineno else ""
        return f"{type(exc).__name__}{line}: {exc.msg}"
    where = where_raised(exc, path)
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    return f"{type(exc).__name__}{f' at {where}' if where else ''}: {message}".rstrip(": ")


def declaration_to_identity(item, index: int, path: Path) -> Identity:
    from .api import user_identity

    where = f"{path}: CHECKS[{index}]"
    if not isinstance(item, dict):
        raise _usage_error(f"{where} is a {type(item).__name__}; each declaration is a dict(function=..., derivative=..., kind=..., args=(...))")
    missing = [k for k in REQUIRED if k not in item]
    unknown = [k for k in item if k not in REQUIRED + OPTIONAL]
    if missing:
        raise _usage_error(f"{where} lacks {', '.join(missing)}")
    if unknown:
        raise _usage_error(f"{where} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}")
    args = item["args"]
    if not isinstance(args, (tuple, list)):
        raise _usage_error(f"{where}: args must be a tuple of arguments, e.g. args=(x,)")
    options = {k: item[k] for k in OPTIONAL if k in item}
    try:
        return user_identity(item["function"], item["derivative"], tuple(args), kind=item["kind"], **options)
    except (ValueError, TypeError) as exc:
        raise _usage_error(f"{where}: {exc}") from None


def load_entries(path) -> list[Identity]:
    """The Identities a user's file declares; UsageError for a missing or unusable file."""
    path = Path(path)
    if not path.is_file():
        raise _usage_error(f"no such file: {path}")
    module = _import(path)
    declared = getattr(module, "CHECKS", None)
    if not declared:
        raise _usage_error(
            f"{path} declares no checks: define CHECKS = [dict(function=f, derivative=df, kind='gradient', args=(x,))]"
        )
    entries = [declaration_to_identity(item, i, path) for i, item in enumerate(declared)]
    seen: dict[str, int] = {}
    unique = []
    for e in entries:  # names key the CLI filters and the seeds: make them unique
        seen[e.name] = seen.get(e.name, 0) + 1
        if seen[e.name] > 1:
            e = _renamed(e, f"{e.name}_{seen[e.name]}")
        unique.append(e)
    return unique


def _renamed(entry: Identity, name: str) -> Identity:
    import dataclasses

    return dataclasses.replace(entry, name=name, statement=entry.statement.replace(entry.name, name, 1))
