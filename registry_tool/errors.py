"""The exceptions registry-tool raises.

Every error is a ``RegistryError``; the CLI prints its message on one line and exits 1.

    RegistryError                   (also ``Error``, W&B's name for its root)
    ├── UsageError                  bad arguments to a function or command
    │   ├── ProtectedAliasError     a protected alias moved without a promotion pull request
    │   └── UnsupportedError        a W&B call that needs a W&B server, which there is none of
    ├── InvalidNameError            a name, alias or artifact path breaks the grammar
    ├── CommError                   reaching a store or a remote failed, or what was asked is not there
    │   ├── NotFoundError           no such registry, artifact, version, alias or run
    │   ├── AuthenticationError     a store or remote refused the credentials
    │   ├── StorageError            the blob store failed or holds bad bytes
    │   │   └── CorruptBlobError    a blob whose bytes do not match its digest
    │   └── GitError                a git command failed, or a push could not be completed
    ├── DocumentError               a YAML file that cannot be read or is not schema-valid
    ├── ArtifactError               an artifact that cannot be built, logged or used
    │   ├── VerificationError       downloaded or on-disk files do not match the manifest
    │   │   └── ReferenceGoneError  a referenced object is no longer where it was logged
    │   └── GateError               a version does not meet a stage's gates
    ├── LineageRenderError          ``dot`` failed on a lineage graph of the site
    └── WandbCoreNotAvailableError  W&B's name, kept so that scripts naming it import; never raised

The W&B names are the ones its users catch (``except wandb.errors.CommError``), with the
same meaning: W&B raises ``CommError`` when its server cannot be reached or answers that
an artifact is not there, so a missing artifact, a store or a git remote that fails is
one here. W&B's not-found and verification errors are ``ValueError`` (an
``except ValueError`` around ``api.artifact(...)``), and so are ours; a not-found error
is also a ``LookupError``.

Context travels as attributes, not only in the message: every error has ``path`` (the
repo file or local path it is about), ``field`` (a JSON path such as ``$.aliases``)
and ``version`` (the artifact or registry version, ``p/a:v3``), each None when it does
not apply; ``str(error)`` is the message alone.

>>> err = NotFoundError("p/a:v9 does not exist", version="p/a:v9")
>>> (str(err), err.version, err.path)
('p/a:v9 does not exist', 'p/a:v9', None)

Foreign errors (botocore, git, jsonschema, YAML, OS) are translated once, where they
cross into the library (botocore in ``_blobs/s3.py``, YAML in ``_yamlio.py``, git in
``_store/git.py``), and the translation keeps the original as ``__cause__``::

    except ClientError as exc:
        raise translate(exc, what) from exc

``from None`` only where the foreign error adds nothing the message does not already
say (a missing file reported as a missing blob, a lock's ``BlockingIOError`` reported
as a timeout, a ``RecursionError`` reported as too-deep nesting); an error of our own
raised while handling another is chained the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RegistryError(Exception):
    """Root of every error registry-tool raises.

    ``path``, ``field`` and ``version`` say what the error is about (None when they do
    not apply); the message should name it too, as it is all the CLI prints.
    """

    def __init__(
        self,
        message: str = "",
        *,
        path: str | None = None,
        field: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.field = field
        self.version = version


Error = RegistryError  # W&B's name for the root: ``except wandb.errors.Error``


class UsageError(RegistryError):
    """Arguments that cannot be acted on."""


class UnsupportedError(UsageError):
    """A W&B call that has no meaning without a W&B server (``wandb.watch``, alerts,
    sweeps, ...): the message names the call and says why."""


class CommError(RegistryError):
    """Reaching a blob store or a git remote failed, or what was asked is not there:
    W&B's name for a failed exchange with its server. ``exc`` is the underlying error,
    as in W&B (the ``__cause__``, when there is one)."""

    @property
    def exc(self) -> BaseException | None:
        return self.__cause__


class AuthenticationError(CommError):
    """A blob store or git remote refused the credentials it was given."""


class WandbCoreNotAvailableError(RegistryError):
    """W&B's error for a missing ``wandb-core`` binary; there is no such binary here, so
    it is never raised, and exists so that a script that names it still imports."""


class ProtectedAliasError(UsageError):
    """A protected alias moved without a promotion pull request."""


class InvalidNameError(RegistryError, ValueError):
    """A name, alias or path that breaks the grammar of DESIGN.md."""


class NotFoundError(CommError, LookupError, ValueError):
    """A registry, artifact, version, alias or run that does not exist."""


class DocumentError(RegistryError):
    """A registry file that cannot be parsed or does not match its schema.

    ``str(error)`` is ``path/to/file.yaml: $.field: message``; ``message`` is the last
    part alone.

    >>> str(DocumentError("registry.yaml", "$.name", "required"))
    'registry.yaml: $.name: required'
    """

    path: str
    field: str

    def __init__(self, path: str, field: str, message: str, *, version: str | None = None) -> None:
        super().__init__(f"{path}: {field}: {message}", path=path, field=field, version=version)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its three parts (a pickle would otherwise pass the joined string).
        return (type(self), (self.path, self.field, self.message), self.__dict__)


class ArtifactError(RegistryError):
    """An artifact that cannot be built, logged or used."""


class VerificationError(ArtifactError, ValueError):
    """Files that do not match the manifest; ``report`` says which."""

    def __init__(
        self,
        message: str,
        report: Any = None,
        *,
        path: str | None = None,
        field: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(message, path=path, field=field, version=version)
        self.report = report


class ReferenceGoneError(VerificationError):
    """A reference whose object is no longer there, as opposed to one that changed:
    ``download(allow_missing_references=True)`` skips the first and still refuses the
    second, so the two must be told apart by type, not by the wording of a message."""


class GateError(ArtifactError):
    """A version does not meet a stage's gates; ``results`` holds every gate's verdict
    (``_model.gates.GateResult``), passed or not."""

    def __init__(
        self,
        message: str,
        results: Sequence[Any] = (),
        *,
        path: str | None = None,
        field: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(message, path=path, field=field, version=version)
        self.results = list(results)


class StorageError(CommError):
    """The blob store failed."""


class CorruptBlobError(StorageError):
    """A blob whose bytes do not hash to its digest."""


class GitError(CommError):
    """A git command failed."""


class LineageRenderError(RegistryError):
    """``dot`` failed on a lineage graph; ``graph`` (and ``path``) name its page."""

    def __init__(self, message: str, *, graph: str) -> None:
        super().__init__(message, path=graph)
        self.graph = graph
