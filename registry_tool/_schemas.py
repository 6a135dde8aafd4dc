"""Load the JSON Schemas shipped in ``schemas/`` and validate registry documents.

>>> validate({"kind": "alias"}, "alias", "aliases/best.yaml")
Traceback (most recent call last):
...
registry_tool.errors.DocumentError: aliases/best.yaml: $: 'alias' is a required property
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from registry_tool._model.names import LINE_BREAK_OR_CONTROL, NOT_ONE_LINE
from registry_tool._resources import data_path
from registry_tool.errors import DocumentError

KINDS = (
    "registry",
    "collection",
    "version",
    "alias",
    "run",
    "model-registry",
    "link",
    "unlink",
    "edit",
)


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    folder = data_path("schemas")
    out = {}
    for item in folder.iterdir():
        if item.name.endswith(".schema.json"):
            out[item.name.removesuffix(".schema.json")] = json.loads(item.read_text("utf-8"))
    return out


if TYPE_CHECKING:
    import jsonschema


@cache
def validator(kind: str) -> jsonschema.protocols.Validator:
    # Imported here: jsonschema costs a tenth of a second to import, and reads that
    # hit the document cache never need it.
    import jsonschema
    from referencing import Registry, Resource

    schemas = _schemas()
    if kind not in schemas:
        raise KeyError(f"no schema for {kind!r}")
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in schemas.values()
    )
    base = jsonschema.validators.validator_for(schemas[kind])
    # JSON Schema counts 3.0 as an integer; a version number must be a real int.
    strict = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool)
    )
    cls = jsonschema.validators.extend(base, type_checker=strict)
    # The shared definitions are inlined once here: resolving a $ref into another
    # schema on every document costs jsonschema two thirds of its time.
    inlined = _inline(schemas[kind], schemas[kind], schemas)
    return cls(inlined, registry=registry, format_checker=base.FORMAT_CHECKER)


def _inline(node: Any, base: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> Any:
    """``node`` with every ``$ref`` replaced by what it points at (refs are acyclic)."""
    if isinstance(node, list):
        return [_inline(item, base, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target_file, _, pointer = node["$ref"].partition("#")
        target_base = schemas[target_file.removesuffix(".schema.json")] if target_file else base
        target: Any = target_base
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            target = target[part]
        merged = {k: v for k, v in node.items() if k != "$ref"}
        resolved = _inline(target, target_base, schemas)
        return {**resolved, **{k: _inline(v, base, schemas) for k, v in merged.items()}}
    return {
        key: (value if key in ("$defs", "$id", "$schema") else _inline(value, base, schemas))
        for key, value in node.items()
    }


def schema(kind: str) -> dict[str, Any]:
    return _schemas()[kind]


# Metadata of a version and config of a run are free-form, and every listing, page and
# check reads them: 1 MiB as compact JSON holds any metrics and hyperparameters while a
# registry file stays quick to parse (DESIGN.md sets no figure; this one is ours).
MAX_PLAIN_BYTES = 1024 * 1024
_PLAIN_FIELDS = {"version": "metadata", "run": "config", "edit": "metadata"}
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _bad_value(value: Any, where: str) -> tuple[str, str] | None:
    """The first value that is not plain JSON data (NaN, infinity, text with a lone
    surrogate, a YAML ``!!binary``, ``!!set`` or ``!!timestamp``) as (JSON path, message).
    """
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, "NaN and infinity are not allowed")
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            return where, "text that is not valid UTF-8 (a lone surrogate)"
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return where, f"key {key!r} is not a string"
            if not key.isascii() and _SURROGATE.search(key):
                return where, f"key {key!r} is not valid UTF-8 (a lone surrogate)"
            if LINE_BREAK_OR_CONTROL.search(key):
                # Keys are named in gate conditions, listings and pull requests: one
                # line at any depth (the schemas' propertyNames reach only the top).
                return where, f"key {key!r} {NOT_ONE_LINE}"
            found = _bad_value(item, f"{where}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_value(item, f"{where}[{i}]")
            if found:
                return found
    else:
        return where, (
            f"a {type(value).__name__} is not allowed here (only strings, numbers, booleans, "
            "null, lists and mappings)"
        )
    return None


def _plain_size(value: Any) -> int:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def validate(doc: Any, kind: str, path: str) -> None:
    """Raise ``DocumentError("path: $.field: message")`` unless ``doc`` is a valid ``kind``."""
    if not isinstance(doc, dict):
        raise DocumentError(path, "$", f"expected a mapping, found {type(doc).__name__}")
    from jsonschema.exceptions import best_match

    target = plain = doc
    if kind == "version":
        # Manifests have thousands of entries; jsonschema takes ~40 us an entry. Entries
        # that pass the equivalent check below are left out of the jsonschema pass (a
        # property test keeps the two in agreement); any doubt goes to jsonschema. Those
        # that are also plain data as ``_bad_value`` means it are left out of that walk.
        entries = doc.get("entries")
        if entries_plain(entries):
            target = plain = {**doc, "entries": []}
        elif _entries_ok(entries):
            target = {**doc, "entries": []}
    error = best_match(validator(kind).iter_errors(target))
    if error is not None:
        error = _not_one_line(error) or error
        message = error.message
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        if _is_line_pattern(error):
            # Said plainly, without the value: it may be 64 KiB long, and it is what
            # must not reach a log or a terminal as it is.
            where = "propertyNames" in error.schema_path
            message = f"key {error.instance!r} {NOT_ONE_LINE}" if where else NOT_ONE_LINE
        elif error.validator in ("pattern", "not") and described:
            message = f"{error.instance!r} is not {described}"
        raise DocumentError(path, error.json_path, message)
    found = _bad_value(plain, "$")
    if found:
        raise DocumentError(path, *found)
    field = _PLAIN_FIELDS.get(kind)
    if field is not None and field in doc:
        size = _plain_size(doc[field])
        if size > MAX_PLAIN_BYTES:
            raise DocumentError(
                path,
                f"$.{field}",
                f"is {size} bytes as JSON, more than the "
                f"{MAX_PLAIN_BYTES // (1024 * 1024)} MiB allowed",
            )


def _line_pattern() -> str:
    pattern: str = _schemas()["common"]["$defs"]["line"]["pattern"]
    return pattern


def _is_line_pattern(error: jsonschema.exceptions.ValidationError) -> bool:
    return bool(error.validator == "pattern" and error.validator_value == _line_pattern())


def _not_one_line(
    error: jsonschema.exceptions.ValidationError,
) -> jsonschema.exceptions.ValidationError | None:
    """The line-break error inside an ``anyOf`` (a timestamp or null, say), which
    ``best_match`` leaves as "not valid under any of the given schemas"."""
    for found in error.context or ():
        if _is_line_pattern(found):
            return found
        deeper = _not_one_line(found)
        if deeper is not None:
            return deeper
    return None


_ENTRY_KEYS = frozenset({"path", "digest", "size", "ref", "extra"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def entry_ok(entry: Any) -> bool:
    """True when a manifest entry is valid by the ``entries`` items schema."""
    if not isinstance(entry, dict) or not entry.keys() <= _ENTRY_KEYS:
        return False
    path, digest = entry.get("path"), entry.get("digest")
    if not _line_of(path, 1024) or not _line_of(digest, 4096):
        return False
    if (
        "size" in entry
        and entry["size"] is not None
        and not (_is_int(entry["size"]) and entry["size"] >= 0)
    ):
        return False
    if "ref" in entry and not _line_of(entry["ref"], 4096):
        return False
    if "extra" in entry:
        extra = entry["extra"]
        if not isinstance(extra, dict):
            return False
        for v in extra.values():
            if isinstance(v, str):
                if LINE_BREAK_OR_CONTROL.search(v):
                    return False
            elif not (v is None or _is_int(v)):
                return False
    return True


def _line_of(value: Any, most: int) -> bool:
    """True for a string of 1 to ``most`` characters on one line (``$defs/line``)."""
    return (
        isinstance(value, str)
        and 1 <= len(value) <= most
        and LINE_BREAK_OR_CONTROL.search(value) is None
    )


def _entries_ok(entries: Any) -> bool:
    return isinstance(entries, list) and all(entry_ok(e) for e in entries)


_STORED_KEYS = frozenset({"path", "digest", "size"})


def entries_plain(entries: Any) -> bool:
    """True when every entry is valid by the ``entries`` items schema (``entry_ok``) and
    is plain data (``_bad_value`` finds nothing in it); False may be a doubt, not a fault.

    An entry of the usual shape (path, digest and size, of the exact types) is checked
    here in a few comparisons; its texts are then searched at once, joined, for a line
    break, a control character or a lone surrogate: a manifest of 100,000 entries in
    ~0.1 s instead of ~1 s. Any other entry goes through ``entry_ok`` and ``_bad_value``.
    """
    if not isinstance(entries, list):
        return False
    texts: list[str] = []
    add = texts.append
    for entry in entries:
        if type(entry) is dict and entry.keys() == _STORED_KEYS:
            path, digest, size = entry["path"], entry["digest"], entry["size"]
            if (
                type(path) is str
                and type(digest) is str
                and 0 < len(path) <= 1024
                and 0 < len(digest) <= 4096
                and (size is None or (type(size) is int and size >= 0))
            ):
                add(path)
                add(digest)
                continue
            return False
        if not entry_ok(entry) or _bad_value(entry, "$") is not None:
            return False
    joined = " ".join(texts)
    return LINE_BREAK_OR_CONTROL.search(joined) is None and (
        joined.isascii() or _SURROGATE.search(joined) is None
    )
