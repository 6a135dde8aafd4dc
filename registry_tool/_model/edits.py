"""An edit of a logged version, as a value, and the view readers get by applying edits.

W&B lets a user change a logged version's description, metadata, tags and time to live
and ``save()`` it. Here a version file never changes (only its delete mark may be
added), so each such change is a document of its own, ``edits/v<N>/<seq>.yaml`` beside
the versions (see ``layout``): who, when, and the new values of what changed. What was
logged stays as it was logged; readers apply the edits in ``seq`` order.

>>> first = EditRecord("p", "data", 0, 0, "2026-01-01T00:00:00Z", "A <a@x>", metadata={"f1": 0.8})
>>> second = EditRecord("p", "data", 0, 1, "2026-01-02T00:00:00Z", "A <a@x>", metadata={"f1": 0.9},
...                     removed=("old",), fields={"tags": ("best",)})
>>> shown = merge(None, {"f1": 0.5, "old": 1}, [second, first])
>>> shown.metadata, shown.tags, sorted(shown.edited)
({'f1': 0.9}, ('best',), ['f1', 'old'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tool.errors import UsageError

# The fields an edit may carry besides metadata, and what a missing one means: unchanged.
FIELDS = ("description", "tags", "ttl")
# W&B's tag grammar: words of letters, digits, '_' or '-', separated by single spaces.
_TAG = re.compile(r"[-\w]+( [-\w]+)*")
MAX_TAG = 128
MAX_TTL_SECONDS = 3_153_600_000  # a hundred years


@dataclass(frozen=True)
class EditRecord:
    """``edits/v<N>/<seq>.yaml``: one edit. ``metadata`` holds the new values of the keys
    it sets, ``removed`` the keys it takes out, and ``fields`` the new ``description``,
    ``tags`` (a tuple) or ``ttl`` (seconds, or None for none) when they changed."""

    project: str
    name: str
    version: int
    seq: int
    at: str
    by: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def path(self) -> str:
        """``project/name:vN``: the version it edits."""
        return f"{self.project}/{self.name}:v{self.version}"

    @property
    def keys(self) -> frozenset[str]:
        """The metadata keys it sets or removes."""
        return frozenset(self.metadata) | frozenset(self.removed)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": "edit",
            "project": self.project,
            "name": self.name,
            "version": self.version,
            "seq": self.seq,
            "at": self.at,
            "by": self.by,
        }
        if self.reason:
            doc["reason"] = self.reason
        if self.metadata:
            doc["metadata"] = dict(self.metadata)
        if self.removed:
            doc["removed"] = list(self.removed)
        for name in FIELDS:
            if name in self.fields:
                value = self.fields[name]
                doc[name] = list(value) if name == "tags" else value
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> EditRecord:
        fields = {n: doc[n] for n in FIELDS if n in doc}
        if "tags" in fields:
            fields["tags"] = tuple(fields["tags"])
        return cls(
            project=doc["project"],
            name=doc["name"],
            version=doc["version"],
            seq=doc["seq"],
            at=doc["at"],
            by=doc["by"],
            metadata=dict(doc.get("metadata") or {}),
            removed=tuple(doc.get("removed") or ()),
            fields=fields,
            reason=doc.get("reason"),
        )


@dataclass(frozen=True)
class Merged:
    """What a logged version shows once its edits are applied; ``edited`` are the
    metadata keys an edit set or removed, ``changed`` the other fields an edit set."""

    description: str | None
    metadata: dict[str, Any]
    tags: tuple[str, ...] = ()
    ttl: int | None = None
    edited: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()


def merge(
    description: str | None, metadata: Mapping[str, Any], edits: Iterable[EditRecord]
) -> Merged:
    """The logged values with ``edits`` applied in ``seq`` order: a later edit of a key
    wins, a removed key is gone until an edit sets it again."""
    shown = dict(metadata)
    tags: tuple[str, ...] = ()
    ttl: int | None = None
    edited: set[str] = set()
    changed: set[str] = set()
    for edit in sorted(edits, key=lambda e: e.seq):
        shown.update(edit.metadata)
        for key in edit.removed:
            shown.pop(key, None)
        edited |= edit.keys
        changed |= set(edit.fields)
        description = edit.fields.get("description", description)
        tags = tuple(edit.fields.get("tags", tags))
        ttl = edit.fields.get("ttl", ttl)
    return Merged(description, shown, tags, ttl, frozenset(edited), frozenset(changed))


def diff_metadata(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The top-level keys ``after`` sets to a new value, and the keys it no longer has.

    >>> diff_metadata({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4})
    ({'b': 3, 'c': 4}, ())
    >>> diff_metadata({"a": 1, "b": 2}, {"a": 1})
    ({}, ('b',))
    """
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    removed = tuple(k for k in before if k not in after)
    return changed, removed


def validate_tags(tags: Iterable[Any], where: str) -> tuple[str, ...]:
    """Tags in W&B's grammar, without duplicates (order kept); a clear error naming the
    first bad one.

    >>> validate_tags(["best model", "v-2"], "p/m:v0")
    ('best model', 'v-2')
    """
    if isinstance(tags, str):
        raise UsageError(f"{where}: tags must be a list of strings, not one string")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or len(tag) > MAX_TAG or not _TAG.fullmatch(tag):
            raise UsageError(
                f"{where}: tag {tag!r} is not valid: tags are words of letters, digits, '_' "
                f"or '-', separated by single spaces, at most {MAX_TAG} characters"
            )
        if tag not in out:
            out.append(tag)
    return tuple(out)


def ttl_seconds(ttl: Any, where: str) -> int | None:
    """A time to live (a ``timedelta``, None, or W&B's ``ArtifactTTL.INHERIT``, taken as
    None: there is no project default here to inherit) in whole seconds."""
    if ttl is None or getattr(ttl, "name", None) == "INHERIT" or str(ttl).endswith("INHERIT"):
        return None
    seconds = getattr(ttl, "total_seconds", None)
    if seconds is None:
        raise UsageError(f"{where}: ttl must be a datetime.timedelta or None, not {ttl!r}")
    total = int(seconds())
    if not 1 <= total <= MAX_TTL_SECONDS:
        raise UsageError(f"{where}: ttl must be at least one second and at most 100 years")
    return total
