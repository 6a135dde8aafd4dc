"""The exception tree, the context errors carry, and the two foreign-error boundaries in
the storage layer: botocore (``_blobs/s3.py``) and YAML (``_yamlio.py``)."""

from __future__ import annotations

import base64
import hashlib
import inspect
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from registry_tool import _yamlio as yamlio
from registry_tool import errors
from registry_tool._blobs import s3
from registry_tool._model.records import StorageConfig
from registry_tool.errors import (
    CorruptBlobError,
    DocumentError,
    GateError,
    NotFoundError,
    RegistryError,
    StorageError,
    VerificationError,
)

# -- the tree --------------------------------------------------------------------------

CLASSES = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if inspect.isclass(cls) and cls.__module__ == errors.__name__
}


def drawn_tree() -> dict[str, str | None]:
    """Each class the module docstring draws, with the parent it is drawn under."""
    doc = errors.__doc__ or ""
    parents: dict[str, str | None] = {"RegistryError": None}
    stack: list[tuple[int, str]] = [(-1, "RegistryError")]
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*)[├└]── (\w+)", line)
        if not match:
            continue
        depth, name = len(match.group(1)), match.group(2)
        while stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_every_exception_is_a_registry_error():
    assert CLASSES, "errors.py defines no classes?"
    for name, cls in CLASSES.items():
        assert issubclass(cls, RegistryError), name


def test_the_docstring_draws_exactly_the_classes_and_their_parents():
    tree = drawn_tree()
    assert set(tree) == set(CLASSES)
    for name, parent in tree.items():
        if parent is None:
            continue
        # The drawn parent is the nearest errors.py class among the bases.
        ours = [base for base in CLASSES[name].__bases__ if base.__module__ == errors.__name__]
        assert [base.__name__ for base in ours] == [parent], name


def test_the_docstring_states_the_cause_policy():
    doc = errors.__doc__ or ""
    assert "__cause__" in doc and "from exc" in doc and "from None" in doc


# -- context ---------------------------------------------------------------------------


def test_the_root_carries_path_field_and_version():
    plain = RegistryError("boom")
    assert (str(plain), plain.message, plain.path, plain.field, plain.version) == (
        "boom",
        "boom",
        None,
        None,
        None,
    )
    err = NotFoundError("p/a:v9 does not exist", path="projects/p/a", version="p/a:v9")
    assert isinstance(err, LookupError)
    assert (str(err), err.path, err.field, err.version) == (
        "p/a:v9 does not exist",
        "projects/p/a",
        None,
        "p/a:v9",
    )
    storage = StorageError("full", path="/blobs")
    assert storage.path == "/blobs" and storage.version is None


def test_document_error_keeps_its_positional_shape():
    err = DocumentError("registry.yaml", "$.name", "required", version="v3")
    assert str(err) == "registry.yaml: $.name: required"
    assert (err.path, err.field, err.message, err.version) == (
        "registry.yaml",
        "$.name",
        "required",
        "v3",
    )


def test_gate_and_verification_errors_carry_their_details():
    gate = GateError("cannot take 'production'", results=["r1", "r2"], version="m/c:v1")
    assert gate.results == ["r1", "r2"] and gate.version == "m/c:v1"
    assert GateError("no results").results == []
    assert GateError("positional", ("r",)).results == ["r"]
    report = object()
    assert VerificationError("bad", report).report is report
    assert issubclass(errors.ProtectedAliasError, errors.UsageError)


@pytest.mark.parametrize(
    "err",
    [
        RegistryError("x", path="p", field="$.f", version="v1"),
        DocumentError("a.yaml", "$.b", "c", version="v2"),
        GateError("g", ["r"], path="p"),
        VerificationError("v", {"changed": ["f"]}),
        CorruptBlobError("rotten"),
    ],
)
def test_errors_survive_a_pickle(err: RegistryError):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert (back.path, back.field, back.version) == (err.path, err.field, err.version)
    assert vars(back) == vars(err)


# -- botocore --------------------------------------------------------------------------


def client_error(code: str, status: int, message: str = "", op: str = "GetObject") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, op)


@pytest.mark.parametrize(
    ("exc", "missing"),
    [
        (client_error("404", 404, op="HeadObject"), True),  # a HEAD has no body
        (client_error("NoSuchKey", 404, "The specified key does not exist."), True),
        (client_error("NoSuchKey", 200), True),  # the code alone is enough
        (client_error("AccessDenied", 403), False),
        (client_error("InternalError", 500), False),
        (client_error("PreconditionFailed", 412, op="PutObject"), False),
        (NoCredentialsError(), False),
        (ValueError("not botocore"), False),
    ],
)
def test_is_not_found(exc: Exception, missing: bool):
    assert s3.is_not_found(exc) is missing


def test_error_status_reads_a_client_error():
    assert s3.error_status(client_error("SlowDown", 503)) == (503, "SlowDown")
    assert s3.error_status(RuntimeError("x")) == (None, "")
    assert s3.is_precondition_failed(client_error("PreconditionFailed", 412))
    assert not s3.is_precondition_failed(client_error("NoSuchKey", 404))


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (client_error("NoSuchKey", 404, "gone"), "reading x: NoSuchKey gone"),
        (client_error("InternalError", 500, "try again"), "reading x: InternalError try again"),
        (client_error("AccessDenied", 403), "reading x: access denied (AccessDenied): check"),
        (client_error("NoSuchBucket", 404), "reading x: the bucket does not exist"),
        (NoCredentialsError(), "reading x: no AWS credentials found"),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
            "reading x: EndpointConnectionError: Could not connect",
        ),
    ],
)
def test_translate_words_the_error_and_keeps_the_cause(exc: Exception, message: str):
    err = s3.translate(exc, "reading x")
    assert type(err) is StorageError
    assert str(err).startswith(message)
    assert err.__cause__ is exc


class RefusingClient:
    """A boto3 client stand-in whose every call fails with one ClientError."""

    def __init__(self, error: ClientError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return call


def store_refusing(error: ClientError) -> s3.S3BlobStore:
    return s3.S3BlobStore(StorageConfig(url="s3://bucket/pre"), client=RefusingClient(error))


@pytest.mark.parametrize("code", ["404", "NoSuchKey"])
def test_a_missing_object_is_an_answer_not_an_error(code: str, tmp_path: Path):
    store = store_refusing(client_error(code, 404))
    digest = "ab" * 32
    assert store.has(digest) is False
    assert store.refresh(digest) is False
    assert store.delete(digest) is False
    with pytest.raises(CorruptBlobError, match="is missing from s3://bucket/pre") as caught:
        store.fetch(digest, tmp_path / "out", lambda n: None)
    assert caught.value.__cause__ is None  # the 404 says nothing more than "missing"


def test_any_other_client_error_is_translated_with_its_cause(tmp_path: Path):
    error = client_error("InternalError", 500, "try again")
    store = store_refusing(error)
    digest = "ab" * 32
    calls = [
        lambda: store.has(digest),
        lambda: store.refresh(digest),
        lambda: store.delete(digest),
        lambda: store.fetch(digest, tmp_path / "out", lambda n: None),
        lambda: list(store.iter_blobs()),
        lambda: store.ingest(tmp_path / "src", None, lambda n: None),
    ]
    (tmp_path / "src").write_bytes(b"abc")
    for call in calls:
        with pytest.raises(StorageError, match="InternalError try again") as caught:
            call()
        assert type(caught.value) is StorageError
        assert caught.value.__cause__ is error


class FoundClient(RefusingClient):
    """Refuses every PUT as a conditional write that found the object, and describes
    that object (its size and SHA-256 checksum) as the blob's bytes would be."""

    def __init__(self, data: bytes) -> None:
        super().__init__(client_error("PreconditionFailed", 412, op="PutObject"))
        self.data = data

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        checksum = base64.b64encode(hashlib.sha256(self.data).digest()).decode()
        return {"ContentLength": len(self.data), "ChecksumSHA256": checksum}


def test_a_conditional_put_that_finds_the_blob_is_not_a_write(tmp_path: Path):
    store = s3.S3BlobStore(StorageConfig(url="s3://bucket/pre"), client=FoundClient(b"abc"))
    src = tmp_path / "src"
    src.write_bytes(b"abc")
    digest, written = store.ingest(src, None, lambda n: None)
    assert written is False and len(digest) == 64


# -- YAML ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"a: !!int abc", "'abc' is not a valid !!int (line 1)"),
        (b"a: !!float x", "'x' is not a valid !!float"),
        (b"a: !!bool maybe", "'maybe' is not a valid !!bool"),
        (b"a: !!timestamp soon", "'soon' is not a valid !!timestamp"),
        (b"a:\n  - !!int ''", "'' is not a valid !!int (line 2)"),
    ],
)
def test_a_bad_explicit_tag_is_a_document_error(text: bytes, message: str):
    with pytest.raises(DocumentError, match=re.escape(message)) as caught:
        yamlio.loads(text, "f.yaml")
    assert caught.value.path == "f.yaml" and caught.value.field == "$"
    assert caught.value.__cause__ is not None  # the constructor's own error


def test_invalid_yaml_keeps_the_parser_error_as_its_cause():
    with pytest.raises(DocumentError, match="not valid YAML") as caught:
        yamlio.loads(b"a: [1, 2", "f.yaml")
    assert type(caught.value.__cause__).__module__.startswith("yaml")
    with pytest.raises(DocumentError, match="anchors and aliases") as refused:
        yamlio.loads(b"a: &x 1\nb: *x\n", "f.yaml")
    assert refused.value.__cause__ is None  # our own refusal: nothing foreign behind it


def test_what_yaml_cannot_write_is_a_document_error():
    with pytest.raises(DocumentError, match="a object value cannot be written") as caught:
        yamlio.dumps({"a": object()}, path="x.yaml")
    assert caught.value.path == "x.yaml"
    assert caught.value.__cause__ is not None


# -- W&B's names -------------------------------------------------------------------------


def test_wandb_error_names_are_the_classes_wandb_users_catch():
    import registry_tool as wandb

    assert wandb.errors.Error is RegistryError
    assert issubclass(wandb.errors.CommError, wandb.errors.Error)
    assert issubclass(wandb.errors.AuthenticationError, wandb.errors.CommError)
    assert issubclass(wandb.errors.UnsupportedError, wandb.errors.UsageError)
    assert issubclass(wandb.errors.WandbCoreNotAvailableError, wandb.errors.Error)
    for failed_exchange in (errors.NotFoundError, errors.StorageError, errors.GitError):
        assert issubclass(failed_exchange, wandb.errors.CommError), failed_exchange
    assert issubclass(errors.NotFoundError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.VerificationError, ValueError)
    assert issubclass(errors.VerificationError, errors.ArtifactError)
    # Not every error is a CommError: a bad argument is the caller's, not the store's.
    assert not issubclass(errors.UsageError, errors.CommError)
    assert not issubclass(errors.DocumentError, errors.CommError)


def test_a_comm_error_carries_what_failed_underneath_as_exc():
    cause = OSError("connection refused")
    try:
        try:
            raise cause
        except OSError as exc:
            raise errors.StorageError("cannot reach s3://bucket") from exc
    except errors.CommError as err:
        assert err.exc is cause and str(err) == "cannot reach s3://bucket"
    assert errors.CommError("alone").exc is None


def test_a_missing_artifact_is_caught_as_wandb_users_catch_it(registry):
    import registry_tool as wandb

    api = wandb.Api()
    for caught in (wandb.errors.CommError, ValueError, LookupError, wandb.errors.Error):
        with pytest.raises(caught, match="no-such"):
            api.artifact("p/no-such:latest")
