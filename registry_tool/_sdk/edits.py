"""What a logged version shows and what ``Artifact.save()`` changes after logging:
its aliases, and (as W&B allows) its description, metadata, tags and time to live.

The files and digest of a version never change. ``view`` is what readers see of a
logged version; ``save`` applies what the user changed on an ``Artifact`` bound to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._model.names import LATEST
from registry_tool._model.records import VersionRecord
from registry_tool.errors import ArtifactError

if TYPE_CHECKING:
    from registry_tool._sdk.artifact import Artifact


@dataclass(frozen=True)
class View:
    """A logged version as readers see it."""

    description: str | None
    metadata: dict[str, Any]
    tags: tuple[str, ...] = ()
    ttl: timedelta | None = None
    edited: frozenset[str] = field(default_factory=frozenset)  # keys changed after logging


def view(ctx: Context, record: VersionRecord) -> View:
    """What a reader sees of ``record``."""
    return View(record.description, dict(record.metadata))


def save(art: Artifact) -> None:
    """Apply alias changes made on ``art.aliases``.

    ``latest`` is kept where it is: it names the version most recently logged (or
    deduplicated to), and only logging moves it.
    """
    record = art._logged()
    ctx = art._ctx
    assert ctx is not None
    shown = view(ctx, record)
    if dict(shown.metadata) != art.metadata or shown.description != art.description:
        raise ArtifactError(
            f"{art.qualified_name}: metadata and description of a logged version are "
            "immutable; log a new version to change them"
        )
    wanted = list(art._aliases)
    if LATEST in art._saved_aliases and LATEST not in wanted:
        wanted.append(LATEST)
    add = [a for a in wanted if a not in art._saved_aliases]
    remove = [a for a in art._saved_aliases if a not in wanted]
    if (add or remove) and art._link is not None:
        promotion.set_aliases(ctx, art._link, add=add, remove=remove)
    elif add or remove:
        ctx.set_aliases(record.project, record.name, record.version, add=add, remove=remove)
    art._bind(ctx, record)
