"""Stage gates: conditions on a version's metadata that it must meet to take a stage.

A condition is ``<path> <op> <value>``: the path is dotted into the metadata (a leading
``metadata.`` is optional), the operator one of ``>= > <= < == !=``, the value a
number, ``true``/``false``/``null`` or a quoted string. Conditions are parsed, never
evaluated as code.

>>> check_condition("metrics.f1 >= 0.9", {"metrics": {"f1": 0.93}}).passed
True
>>> check_condition("accuracy > 0.9", {"accuracy": 0.85}).detail
'accuracy is 0.85, needs > 0.9'
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from registry_tool.errors import UsageError

_CONDITION = re.compile(
    r"^\s*(?P<path>[A-Za-z_][A-Za-z0-9_.-]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>.+?)\s*$"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_MISSING = object()


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: Any
    text: str

    @property
    def label(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class GateResult:
    condition: str
    passed: bool
    actual: Any
    detail: str


def parse_condition(text: str) -> Condition:
    """Parse ``metrics.f1 >= 0.9``; a clear error for anything else."""
    match = _CONDITION.match(text) if isinstance(text, str) else None
    if not match:
        raise UsageError(
            f"gate {text!r}: expected '<metadata key> <op> <value>' with op one of "
            ">= > <= < == != (e.g. 'metrics.f1 >= 0.9')"
        )
    raw = match.group("value")
    try:
        value = json.loads(raw.replace("'", '"') if raw.startswith("'") else raw)
    except ValueError:
        raise UsageError(
            f"gate {text!r}: {raw!r} is not a number, true/false/null or a quoted string"
        ) from None
    if isinstance(value, (list, dict)):
        raise UsageError(f"gate {text!r}: compare with a number, boolean or string")
    path = tuple(match.group("path").split("."))
    if path[0] == "metadata" and len(path) > 1:
        path = path[1:]
    return Condition(path, match.group("op"), value, text.strip())


def _lookup(metadata: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = metadata
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def check_condition(text: str, metadata: Mapping[str, Any]) -> GateResult:
    """Whether a version's metadata meets one condition, and why (not)."""
    condition = parse_condition(text)
    actual = _lookup(metadata, condition.path)
    if actual is _MISSING:
        return GateResult(condition.text, False, None, f"{condition.label} is not in the metadata")
    numeric = (int, float)
    same_kind = (
        isinstance(actual, numeric)
        and not isinstance(actual, bool)
        and isinstance(condition.value, numeric)
        and not isinstance(condition.value, bool)
    ) or type(actual) is type(condition.value)
    # Ordered: numbers with numbers, strings with strings, booleans with booleans; null
    # only equals null. Values of different kinds are never equal (true is not 1).
    comparable = same_kind and (condition.op in ("==", "!=") or actual is not None)
    if not comparable:
        if condition.op in ("==", "!="):
            passed = (condition.op == "!=") != (same_kind and actual == condition.value)
        else:
            return GateResult(
                condition.text,
                False,
                actual,
                f"{condition.label} is {actual!r}, which cannot be compared with "
                f"{condition.value!r}",
            )
    else:
        passed = _OPS[condition.op](actual, condition.value)
    detail = (
        f"{condition.label} is {actual!r}"
        if passed
        else f"{condition.label} is {actual!r}, needs {condition.op} {condition.value!r}"
    )
    return GateResult(condition.text, passed, actual, detail)


def check_gates(conditions: list[str], metadata: Mapping[str, Any]) -> list[GateResult]:
    return [check_condition(c, metadata) for c in conditions]
