"""Turn user values (metadata, run config) into plain YAML-safe data, or say why not."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from registry_tool.errors import UsageError

MAX_DEPTH = 32


def to_plain(value: Any, *, where: str, _depth: int = 0) -> Any:
    """Return ``value`` as dicts, lists, str, int, float, bool and None.

    Tuples become lists; numpy scalars and arrays become Python values. NaN, infinity,
    non-string keys and other objects are refused with an error naming ``where``.
    """
    if _depth > MAX_DEPTH:
        raise UsageError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{where}: {value} is not a finite number")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where}: key {key!r} is not a string")
            out[key] = to_plain(item, where=f"{where}.{key}", _depth=_depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, where=f"{where}[{i}]", _depth=_depth + 1) for i, v in enumerate(value)]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return to_plain(tolist(), where=where, _depth=_depth)
    raise UsageError(f"{where}: {type(value).__name__} is not a YAML value")
