"""``wandb.ArtifactTTL``: W&B's marker for a time to live taken from elsewhere.

W&B's ``ArtifactTTL.INHERIT`` makes a version inherit its collection's default time to
live, which is a server setting. A registry has no such default: a version whose
``ttl`` is set to ``INHERIT`` has no time to live (as ``None``), and ``_model/edits.py``
reads it so.
"""

from __future__ import annotations

from enum import Enum


class ArtifactTTL(Enum):
    """W&B's ``ArtifactTTL``: only ``INHERIT``, read here as no time to live."""

    INHERIT = 0
