"""Strict YAML in and canonical YAML out.

Reading refuses what a registry file never needs and an attacker would use: anchors and
aliases (billion laughs), duplicate keys, non-UTF-8 bytes, a byte order mark past the
start and raw NEL characters (YAML drops the one and reads the other as a line break,
unseen in a diff), oversized files and deep nesting. Timestamps stay strings. Writing is canonical: block style, keys in
record order, no anchors, so equal documents give equal bytes; a document too large to
be read back is refused.

An integer too long to convert (Python refuses beyond 4,300 digits: a crash for every
reader of the file, ``check`` included) is refused, read or written, naming its field.
The registry's own writes hold integers to 64 bits (``wide_integer``, used by the
store and the SDK): what a signed or unsigned 64-bit integer holds is what YAML and
JSON readers in other languages take without rounding or refusing it.

This is the one place the package meets PyYAML: every error it raises, reading or
writing, leaves here as a ``DocumentError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from registry_tool.errors import DocumentError

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
# Items (lines plus flow-collection commas) a file may hold: parsing costs ~5 s and
# ~400 MB per million YAML nodes, so 64 MiB of "0," (30 million nodes) must be refused
# before it is parsed. The largest manifest that fits in MAX_BYTES has ~2.5 million.
MAX_ITEMS = 4_000_000
INT_MIN, INT_MAX = -(2**63), 2**64 - 1
WIDE_INTEGER = "an integer beyond the 64-bit range -2**63..2**64-1"
# Integers longer than this are never converted (Python refuses beyond 4,300 digits).
MAX_INT_CHARS = 4096
MAX_INT_BITS = 13_600  # under 4,096 decimal digits

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Refused(Exception):
    """Something the strict loader will not read; its ``__cause__``, when set, is the
    constructor's own error."""


class _WideInteger:
    """What the loader makes of an integer beyond 64 bits, so that the error can name
    its field once the document is built (a constructor only knows its line)."""

    def __init__(self, line: int) -> None:
        self.line = line


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    """Safe loader without timestamps, aliases or duplicate keys."""

    wide = False  # whether an integer too long to convert was met

    def construct_yaml_int(self, node: Any) -> Any:
        # Never converted: beyond 4,300 digits Python refuses to (and it is far beyond
        # 64 bits, bar leading zeros no one writes).
        if len(str(node.value)) > MAX_INT_CHARS:
            self.wide = True
            return _WideInteger(node.start_mark.line + 1)
        return super().construct_yaml_int(node)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            raise _Refused("anchors and aliases are not allowed")
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # PyYAML's constructors fail this way on an explicit tag with a bad value
            # (``!!int abc``, ``!!bool maybe``, ``!!timestamp x``).
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            value = node.value if isinstance(node, yaml.ScalarNode) else node.id
            line = node.start_mark.line + 1
            raise _Refused(f"{value!r} is not a valid {tag} (line {line})") from exc

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not isinstance(node, yaml.MappingNode):
            raise _Refused(f"expected a mapping (line {node.start_mark.line + 1})")
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(f"merge keys ('<<') are not allowed (line {line})")
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(f"keys must be strings, found a {key_node.id} (line {line})")
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise _Refused(f"key {key!r} is not a string (line {line})")
            if key in mapping:
                raise _Refused(f"duplicate key {key!r} (line {line})")
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class _WideRefused(Exception):
    """The dumper met an integer beyond 64 bits (``dumps`` names its field)."""


class _CanonicalDumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_int(self, data: int) -> Any:
        if data.bit_length() > MAX_INT_BITS:
            raise _WideRefused
        return super().represent_int(data)


_CanonicalDumper.add_representer(int, _CanonicalDumper.represent_int)


def wide_integer(value: Any, where: str = "$", *, bits: int | None = None) -> str | None:
    """Where the first integer beyond 64 bits (-2**63 to 2**64-1; with ``bits``, of more
    bits than that) is in a plain value (``$.metadata.n``, ``where`` the prefix), or
    None when there is none.

    >>> wide_integer({"ok": [1, -2**63, True], "seed": 2**64})
    '$.seed'
    """
    if isinstance(value, int):
        if bits is not None:
            return where if value.bit_length() > bits else None
        return None if INT_MIN <= value <= INT_MAX else where
    if isinstance(value, dict):
        items: Any = ((f"{where}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for inner, item in items:
        if isinstance(item, (int, dict, list, tuple)):
            found = wide_integer(item, inner, bits=bits)
            if found is not None:
                return found
    return None


def _wide_place(value: Any, where: str = "$") -> tuple[str, int] | None:
    """The field and line of the first integer the loader found too long to convert."""
    if isinstance(value, _WideInteger):
        return where, value.line
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{where}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    for inner, item in items:
        found = _wide_place(item, inner)
        if found is not None:
            return found
    return None


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def loads(data: bytes, path: str) -> Any:
    """Parse one YAML document; errors name ``path``."""
    if len(data) > MAX_BYTES:
        raise DocumentError(path, "$", f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, "$", f"not UTF-8 (byte {exc.start})") from exc
    _refuse_invisible(text, path)
    if data.count(b"\n") + data.count(b",") > MAX_ITEMS:
        raise DocumentError(path, "$", "too many YAML nodes")
    loader = _StrictLoader(text)
    try:
        value = loader.get_single_data()
    except _Refused as exc:
        # Our own refusal says it all; a constructor's error behind it is kept.
        raise DocumentError(path, "$", str(exc)) from exc.__cause__
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DocumentError(path, "$", f"not valid YAML: {problem}{where}") from exc
    except RecursionError:  # a traceback thousands of frames deep says nothing more
        raise DocumentError(path, "$", f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    if _depth(value) > MAX_DEPTH:
        raise DocumentError(path, "$", f"nested deeper than {MAX_DEPTH} levels")
    place = _wide_place(value) if loader.wide else None
    if place is not None:
        raise DocumentError(path, place[0], f"{WIDE_INTEGER} (line {place[1]})")
    return value


def _refuse_invisible(text: str, path: str) -> None:
    """Refuse characters the canonical writer always escapes and YAML reads specially:
    a byte order mark past the start (dropped silently) and NEL (a line break). Only a
    hand edit puts them raw in a file, and there they hide structure from whoever
    reviews the diff. A BOM at the very start, as some editors save, is fine."""
    start = 1 if text.startswith("\ufeff") else 0
    for char, what in (("\ufeff", "a byte order mark (U+FEFF)"), ("\x85", "a raw NEL (U+0085)")):
        at = text.find(char, start)
        if at >= 0:
            line = text.count("\n", 0, at) + 1
            raise DocumentError(path, "$", f"contains {what}; write it escaped (line {line})")


def dumps(doc: Any, *, path: str = "(new document)") -> bytes:
    """Canonical YAML bytes for a plain document; ``path`` names it in errors."""
    try:
        data = _dump(doc)
    except _WideRefused:
        where = wide_integer(doc, bits=MAX_INT_BITS) or "$"
        raise DocumentError(path, where, WIDE_INTEGER) from None
    except UnicodeEncodeError as exc:
        raise DocumentError(path, "$", "text that is not valid UTF-8") from exc
    except yaml.YAMLError as exc:  # a value YAML cannot represent (a caller's mistake)
        value = exc.args[1] if len(exc.args) > 1 else None
        raise DocumentError(
            path, "$", f"a {type(value).__name__} value cannot be written as YAML"
        ) from exc
    if len(data) > MAX_BYTES:
        # Never write what ``loads`` would refuse: the registry could not read it back.
        raise DocumentError(
            path,
            "$",
            f"would be {len(data) // (1024 * 1024)} MiB, larger than the "
            f"{MAX_BYTES // (1024 * 1024)} MiB a registry file may be",
        )
    if data.count(b"\n") + data.count(b",") > MAX_ITEMS:
        raise DocumentError(path, "$", f"would hold more than {MAX_ITEMS:,} items")
    return data


def manifest_too_large(paths: Sequence[str]) -> str | None:
    """Why a manifest of these entry paths cannot fit in a registry file, or None when
    it may: told before a byte is stored, from a lower bound of its size. Each entry
    takes at least its path and 101 bytes (``- path: ``, the digest line, a size of one
    digit), and three lines plus the commas of its path as items."""
    floor = sum(len(p.encode("utf-8", "surrogatepass")) + 101 for p in paths)
    limit = MAX_BYTES // (1024 * 1024)
    if floor > MAX_BYTES:
        return (
            f"{len(paths):,} files make a manifest of at least {floor // (1024 * 1024)} MiB, "
            f"more than the {limit} MiB a registry file may be; split them into several artifacts"
        )
    items = sum(3 + p.count(",") for p in paths)
    if items > MAX_ITEMS:
        return (
            f"{len(paths):,} files make a manifest of at least {items:,} items, more than the "
            f"{MAX_ITEMS:,} a registry file may hold; split them into several artifacts"
        )
    return None


def _dump(doc: Any) -> bytes:
    text: str = yaml.dump(
        doc,
        Dumper=_CanonicalDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
    )
    return text.encode("utf-8")
