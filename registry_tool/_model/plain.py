"""Turn user values (metadata, run config, summary) into plain YAML-safe data, or say why not.

A W&B script puts numpy numbers, arrays, datetimes and paths into metadata and config
without a second thought, because ``wandb`` converts them. The conversions here are the
ones ``wandb`` makes, so that the same script stores the same values:

* numpy integer, float and bool scalars become Python numbers (``.item()``); a numpy
  array of one element becomes that element and any other array a nested list;
* ``datetime``, ``date`` and ``time`` become ISO 8601 text, paths their text and an
  enum member its name;
* NaN becomes ``None`` (``wandb`` turns a NaN float into JSON ``null``), and an infinity
  the text ``"Infinity"`` or ``"-Infinity"`` (what ``wandb`` sends for them). A registry
  file never holds a NaN or infinite float: YAML could spell them (``.nan``, ``.inf``)
  but JSON, the schemas and every gate that compares a metric could not.

Anything else (bytes, sets, decimals, objects) is refused with an error naming the key,
where ``wandb`` would store its ``repr``: a registry file holds data, not a description.
numpy is imported only when a numpy value is met, never to import the package.

>>> to_plain({"lr": 0.1, "seen": float("nan"), "best": float("-inf")}, where="config")
{'lr': 0.1, 'seen': None, 'best': '-Infinity'}
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from registry_tool.errors import UsageError

MAX_DEPTH = 32
INFINITY, MINUS_INFINITY = "Infinity", "-Infinity"


def to_plain(value: Any, *, where: str, _depth: int = 0) -> Any:
    """Return ``value`` as dicts, lists, str, int, float, bool and None.

    ``where`` names the value in an error (``artifact 'x' metadata.key``); nesting
    deeper than ``MAX_DEPTH`` and keys that are not strings are refused.
    """
    if _depth > MAX_DEPTH:
        raise UsageError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is str or kind is int:
        return value
    if kind is float:
        return _float(value)
    if kind.__module__.split(".")[0] == "numpy":
        return _numpy(value, where=where, depth=_depth)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where}: key {key!r} is not a string")
            out[str(key)] = to_plain(item, where=f"{where}.{key}", _depth=_depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, where=f"{where}[{i}]", _depth=_depth + 1) for i, v in enumerate(value)]
    return _other(value, where=where, depth=_depth)


def _float(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return INFINITY if value > 0 else MINUS_INFINITY
    return value


def _other(value: Any, *, where: str, depth: int) -> Any:
    """Datetimes, paths and other array libraries' tensors, as wandb takes them."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    tolist = getattr(value, "tolist", None)  # torch and jax tensors, like numpy's
    if callable(tolist) and not isinstance(value, type):
        return to_plain(tolist(), where=where, _depth=depth + 1)
    raise UsageError(f"{where}: {type(value).__name__} is not a YAML value")


def _numpy(value: Any, *, where: str, depth: int) -> Any:
    """A numpy scalar or array (numpy is loaded already: the value came from it)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.size == 1:  # wandb stores a one-element array as its element
            return _numpy(value.reshape(-1)[0], where=where, depth=depth)
        if value.dtype.kind == "M":  # datetimes: ISO text, nanoseconds included
            value = np.datetime_as_string(value)
        return to_plain(value.tolist(), where=where, _depth=depth)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return str(np.datetime_as_string(value))
    if isinstance(value, np.complexfloating):
        raise UsageError(f"{where}: a complex number is not a YAML value")
    if isinstance(value, np.generic):
        item = value.item()
        if type(item).__module__.split(".")[0] == "numpy":  # longdouble keeps its type
            item = float(item)
        return to_plain(item, where=where, _depth=depth)
    return _other(value, where=where, depth=depth)
