"""Strict YAML in and canonical YAML out.

Reading refuses what a registry file never needs and an attacker would use: anchors and
aliases (billion laughs), duplicate keys, non-UTF-8 bytes, a byte order mark past the
start and raw NEL characters (YAML drops the one and reads the other as a line break,
unseen in a diff), oversized files and deep nesting. Timestamps stay strings. Writing
is canonical: block style (bar a version's entries, below), keys in record order, no
anchors, so equal documents give equal bytes; a document too large to be read back is
refused.

An integer too long to convert (Python refuses beyond 4,300 digits: a crash for every
reader of the file, ``check`` included) is refused, read or written, naming its field.
The registry's own writes hold integers to 64 bits (``wide_integer``, used by the
store and the SDK): what a signed or unsigned 64-bit integer holds is what YAML and
JSON readers in other languages take without rounding or refusing it.

A version file's ``entries`` are written one JSON flow mapping a line
(``- {"path": "d/f.txt", "digest": "sha256:...", "size": 8}``), which is still YAML:
PyYAML builds a manifest of 100,000 entries in Python, ~30 s to write and ~6 s to read,
where ``json`` takes a tenth of a second. Only that exact shape is taken on the fast
path, both ways (``_ENTRY_LINE``, a subset of both JSON and YAML on which the two agree);
anything else, an older block-style file or a hand edit included, goes through PyYAML
in full, so a document and its errors are the same whichever path reads it. A line
counts no more items (its line and commas) than the entry's block style did.

This is the one place the package meets PyYAML: every error it raises, reading or
writing, leaves here as a ``DocumentError`` naming the file.
"""

from __future__ import annotations

import json
import re
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
        return where if _too_wide(value, bits) else None
    if isinstance(value, dict):
        keyed: Any = value.items()
    elif isinstance(value, (list, tuple)):
        keyed = enumerate(value)
    else:
        return None
    # Paths are spelled only for what is wide or holds more: a manifest of 100,000
    # entries is text and small integers, and naming each costs more than checking it.
    spell = "{}.{}" if isinstance(value, dict) else "{}[{}]"
    for key, item in keyed:
        kind = type(item)
        if kind is str or item is None or kind is float or kind is bool:
            continue
        if kind is int:
            if _too_wide(item, bits):
                return spell.format(where, key)
        elif isinstance(item, (int, dict, list, tuple)):
            found = wide_integer(item, spell.format(where, key), bits=bits)
            if found is not None:
                return found
    return None


def _too_wide(value: int, bits: int | None) -> bool:
    if bits is not None:
        return value.bit_length() > bits
    return not INT_MIN <= value <= INT_MAX


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
    fast = _load_entry_lines(text, path)
    return fast if fast is not None else _parse(text, path)


def _parse(text: str, path: str) -> Any:
    """The strict PyYAML parse of a whole document, with its depth and integer checks."""
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


# -- entries one JSON flow mapping a line ---------------------------------------------
#
# A string as json.dumps(ensure_ascii=False) writes it, of characters YAML reads as they
# are inside double quotes: no raw C0/C1 control or DEL (JSON refuses the one, YAML the
# other), no raw line or paragraph separator (YAML folds them as line breaks), no raw
# BOM, U+FFFE, U+FFFF or lone surrogate (not printable to YAML, not UTF-8). An escape is
# left to ``json``, which refuses all but its own, and those YAML reads alike, bar an
# escaped surrogate (JSON joins a pair into one character, YAML keeps two lone halves):
# ``_SURROGATE_ESCAPE``. Possessive quantifiers: a line is matched without backtracking.
_CHAR = r'[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]'
_STR = rf'"{_CHAR}*+(?:\\.{_CHAR}*+)*+"'
# Decimal integers as both read them (YAML takes 1e3 for text and 012 for octal, JSON
# refuses 012), short enough that neither refuses or names them too wide.
_INT = r"-?+(?:0|[1-9][0-9]{0,19}+)"
_VALUE = rf"(?:{_STR}|{_INT}|null)"
_ENTRY_LINE = (
    rf'- \{{"path": {_STR}, "digest": {_STR}(?:, "size": (?:{_INT}|null))?+'
    rf'(?:, "ref": {_STR})?+'
    rf'(?:, "extra": \{{(?:{_STR}: {_VALUE}(?:, {_STR}: {_VALUE})*+)?+\}})?+\}}'
)
_ENTRY_LINES = re.compile(rf"(?:{_ENTRY_LINE}\n)++")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_ENTRIES_KEY = "entries:\n"
_ENTRIES_START = "\n" + _ENTRIES_KEY + "- {"
_ESCAPED = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_STORED_KEYS = frozenset({"path", "digest", "size"})
_quote = json.encoder.encode_basestring  # json.dumps(text, ensure_ascii=False), in C
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _lines_agree(body: str) -> bool:
    """True when ``body`` is whole ``_ENTRY_LINE`` lines that JSON and YAML read alike."""
    if not _ENTRY_LINES.fullmatch(body):
        return False
    return "\\u" not in body or _SURROGATE_ESCAPE.search(body) is None


# YAML reads a key written without '?' only up to 1,024 characters from its start: an
# ``extra`` key is left to the dumper beyond 128 characters, which even written all as
# six-character escapes stays under that.
_MAX_KEY = 128


class _NotAlike(Exception):
    """A flow mapping JSON and YAML would not read alike: a key twice (YAML refuses it,
    JSON keeps the last), or a key too long for YAML."""


def _keys_alike(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs) or any(len(key) > _MAX_KEY for key in mapping):
        raise _NotAlike
    return mapping


def _load_entry_lines(text: str, path: str) -> dict[str, Any] | None:
    """The document, when it is a mapping whose last key is ``entries`` written one
    ``_ENTRY_LINE`` a line to the end of the file; None sends it to the full parse.

    The header before ``entries:`` is parsed as YAML on its own: a scanner reads left
    to right, so when that prefix is a whole mapping ending in the key, the full parse
    sees the same keys and then the sequence of lines. Any error, in the header or the
    lines, goes to the full parse too, so that errors come out exactly as it words them.
    """
    at = text.find(_ENTRIES_START)
    if at < 0:
        return None
    split = at + 1 + len(_ENTRIES_KEY)
    body = text[split:]
    if not _lines_agree(body):
        return None
    try:
        header = _parse(text[:split], path)
    except DocumentError:
        return None
    if not isinstance(header, dict) or list(header)[-1:] != ["entries"]:
        return None
    if header["entries"] is not None:
        return None
    joined = "[" + body[2:-1].replace("\n- ", ", ") + "]"  # no raw newline in a line
    try:
        if '"extra": {"' in body:
            header["entries"] = json.loads(joined, object_pairs_hook=_keys_alike)
        else:
            header["entries"] = json.loads(joined)
    except (_NotAlike, ValueError):
        return None
    return header


def _entry_lines(doc: Any) -> str | None:
    """A version document's entries as ``_ENTRY_LINE`` lines, or None when any entry
    has another shape (a key out of order, a float, a long integer, a character the
    line leaves out): that document is written by the dumper as a whole."""
    if not isinstance(doc, dict) or doc.get("kind") != "version" or len(doc) < 2:
        return None
    entries = doc.get("entries")
    if type(entries) is not list or not entries or list(doc)[-1] != "entries":
        return None
    lines: list[str] = []
    add = lines.append
    for entry in entries:
        if type(entry) is not dict:
            return None
        if entry.keys() == _STORED_KEYS:  # the usual entry, in a third of the time
            path, digest, size = entry["path"], entry["digest"], entry["size"]
            if type(path) is str and type(digest) is str and _scalar(size):
                size = "null" if size is None else size
                add(f'- {{"path": {_quote(path)}, "digest": {_quote(digest)}, "size": {size}}}')
                continue
        for key, value in entry.items():
            if not (_scalar(value) or (key == "extra" and _plain_extra(value))):
                return None
        add("- " + _encode(entry))
    lines.append("")
    body = "\n".join(lines)
    if not body.isascii() or "\x7f" in body:
        body = _ESCAPED.sub(_escape_char, body)
    return body if _lines_agree(body) else None


def _scalar(value: Any) -> bool:
    """Text, null or a 64-bit integer, of these exact types (a bool or an enum is an
    int to ``json`` but not to the YAML dumper, and json cannot write 5,000 digits)."""
    kind = type(value)
    return kind is str or value is None or (kind is int and value.bit_length() <= 64)


def _plain_extra(value: Any) -> bool:
    return type(value) is dict and all(
        type(k) is str and len(k) <= _MAX_KEY and _scalar(v) for k, v in value.items()
    )


def _escape_char(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


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
        lines = _entry_lines(doc)
        if lines is None:
            data = _dump(doc)
        else:
            head = _dump({k: v for k, v in doc.items() if k != "entries"})
            data = b"".join((head, _ENTRIES_KEY.encode(), lines.encode("utf-8")))
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
    takes at least its path and 101 bytes (in block style ``- path: ``, the digest line,
    a size of one digit; its entry line takes 111), and three items (lines, or a line
    and two commas) plus the commas of its path."""
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
