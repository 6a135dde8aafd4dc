"""The exceptions registry-tool raises.

Every error is a ``RegistryError``; the CLI prints its message on one line and exits 1.
Foreign errors (git, jsonschema, YAML, OS) are translated once, where they cross into
the library, with the original kept as ``__cause__``.

    RegistryError
    ├── UsageError                  bad arguments to a function or command
    ├── InvalidNameError            a name, alias or artifact path breaks the grammar
    ├── NotFoundError               no such registry, artifact, version, alias or run
    ├── DocumentError               a YAML file that cannot be read or is not schema-valid
    ├── ArtifactError               an artifact that cannot be built, logged or used
    │   └── VerificationError       downloaded or on-disk files do not match the manifest
    ├── StorageError                the blob store failed or holds bad bytes
    │   └── CorruptBlobError        a blob whose bytes do not match its digest
    └── GitError                    a git command failed, or a push could not be completed
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Root of every error registry-tool raises."""


class UsageError(RegistryError):
    """Arguments that cannot be acted on."""


class InvalidNameError(RegistryError, ValueError):
    """A name, alias or path that breaks the grammar of DESIGN.md."""


class NotFoundError(RegistryError, LookupError):
    """A registry, artifact, version, alias or run that does not exist."""


class DocumentError(RegistryError):
    """A registry file that cannot be parsed or does not match its schema.

    ``str(error)`` is ``path/to/file.yaml: $.field: message``.
    """

    def __init__(self, path: str, field: str, message: str) -> None:
        self.path = path
        self.field = field
        self.message = message
        super().__init__(f"{path}: {field}: {message}")


class ArtifactError(RegistryError):
    """An artifact that cannot be built, logged or used."""


class VerificationError(ArtifactError):
    """Files that do not match the manifest; ``report`` says which."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class StorageError(RegistryError):
    """The blob store failed."""


class CorruptBlobError(StorageError):
    """A blob whose bytes do not hash to its digest."""


class GitError(RegistryError):
    """A git command failed."""
