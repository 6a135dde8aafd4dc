"""W&B's MongoDB-style filters (``api.runs(path, filters={...})``), for the simple cases.

W&B sends a run filter to its server, which runs it as a MongoDB query; here the runs
are files in git and the filter is judged on each run's document, with MongoDB's
meaning for what is supported:

- a field (``"state"``, ``"config.lr"``, ``"summary_metrics.acc"``, ``"tags"``) equal
  to a value, or a condition of operators: ``$eq``, ``$ne``, ``$gt``, ``$gte``,
  ``$lt``, ``$lte``, ``$in``, ``$nin``, ``$exists``, ``$regex``;
- ``$and``, ``$or`` and ``$nor`` over lists of filters;
- a field holding a list (``tags``) matches a value when one of its items does, as in
  MongoDB;
- a value of another type never compares (``{"group": {"$gt": 1}}`` matches nothing),
  again as in MongoDB, rather than raising.

Any other operator is an ``UnsupportedError`` naming it: a filter that silently matched
too much would be worse than none.

>>> doc = {"state": "finished", "config": {"lr": 0.1}, "tags": ["a", "b"]}
>>> matches(doc, {"config.lr": {"$lt": 0.5}, "tags": {"$in": ["b", "c"]}})
True
>>> matches(doc, {"$or": [{"state": "running"}, {"tags": "z"}]})
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from registry_tool.errors import UnsupportedError, UsageError

_MISSING = object()

# W&B's names for a run's fields, to the keys of the document ``matches`` judges.
ALIASES = {
    "summary": "summary_metrics",
    "displayName": "display_name",
    "jobType": "job_type",
    "createdAt": "created_at",
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_CONDITIONS = {"$eq", "$ne", "$in", "$nin", "$exists", "$regex", "$options", *_COMPARE}
_LOGICAL = {"$and", "$or", "$nor"}


def lookup(doc: Mapping[str, Any], field: str) -> Any:
    """The value at a dotted field (``config.opt.name``), or ``_MISSING``.

    W&B's older filters name a config value as ``config.lr.value`` (the server keeps
    each config key as ``{"value": ...}``): a trailing ``.value`` that is not there is
    dropped."""
    head, _, rest = field.partition(".")
    parts = [ALIASES.get(head, head), *(rest.split(".") if rest else [])]
    value: Any = doc
    for i, part in enumerate(parts):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif part == "value" and i == len(parts) - 1 and i > 1:
            return value
        else:
            return _MISSING
    return value


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    return type(a) is type(b) and isinstance(a, str)


def _equal(value: Any, wanted: Any) -> bool:
    """MongoDB equality: a list field matches when it equals ``wanted`` or holds it."""
    if isinstance(value, list) and not isinstance(wanted, list):
        return any(_equal(item, wanted) for item in value)
    if isinstance(value, bool) or isinstance(wanted, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    return bool(value == wanted)


def _compare(op: str, value: Any, bound: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(_comparable(v, bound) and _COMPARE[op](v, bound) for v in items)


def _regex(value: Any, pattern: Any, options: Any) -> bool:
    if not isinstance(pattern, str):
        raise UsageError(f"filters: $regex takes a string, not {type(pattern).__name__}")
    flags = re.IGNORECASE if isinstance(options, str) and "i" in options else 0
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise UsageError(f"filters: $regex {pattern!r}: {exc}") from None
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and compiled.search(v) is not None for v in items)


def _listed(op: str, wanted: Any) -> list[Any]:
    if not isinstance(wanted, list | tuple):
        raise UsageError(f"filters: {op} takes a list, not {type(wanted).__name__}")
    return list(wanted)


def _condition(value: Any, condition: Mapping[str, Any], field: str) -> bool:
    for op, wanted in condition.items():
        if op not in _CONDITIONS:
            raise UnsupportedError(
                f"filters: operator {op!r} (on {field!r}) is not supported here; "
                f"use {', '.join(sorted(_CONDITIONS - {'$options'}))}, $and, $or or $nor"
            )
        present = value is not _MISSING
        if op == "$eq":
            ok = present and _equal(value, wanted)
        elif op == "$ne":
            ok = not (present and _equal(value, wanted))
        elif op == "$in":
            ok = present and any(_equal(value, w) for w in _listed(op, wanted))
        elif op == "$nin":
            ok = not (present and any(_equal(value, w) for w in _listed(op, wanted)))
        elif op == "$exists":
            ok = present == bool(wanted)
        elif op == "$regex":
            ok = present and _regex(value, wanted, condition.get("$options"))
        elif op == "$options":
            ok = True
        else:
            ok = present and _compare(op, value, wanted)
        if not ok:
            return False
    return True


def _clauses(op: str, clauses: Any) -> list[Mapping[str, Any]]:
    if not isinstance(clauses, list | tuple) or not all(isinstance(c, Mapping) for c in clauses):
        raise UsageError(f"filters: {op} takes a list of filters")
    return list(clauses)


def matches(doc: Mapping[str, Any], filters: Mapping[str, Any] | None) -> bool:
    """Whether ``doc`` satisfies ``filters`` (see the module's docstring)."""
    if filters is None:
        return True
    if not isinstance(filters, Mapping):
        raise UsageError(f"filters: expected a dict, not {type(filters).__name__}")
    for key, wanted in filters.items():
        if not isinstance(key, str):
            raise UsageError(f"filters: keys are field names, not {type(key).__name__}")
        if key == "$and":
            ok = all(matches(doc, c) for c in _clauses(key, wanted))
        elif key == "$or":
            ok = any(matches(doc, c) for c in _clauses(key, wanted))
        elif key == "$nor":
            ok = not any(matches(doc, c) for c in _clauses(key, wanted))
        elif key.startswith("$"):
            raise UnsupportedError(
                f"filters: operator {key!r} is not supported here; "
                f"use {', '.join(sorted(_LOGICAL))} or a field's conditions"
            )
        else:
            value = lookup(doc, key)
            if isinstance(wanted, Mapping) and any(str(k).startswith("$") for k in wanted):
                ok = _condition(value, wanted, key)
            else:
                ok = value is not _MISSING and _equal(value, wanted)
        if not ok:
            return False
    return True


def sort_key(doc: Mapping[str, Any], field: str) -> tuple[int, Any]:
    """A key that orders documents by ``field``: numbers, then strings, then the rest,
    missing values last (so that a mixed column still sorts)."""
    value = lookup(doc, field)
    if value is _MISSING or value is None:
        return (3, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, repr(value))
