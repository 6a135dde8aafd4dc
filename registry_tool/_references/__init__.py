"""References: manifest entries whose bytes stay where they are (DESIGN.md "References").

A checksummed reference records what proves the bytes, never the bytes themselves:

=============  =====================================  ====================================
scheme         digest                                 ``extra``
=============  =====================================  ====================================
``file://``    ``sha256:<hex>`` of the content
``s3://``      ``etag:<etag>``                        ``etag``, ``version_id``,
                                                      ``last_modified``
``http(s)://`` ``etag:<etag>``, else                  ``etag`` or ``last_modified``
               ``size-mtime:<size>:<Last-Modified>``
``gs://``      ``md5:<base64>`` or ``crc32c:<base64>`` ``generation``
=============  =====================================  ====================================

``checksum=False`` records the URI itself as the digest and does not contact the
store. Either way a URI carrying a credential (``s3://KEY:SECRET@bucket``,
``https://user:pw@host``, a presigned query string) is refused before anything is
asked or recorded: the URI is written to the registry and shown on its site.

A prefix (``s3://bucket/data/``, ``gs://bucket/data/``, a directory) gives one entry
per object, named as W&B names it, so that a script's paths into a downloaded artifact
are the same: by its key relative to the prefix (``data/sub/a.txt`` is ``sub/a.txt``),
under ``<name>/`` when a name is given. A single object is named by its last segment,
or by ``name``. More objects than ``max_objects`` is an error, never a silent cut.
Downloads check what was recorded (S3: the version, else ``If-Match`` on the ETag;
HTTP: the ETag or size and Last-Modified; GCS: the generation and the MD5 of the bytes;
files: the SHA-256) and land by temp file and rename, so a changed object never leaves
a file behind.

Each scheme is one module (``file``, ``s3``, ``gcs``, ``http``) that satisfies the
``Scheme`` protocol, found through the ``SCHEMES`` table; ``common`` holds what they
share. To add a scheme, ``az://`` say:

1. Write ``_references/az.py`` with four module-level functions:
   ``check(uri)`` refuses a URI that must not be recorded at all (most do nothing);
   ``default_name(uri)`` is the entry name when the caller gives none;
   ``expand(uri, name, max_objects) -> list[Entry]`` asks the store what proves the
   bytes, one entry per object under a prefix (``common.too_many`` past
   ``max_objects``); ``fetch(entry, target, advance)`` downloads into
   ``common.landing(target)``, checks what ``expand`` recorded (``common.changed``,
   ``common.gone``, ``common.check_size``) and renames the temp file onto ``target``.
   Translate the store's own errors there, once.
2. Add ``"az": "az"`` to ``SCHEMES`` (``tests/test_references.py`` checks every
   module in the table against ``Scheme``).
3. Add its row to the table above and its tests to ``tests/test_references.py``.

Example::

    entries = expand_reference("s3://bucket/data/", "data", checksum=True, max_objects=100)
    fetch_reference(entries[0], Path("out/data/part-0"), advance=lambda n: None)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from registry_tool._hashing import Advance
from registry_tool._model.manifest import Entry
from registry_tool._references.common import ReferenceWarning, check_uri, unchecked_entry
from registry_tool.errors import ArtifactError, UsageError

__all__ = [
    "SCHEMES",
    "Advance",
    "ReferenceWarning",
    "Scheme",
    "expand_reference",
    "fetch_reference",
    "scheme_module",
]


class Scheme(Protocol):
    """What one reference scheme provides; each scheme module is one."""

    def check(self, uri: str) -> None:
        """Refuse ``uri`` before anything is recorded, checksummed or not."""

    def default_name(self, uri: str) -> str:
        """The entry name for ``uri`` when the caller gives none."""

    def expand(self, uri: str, name: str | None, max_objects: int | None) -> list[Entry]:
        """Checksummed entries for ``uri``, one per object under a prefix."""

    def fetch(self, entry: Entry, target: Path, advance: Advance) -> None:
        """Write the object to ``target`` (temp file and rename), checking what was recorded."""


# Scheme -> its module under ``_references``. A module is imported the first time its
# scheme is used: the S3, GCS and HTTP clients (botocore, http.client) cost every
# command's start-up otherwise, and most registries use none of them.
SCHEMES: dict[str, str] = {
    "s3": "s3",
    "gs": "gcs",
    "https": "http",
    "http": "http",
    "file": "file",
}


def scheme_module(scheme: str) -> Scheme | None:
    """The module that handles ``scheme`` (``s3``...), or None for an unknown one."""
    module = SCHEMES.get(scheme)
    if module is None:
        return None
    found: Scheme = importlib.import_module(f"{__name__}.{module}")
    return found


def expand_reference(
    uri: str, name: str | None, *, checksum: bool, max_objects: int | None
) -> list[Entry]:
    """Manifest entries for a reference URI (one per object under a prefix)."""
    uri = check_uri(uri)
    if name is not None and not isinstance(name, str):
        raise UsageError(f"reference {uri!r}: name must be a string, not {type(name).__name__}")
    if max_objects is not None and (
        isinstance(max_objects, bool) or not isinstance(max_objects, int) or max_objects < 1
    ):
        raise UsageError(f"max_objects must be a positive integer, not {max_objects!r}")
    scheme_name = urlparse(uri).scheme.lower()
    scheme = scheme_module(scheme_name)
    if scheme is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise UsageError(f"reference {uri!r}: unknown scheme {scheme_name!r} (use {known})")
    scheme.check(uri)
    if not checksum:
        return [unchecked_entry(uri, name, scheme.default_name)]
    return scheme.expand(uri, name, max_objects)


def fetch_reference(entry: Entry, target: Path, advance: Advance) -> None:
    """Write a referenced object to ``target`` (temp file and rename), checking what
    was recorded; a changed object raises ``VerificationError``."""
    assert entry.ref is not None
    scheme_name = urlparse(entry.ref).scheme.lower()
    scheme = scheme_module(scheme_name)
    if scheme is None:
        raise ArtifactError(f"{entry.path}: cannot download a {scheme_name}:// reference")
    scheme.fetch(entry, target, advance)
