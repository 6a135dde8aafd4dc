"""The S3 blob store's rules, each at its boundaries, in-process against a real SeaweedFS.

Every store operation (has, ingest by one PUT or by multipart, the repair of a corrupt
blob, refresh, fetch by one GET or by ranges, listing across pages, delete) runs both on
the lean signed-request path and with botocore alone. Errors are checked word for word:
a missing bucket, wrong keys, a dead server and a body cut half-way each give one
clear message, and the secret key never appears in one. Requests are observed through
botocore's own event hooks and the lean path's request counter, never replaced.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, NoCredentialsError

from registry_tool._blobs import s3 as s3_module
from registry_tool._blobs import s3http
from registry_tool._blobs.s3 import S3BlobStore
from registry_tool._model.records import StorageConfig
from registry_tool.errors import CorruptBlobError, StorageError, UsageError
from tests.helpers import write
from tests.s3server import SECRET_KEY, free_ports

KiB = 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture(params=["fast", "botocore"])
def store(request, s3_env, bucket, monkeypatch) -> S3BlobStore:
    """A store on a fresh bucket, with the lean path on (``fast``) or off."""
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "1" if request.param == "fast" else "0")
    made = S3BlobStore(StorageConfig(url=f"s3://{bucket}/pre/fix", endpoint_url=s3_env.endpoint))
    assert (made.fast is not None) == (request.param == "fast")
    return made


def ops(store: S3BlobStore) -> list[str]:
    """The names of the botocore operations ``store`` sends from now on."""
    seen: list[str] = []
    store.client.meta.events.register(
        "before-call.s3", lambda model, **kwargs: seen.append(model.name)
    )
    return seen


def lean(store: S3BlobStore) -> int:
    return store.fast.requests if store.fast is not None else 0


def plain_put(store: S3BlobStore, hexdigest: str, body: bytes, **extra: Any) -> None:
    """An object written behind the store's back (no checksum unless given)."""
    store.client.put_object(Bucket=store.bucket, Key=store.key(hexdigest), Body=body, **extra)


def stored(store: S3BlobStore, hexdigest: str) -> bytes:
    got = store.client.get_object(Bucket=store.bucket, Key=store.key(hexdigest))
    return bytes(got["Body"].read())


MiB = 1024 * KiB
# Multipart goes by botocore either way: its tests need only one of the two stores.
ONE_PATH = pytest.mark.parametrize("store", ["fast"], indirect=True)


@pytest.fixture
def small_parts(monkeypatch) -> int:
    """Multipart from 5 MiB in parts of 5 MiB (the least S3 takes but for the last)."""
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 5 * MiB)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * MiB)
    return 5 * MiB


@pytest.fixture
def small_ranges(monkeypatch) -> int:
    """Ranged reads of 16 KiB."""
    monkeypatch.setattr(s3_module, "PART_GET", 16 * KiB)
    return 16 * KiB


# -- pure rules ------------------------------------------------------------------------


def test_split_url_takes_the_bucket_and_a_trimmed_prefix():
    assert s3_module.split_url("s3://bkt/a/b/") == ("bkt", "a/b")
    assert s3_module.split_url("s3://bkt") == ("bkt", "")
    for bad in ("gs://bkt/a", "s3:///a", "bkt/a"):
        with pytest.raises(UsageError) as caught:
            s3_module.split_url(bad)
        assert str(caught.value) == f"storage url {bad!r}: expected s3://bucket[/prefix]"


def test_part_size_doubles_only_past_ten_thousand_parts_and_sizes_are_read_right():
    part = s3_module.MIN_PART
    assert [s3_module.part_size_for(n * part * 10_000 + d) for n, d in ((0, 0), (1, 0))] == [
        part
    ] * 2
    assert s3_module.part_size_for(part * 10_000 + 1) == 2 * part
    assert s3_module.part_size_for(2 * part * 10_000 + 1) == 4 * part
    assert s3_module._total_size({"ContentRange": "bytes 0-9/1234", "ContentLength": 10}) == 1234
    assert s3_module._total_size({"ContentRange": None, "ContentLength": 7}) == 7
    assert s3_module._total_size({"ContentLength": 5}) == 5


def client_error(status: int | None, code: str, message: str = "") -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": message}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "HeadObject")  # type: ignore[arg-type]


def test_not_found_and_precondition_are_read_from_status_and_code():
    assert s3_module.error_status(client_error(403, "AccessDenied")) == (403, "AccessDenied")
    assert s3_module.error_status(ValueError("x")) == (None, "")
    assert s3_module.error_status(client_error(None, "X")) == (None, "X")
    for code in ("404", "NoSuchKey", "NotFound"):
        assert s3_module.is_not_found(client_error(400, code))
    assert s3_module.is_not_found(client_error(404, ""))
    assert not s3_module.is_not_found(client_error(403, "NoSuchBucket"))
    assert not s3_module.is_not_found(client_error(405, "MethodNotAllowed"))
    assert s3_module.is_precondition_failed(client_error(412, "PreconditionFailed"))
    assert not s3_module.is_precondition_failed(client_error(412, "Other"))


def test_translate_gives_one_clear_line_and_keeps_the_cause():
    cases: list[tuple[Exception, str]] = [
        (
            NoCredentialsError(),
            "w: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or use an instance role)",
        ),
        (client_error(404, "NoSuchBucket", "gone"), "w: the bucket does not exist"),
        (client_error(500, "InternalError", "boom"), "w: InternalError boom"),
        (client_error(500, "InternalError"), "w: InternalError"),
        (client_error(500, ""), "w: ?"),
        (ValueError("odd"), "w: ValueError: odd"),
    ]
    for code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403"):
        cases.append(
            (
                client_error(403, code, SECRET_KEY),
                f"w: access denied ({code}): check the AWS credentials",
            )
        )
    bare = ClientError({"ResponseMetadata": {"HTTPStatusCode": 500}}, "GetObject")  # type: ignore[typeddict-item]
    cases.append((bare, "w: ?"))
    cases.append((ClientError({"Error": {"Code": "Teapot"}}, "GetObject"), "w: Teapot"))
    for exc, message in cases:
        error = s3_module.translate(exc, "w")
        assert (type(error), str(error)) == (StorageError, message)
        assert error.__cause__ is exc


def test_composite_is_the_checksum_of_the_parts_checksums(tmp_path):
    path = write(tmp_path / "f", b"a" * 10 + b"b" * 10 + b"c" * 5)
    parts = [hashlib.sha256(p).digest() for p in (b"a" * 10, b"b" * 10, b"c" * 5)]
    whole = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert s3_module._composite(path, 10) == f"{whole}-3"


# -- clients and the lean path's set-up ------------------------------------------------


def test_make_client_takes_endpoint_region_style_and_checksum_in_their_order(monkeypatch):
    config = StorageConfig(url="s3://b", endpoint_url="http://127.0.0.1:1", region="eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3")
    client = s3_module.make_client(config, max_pool=7)
    meta = client.meta
    assert (meta.endpoint_url, meta.region_name) == ("http://127.0.0.1:1", "eu-west-3")
    assert meta.config.s3 == {"addressing_style": "path"}
    assert meta.config.request_checksum_calculation == "when_required"
    assert meta.config.response_checksum_validation == "when_required"
    assert meta.config.retries == {"mode": "standard", "total_max_attempts": 7}
    assert (meta.config.max_pool_connections, meta.config.connect_timeout) == (7, 10)
    assert meta.config.read_timeout == 60
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2")
    monkeypatch.setenv("REGISTRY_TOOL_S3_PATH_STYLE", "0")
    monkeypatch.setenv("REGISTRY_TOOL_S3_CHECKSUM", "WHEN_SUPPORTED")
    monkeypatch.setenv("REGISTRY_TOOL_S3_RETRY_MODE", "adaptive")
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "2")
    meta = s3_module.make_client(config).meta
    assert meta.endpoint_url == "http://127.0.0.1:2"
    assert meta.config.s3 == {"addressing_style": "auto"}
    assert meta.config.request_checksum_calculation == "when_supported"
    assert meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert meta.config.max_pool_connections == 32
    monkeypatch.setenv("REGISTRY_TOOL_S3_PATH_STYLE", "1")
    no_endpoint = StorageConfig(url="s3://b", path_style=False, checksum="when_required")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("REGISTRY_TOOL_S3_CHECKSUM")
    meta = s3_module.make_client(no_endpoint).meta
    assert meta.config.s3 == {"addressing_style": "path"}
    assert meta.config.request_checksum_calculation == "when_required"
    assert meta.region_name == "us-east-1"
    monkeypatch.delenv("REGISTRY_TOOL_S3_PATH_STYLE")
    meta = s3_module.make_client(StorageConfig(url="s3://b")).meta
    assert meta.config.s3 == {"addressing_style": "auto"}
    assert meta.config.request_checksum_calculation == "when_supported"
    meta = s3_module.make_client(StorageConfig(url="s3://b", path_style=True)).meta
    assert meta.config.s3 == {"addressing_style": "path"}


def test_the_profile_comes_from_aws_profile_before_the_registry(tmp_path, monkeypatch):
    config_file = write(
        tmp_path / "aws-config",
        "[profile env]\nregion = eu-west-1\n[profile reg]\nregion = ap-south-1\n",
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    config = StorageConfig(url="s3://b", profile="reg")
    assert s3_module.make_session(config).profile_name == "reg"
    assert s3_module.make_client(config).meta.region_name == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "env")
    assert s3_module.make_session(config).profile_name == "env"


def test_the_client_pool_is_twice_the_parallel_transfers_and_at_least_32(s3_env):
    for parallel, pool in ((None, 32), (8, 32), (16, 32), (17, 34), (20, 40)):
        config = StorageConfig(url="s3://b/p", endpoint_url=s3_env.endpoint, parallel=parallel)
        made = S3BlobStore(config)
        assert made.parallel == (parallel or 16) and made.remote
        assert made.client.meta.config.max_pool_connections == pool
        assert made.fast is not None
        assert made.fast._http.connection_pool_kw["maxsize"] == pool
        assert made.key("ab" * 32) == "p/sha256/ab/" + "ab" * 32
        assert made.local_path("ab" * 32) is None


def test_the_lean_path_applies_only_to_a_path_style_endpoint_with_credentials(s3_env, monkeypatch):
    def fast_for(**options: Any) -> s3http.FastS3 | None:
        return S3BlobStore(StorageConfig(url="s3://b/p", **options)).fast

    assert fast_for(endpoint_url=s3_env.endpoint) is not None
    assert fast_for(endpoint_url=s3_env.endpoint, path_style=False) is None
    assert fast_for() is None  # AWS itself: virtual-hosted addressing, botocore
    aws = fast_for(path_style=True, region="eu-west-3")
    assert aws is not None and aws._region == "eu-west-3"
    assert aws.url("k") == "https://s3.eu-west-3.amazonaws.com/b/k"
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    assert fast_for(endpoint_url=s3_env.endpoint) is None
    monkeypatch.delenv("REGISTRY_TOOL_S3_FAST")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert fast_for(endpoint_url=s3_env.endpoint) is None


def test_the_lean_path_leaves_proxies_and_odd_endpoints_to_botocore(s3_env, monkeypatch):
    import boto3
    import botocore.config

    creds = Credentials("k", "s")

    def client(endpoint: str, **config: Any) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=botocore.config.Config(s3={"addressing_style": "path"}, **config),
        )

    assert s3http.FastS3.for_client(client(s3_env.endpoint), "b", creds, 2) is not None
    proxied = client(s3_env.endpoint, proxies={"http": "http://127.0.0.1:9"})
    assert s3http.FastS3.for_client(proxied, "b", creds, 2) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert not s3http._proxied("http://127.0.0.1:1")
    assert s3http._proxied("https://127.0.0.2:1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    assert not s3http._proxied("https://127.0.0.2:1")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert s3http._proxied("http://127.0.0.3:1")


def test_the_lean_pool_has_its_timeouts_no_retries_and_the_ca_bundle(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    fast = s3http.FastS3("http://127.0.0.1:1/", "a b", "r", Credentials("k", "s"), 5)
    kw = fast._http.connection_pool_kw
    assert (kw["maxsize"], kw["ca_certs"]) == (5, str(tmp_path / "ca.pem"))
    assert kw["retries"].total is False
    assert (kw["timeout"].connect_timeout, kw["timeout"].read_timeout) == (10, 60)
    assert fast.url("sha256/a b/c~d+e") == "http://127.0.0.1:1/a%20b/sha256/a%20b/c~d%2Be"
    monkeypatch.delenv("AWS_CA_BUNDLE")
    fast = s3http.FastS3("http://127.0.0.1:1", "b", "r", Credentials("k", "s"), 5)
    assert fast._http.connection_pool_kw["ca_certs"] is None


# -- has, ingest and the repair of a corrupt blob --------------------------------------


def test_has_tells_present_from_absent_and_a_missing_bucket_holds_nothing(store, s3_env):
    digest, written = store.ingest(write("a", b"present"), None, lambda n: None)
    assert written and store.has(digest) and not store.has("0" * 64)
    gone = S3BlobStore(StorageConfig(url="s3://no-such-bucket-x/p", endpoint_url=s3_env.endpoint))
    assert not gone.has(digest)


def test_a_small_blob_is_one_put_then_one_refused_put(store, tmp_path):
    data = b"x" * 1000
    seen: list[int] = []
    calls = ops(store)
    assert store.ingest(write(tmp_path / "a", data), sha(data), seen.append) == (sha(data), True)
    assert seen == [1000] and stored(store, sha(data)) == data
    calls.clear()
    before = lean(store)
    assert store.ingest(write(tmp_path / "a", data), None, seen.append) == (sha(data), False)
    assert seen == [1000]  # nothing more was sent
    sent = list(calls)
    head = store.client.head_object(
        Bucket=store.bucket, Key=store.key(sha(data)), ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == b64sha(data)
    if store.fast is not None:  # the refused PUT, then a HEAD: its checksum is ours
        assert (lean(store) - before, sent) == (1, ["HeadObject"])
    else:
        assert sent == ["PutObject", "HeadObject"]


def test_a_file_changed_before_its_upload_is_refused(store, tmp_path):
    with pytest.raises(StorageError) as caught:
        store.ingest(write(tmp_path / "a", "now"), sha(b"before"), lambda n: None)
    assert str(caught.value) == f"{tmp_path / 'a'} changed while it was being logged; log again"
    assert not store.has(sha(b"now"))


@pytest.mark.parametrize(
    "damage",
    ["shorter", "same-size-no-checksum", "same-size-own-checksum", "gone-empty"],
)
def test_a_corrupt_small_blob_is_stored_over(store, tmp_path, damage):
    data = b"precious bytes"
    digest = sha(data)
    bad = b"tampered bytes"
    if damage == "shorter":
        plain_put(store, digest, b"short")
    elif damage == "same-size-no-checksum":
        plain_put(store, digest, bad)
    elif damage == "same-size-own-checksum":
        plain_put(store, digest, bad, ChecksumSHA256=b64sha(bad))
    else:
        plain_put(store, digest, b"")
    seen: list[int] = []
    assert store.ingest(write(tmp_path / "a", data), None, seen.append) == (digest, True)
    assert stored(store, digest) == data and seen == [len(data)]
    store.fetch(digest, tmp_path / "out", lambda n: None)


def test_a_sound_copy_without_a_checksum_is_read_back_and_kept(store, tmp_path):
    data = b"kept as it is"
    plain_put(store, sha(data), data)
    calls = ops(store)
    before = lean(store)
    assert store.ingest(write(tmp_path / "a", data), None, lambda n: None) == (sha(data), False)
    sent = calls + ["lean"] * (lean(store) - before)
    # the PUT refused, its HEAD, and one GET of the bytes: no second PUT
    assert sorted(sent) == sorted(
        ["HeadObject", *(["lean", "lean"] if store.fast else ["PutObject", "GetObject"])]
    )


def test_an_empty_blob_is_stored_once_and_comes_back(store, tmp_path):
    empty = sha(b"")
    plain_put(store, empty, b"")  # there already, without a checksum
    assert store.ingest(write(tmp_path / "e", b""), None, lambda n: None) == (empty, False)
    assert store._get_range(store.key(empty), 0, 9) == (0, b"")  # no byte 0: a 416, read as empty
    store.delete(empty)
    assert store.ingest(write(tmp_path / "e", b""), None, lambda n: None) == (empty, True)
    assert store.ingest(write(tmp_path / "e", b""), None, lambda n: None) == (empty, False)


# -- multipart -------------------------------------------------------------------------


@ONE_PATH
def test_multipart_starts_exactly_at_its_threshold(store, tmp_path, small_parts):
    below = write(tmp_path / "below", b"b" * (5 * MiB - 1))
    calls = ops(store)
    assert store.ingest(below, None, lambda n: None)[1]
    assert "CreateMultipartUpload" not in calls
    at = write(tmp_path / "at", bytes(range(256)) * (20 * KiB))  # 5 MiB: one part
    seen: list[int] = []
    digest, written = store.ingest(at, None, seen.append)
    assert written and digest == sha(at.read_bytes())
    assert calls.count("UploadPart") == 1 and seen == [5 * MiB]
    assert stored(store, digest) == at.read_bytes()
    head = store.client.head_object(
        Bucket=store.bucket, Key=store.key(digest), ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == s3_module._composite(at, 5 * MiB)


@ONE_PATH
def test_a_large_blob_there_already_is_checked_and_not_sent_again(store, tmp_path, small_parts):
    data = hashlib.sha256(b"seed").digest() * (5 * MiB // 32) + b"tail"  # two parts
    path = write(tmp_path / "big", data)
    seen: list[int] = []
    assert store.ingest(path, sha(data), seen.append) == (sha(data), True)
    assert sorted(seen) == [4, 5 * MiB]
    calls = ops(store)
    assert store.ingest(path, None, lambda n: None) == (sha(data), False)
    assert calls == ["HeadObject"]


def multipart_put(store: S3BlobStore, hexdigest: str, chunks: list[bytes]) -> None:
    """An object stored by multipart behind the store's back."""
    key = store.key(hexdigest)
    upload_id = store.client.create_multipart_upload(
        Bucket=store.bucket, Key=key, ChecksumAlgorithm="SHA256"
    )["UploadId"]
    parts = []
    for number, chunk in enumerate(chunks, 1):
        answer = store.client.upload_part(
            Bucket=store.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumSHA256=b64sha(chunk),
        )
        parts.append(
            {"ETag": answer["ETag"], "PartNumber": number, "ChecksumSHA256": b64sha(chunk)}
        )
    store.client.complete_multipart_upload(
        Bucket=store.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


@ONE_PATH
@pytest.mark.parametrize("damage", ["size", "parts"])
def test_a_corrupt_large_blob_is_stored_over(store, tmp_path, small_parts, damage):
    data = b"L" * (5 * MiB + KiB)
    digest = sha(data)
    path = write(tmp_path / "big", data)
    if damage == "size":
        plain_put(store, digest, b"short")
    else:  # the right size, sent by multipart, with other bytes
        multipart_put(store, digest, [b"M" * (5 * MiB), b"M" * KiB])
    assert store.ingest(path, None, lambda n: None) == (digest, True)
    assert stored(store, digest) == data


def test_a_small_blob_stored_by_multipart_is_judged_by_its_bytes(store, tmp_path):
    data = b"sent in one part"
    multipart_put(store, sha(data), [data])
    calls = ops(store)
    assert store.ingest(write(tmp_path / "a", data), None, lambda n: None) == (sha(data), False)
    assert "PutObject" not in calls[1:]  # read back and found sound: not stored over
    multipart_put(store, sha(data), [data[::-1]])
    assert store.ingest(write(tmp_path / "a", data), None, lambda n: None) == (sha(data), True)
    assert stored(store, sha(data)) == data


@ONE_PATH
def test_a_large_blob_of_the_right_size_without_composite_is_taken_on_its_size(
    store, tmp_path, small_parts
):
    data = b"S" * (5 * MiB)
    plain_put(store, sha(data), b"T" * (5 * MiB), ChecksumSHA256=b64sha(b"T" * (5 * MiB)))
    path = write(tmp_path / "big", data)
    assert store.ingest(path, None, lambda n: None) == (sha(data), False)


@ONE_PATH
def test_multipart_refuses_a_file_changed_under_it_and_leaves_no_upload(
    store, tmp_path, small_parts
):
    path = write(tmp_path / "big", b"N" * (5 * MiB))
    with pytest.raises(StorageError) as caught:
        store.ingest(path, sha(b"other"), lambda n: None)
    assert str(caught.value) == f"{path} changed while it was being uploaded; log again"
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert not store.has(sha(b"other"))


@ONE_PATH
def test_multipart_yields_to_a_writer_that_finished_first(store, tmp_path, small_parts):
    data = b"R" * (5 * MiB)
    path = write(tmp_path / "big", data)
    plain_put(store, sha(data), b"other")
    assert not store._put_multipart(path, sha(data), len(data), lambda n: None)
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert stored(store, sha(data)) == b"other"
    assert store._put_multipart(path, sha(data), len(data), lambda n: None, over=True)
    assert stored(store, sha(data)) == data


# -- fetch -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 16 * KiB, 16 * KiB + 1, 40 * 16 * KiB + 5])
def test_fetch_reads_one_range_up_to_its_size_and_ranges_past_it(
    store, tmp_path, small_ranges, size
):
    data = (hashlib.sha256(b"r").digest() * (size // 32 + 1))[:size]
    digest, _ = store.ingest(write(tmp_path / "src", data), None, lambda n: None)
    calls = ops(store)
    before = lean(store)
    seen: list[int] = []
    store.fetch(digest, tmp_path / "out", seen.append)
    assert (tmp_path / "out").read_bytes() == data and sum(seen) == size
    ranges = -(-size // (16 * KiB)) or 1
    assert len(seen) == ranges
    if size:  # an empty object has no range 0-: asked again without one
        assert len(calls) + lean(store) - before == ranges


def test_fetch_never_writes_over_a_file_there(store, tmp_path):
    digest, _ = store.ingest(write(tmp_path / "src", b"abc"), None, lambda n: None)
    write(tmp_path / "out", b"mine")
    with pytest.raises(FileExistsError):
        store.fetch(digest, tmp_path / "out", lambda n: None)
    assert (tmp_path / "out").read_bytes() == b"mine"


def test_fetch_names_a_missing_and_a_corrupt_blob(store, tmp_path, small_ranges):
    missing = "0" * 64
    with pytest.raises(CorruptBlobError) as caught:
        store.fetch(missing, tmp_path / "none", lambda n: None)
    assert str(caught.value) == f"blob sha256:{missing} is missing from {store.url}"
    assert caught.value.__cause__ is None
    for data in (b"small", b"large" * (8 * KiB)):
        digest = sha(data)
        plain_put(store, digest, data[::-1])
        with pytest.raises(CorruptBlobError) as caught:
            store.fetch(digest, tmp_path / "bad", lambda n: None)
        assert str(caught.value) == (
            f"blob sha256:{digest} in {store.url} is corrupt (its bytes hash to {sha(data[::-1])})"
        )
        (tmp_path / "bad").unlink()


def test_a_blob_shortened_during_a_ranged_fetch_is_a_short_read(store, tmp_path, small_ranges):
    data = b"0123456789abcdef" * (3 * KiB)  # 48 KiB: three ranges
    digest, _ = store.ingest(write(tmp_path / "src", data), None, lambda n: None)

    def shorten(n: int) -> None:
        if n == 16 * KiB and stored(store, digest) == data:
            plain_put(store, digest, data[: 16 * KiB + 10])

    with pytest.raises(StorageError) as caught:
        store.fetch(digest, tmp_path / "out", shorten)
    start, end = 16 * KiB, 32 * KiB - 1
    assert str(caught.value) == f"short read of {store.key(digest)} at bytes {start}-{end}"


# -- refresh, delete, listing ----------------------------------------------------------


def test_refresh_copies_a_blob_only_once_it_is_older_than_the_threshold(
    store, tmp_path, monkeypatch
):
    digest, _ = store.ingest(write(tmp_path / "a", b"aging"), None, lambda n: None)
    calls = ops(store)
    modified = store.client.head_object(Bucket=store.bucket, Key=store.key(digest))[
        "LastModified"
    ].timestamp()
    for now, copied in (
        (modified, 0),
        (modified + 3600 - 1, 0),
        (modified + 3600, 1),
        (modified + 4000, 2),
    ):
        monkeypatch.setattr(s3_module, "time", SimpleNamespace(time=lambda now=now: now))
        assert store.refresh(digest)
        assert calls.count("CopyObject") == copied
    assert stored(store, digest) == b"aging"
    assert not store.refresh("1" * 64)


def test_delete_removes_and_keeps_what_was_refreshed_since(store, tmp_path):
    digest, _ = store.ingest(write(tmp_path / "a", b"old"), None, lambda n: None)
    modified = store.client.head_object(Bucket=store.bucket, Key=store.key(digest))[
        "LastModified"
    ].timestamp()
    assert not store.delete(digest, older_than=modified - 1)
    assert store.has(digest)
    assert store.delete(digest, older_than=modified)
    assert not store.has(digest)
    assert not store.delete(digest, older_than=modified)
    again, _ = store.ingest(write(tmp_path / "b", b"new"), None, lambda n: None)
    assert store.delete(again) and not store.has(again)


def test_listing_walks_every_page_and_only_blob_names(store, tmp_path):
    digests = sorted(
        store.ingest(write(tmp_path / f"{i}", f"b{i}"), None, lambda n: None)[0] for i in range(5)
    )
    for odd in (
        "pre/fix/sha256/ab/" + "a" * 63,
        "pre/fix/sha256/ab/" + "a" * 65,
        "other/sha256/ab/" + "c" * 64,
    ):
        store.client.put_object(Bucket=store.bucket, Key=odd, Body=b"x")
    pages: list[int] = []
    store.client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **kwargs: pages.append(params.setdefault("MaxKeys", 2)),
    )
    blobs = list(store.iter_blobs())
    assert len(pages) >= 3
    assert sorted(blob.hexdigest for blob in blobs) == digests
    assert sorted(list(store.iter_digests())) == digests
    for blob in blobs:
        head = store.client.head_object(Bucket=store.bucket, Key=store.key(blob.hexdigest))
        assert blob.size == 2 and blob.modified == head["LastModified"].timestamp()


def test_a_store_without_prefix_lists_from_the_bucket_root(s3_env, bucket, tmp_path):
    root = S3BlobStore(StorageConfig(url=f"s3://{bucket}", endpoint_url=s3_env.endpoint))
    digest, _ = root.ingest(write(tmp_path / "a", b"at the root"), None, lambda n: None)
    assert root.key(digest) == f"sha256/{digest[:2]}/{digest}"
    assert list(root.iter_digests()) == [digest]
    empty = S3BlobStore(StorageConfig(url=f"s3://{bucket}/none", endpoint_url=s3_env.endpoint))
    assert list(empty.iter_blobs()) == []


# -- errors ----------------------------------------------------------------------------


def test_every_operation_on_a_missing_bucket_says_so(s3_env, tmp_path):
    gone = S3BlobStore(StorageConfig(url="s3://no-such-bucket-y/p", endpoint_url=s3_env.endpoint))
    digest = sha(b"x")
    with pytest.raises(StorageError) as caught:
        list(gone.iter_blobs())
    assert str(caught.value) == "listing s3://no-such-bucket-y/p: the bucket does not exist"
    with pytest.raises(CorruptBlobError, match="is missing from"):
        gone.fetch(digest, tmp_path / "out", lambda n: None)


@pytest.fixture
def wrong_keys(store, monkeypatch) -> S3BlobStore:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-key")
    return S3BlobStore(store.config)


def test_wrong_keys_are_access_denied_in_every_operation(wrong_keys, tmp_path):
    store = wrong_keys
    digest = sha(b"x")
    url = store.url
    attempts = {
        f"checking {url} for sha256:{digest}": lambda: store.has(digest),
        f"uploading {tmp_path / 'a'} to {url}": lambda: store.ingest(
            write(tmp_path / "a", b"x"), None, lambda n: None
        ),
        f"downloading sha256:{digest} from {url}": lambda: store.fetch(
            digest, tmp_path / "out", lambda n: None
        ),
        f"listing {url}": lambda: list(store.iter_blobs()),
        f"refreshing sha256:{digest} in {url}": lambda: store.refresh(digest),
        f"removing sha256:{digest} from {url}": lambda: store.delete(digest),
    }
    for what, attempt in attempts.items():
        with pytest.raises(StorageError) as caught:
            attempt()
        message = str(caught.value)
        assert message.startswith(f"{what}: access denied (") and message.endswith(
            "): check the AWS credentials"
        ), message
        assert "not-the-secret-key" not in message and SECRET_KEY not in message
        assert caught.value.__cause__ is not None


def test_a_dead_endpoint_is_one_error_naming_the_operation(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-never-shown")
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "1")
    (port,) = free_ports(1)
    dead = S3BlobStore(StorageConfig(url="s3://b/p", endpoint_url=f"http://127.0.0.1:{port}"))
    digest = sha(b"x")
    for attempt, what in (
        (lambda: dead.has(digest), f"checking s3://b/p for sha256:{digest}: "),
        (
            lambda: dead.fetch(digest, tmp_path / "o", lambda n: None),
            f"downloading sha256:{digest} from s3://b/p: ",
        ),
        (lambda: dead.refresh(digest), f"refreshing sha256:{digest} in s3://b/p: "),
        (lambda: dead.delete(digest), f"removing sha256:{digest} from s3://b/p: "),
    ):
        with pytest.raises(StorageError) as caught:
            attempt()
        assert str(caught.value).startswith(what + "EndpointConnectionError: ")
        assert "secret-never-shown" not in str(caught.value)


# -- the lean path's own answers -------------------------------------------------------


def test_the_lean_put_takes_200_and_412_and_the_get_206_and_404(s3_env, bucket):
    fast = S3BlobStore(StorageConfig(url=f"s3://{bucket}", endpoint_url=s3_env.endpoint)).fast
    assert fast is not None
    assert fast.put("k", b"x", sha(b"x"), b64sha(b"y")) is None  # not the bytes' checksum
    assert fast.put("k", b"x", sha(b"x"), b64sha(b"x")) == 200
    assert fast.put("k", b"z", sha(b"z"), b64sha(b"z")) == 412
    got = fast.get("k", 0, 0)
    assert got is not None and (got.status, got.body) == (206, b"x")
    assert got.headers["Content-Range"] == "bytes 0-0/1"
    missing = fast.get("none", 0, 9)
    assert missing is not None and missing.status == 404
    assert fast.requests == 5


def test_the_lean_path_steps_aside_when_credentials_fail():
    class Expired(Credentials):
        def get_frozen_credentials(self) -> Any:
            raise RuntimeError("expired")

    fast = s3http.FastS3("http://127.0.0.1:1", "b", "r", Expired("k", "s"), 2)
    assert fast.put("k", b"x", sha(b"x"), b64sha(b"x")) is None
    assert fast.get("k", 0, 0) is None and fast.requests == 0


class _CutBody:
    """A loopback server answering each GET with ``status`` and ``body``, cut after 10
    bytes for the first ``cuts`` requests, whole after; it keeps each request's headers."""

    def __init__(self, body: bytes, cuts: int, port: int = 0, status: int = 206) -> None:
        self.seen = 0
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen += 1
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
                self.end_headers()
                self.wfile.write(body[:10] if outer.seen <= cuts else body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("cuts", "fetched"), [(2, True), (3, False)])
def test_a_body_cut_half_way_is_read_again_twice_more(tmp_path, monkeypatch, cuts, fetched):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-never-shown")
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    body = bytes(range(100))
    server = _CutBody(body, cuts)
    try:
        cut = S3BlobStore(StorageConfig(url="s3://b/p", endpoint_url=server.endpoint))
        if fetched:
            cut.fetch(sha(body), tmp_path / "out", lambda n: None)
            assert (tmp_path / "out").read_bytes() == body
        else:
            with pytest.raises(StorageError) as caught:
                cut.fetch(sha(body), tmp_path / "out", lambda n: None)
            assert str(caught.value).startswith(f"downloading sha256:{sha(body)} from s3://b/p: ")
            assert "secret-never-shown" not in str(caught.value)
        assert server.seen == 3
    finally:
        server.close()


# -- the worker pools ------------------------------------------------------------------


def slow_calls(store: S3BlobStore, op: str, pause: float) -> list[tuple[str, dict[str, Any]]]:
    """Each ``op`` call's thread and parameters, each call held ``pause`` seconds."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def hold(params: dict[str, Any], **kwargs: Any) -> None:
        seen.append((threading.current_thread().name, dict(params)))
        time.sleep(pause)

    store.client.meta.events.register(f"provide-client-params.s3.{op}", hold)
    return seen


def test_parts_go_up_on_the_part_pool_each_with_its_checksum(tmp_path, s3_env, bucket, monkeypatch):
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    monkeypatch.setattr(s3_module, "MULTIPART_FROM", 5 * MiB)
    monkeypatch.setattr(s3_module, "MIN_PART", 5 * MiB)
    monkeypatch.setattr(s3_module, "PART_WORKERS", 1)
    one = S3BlobStore(StorageConfig(url=f"s3://{bucket}/p", endpoint_url=s3_env.endpoint))
    data = b"P" * (5 * MiB) + b"Q" * KiB
    uploads = slow_calls(one, "UploadPart", 0.2)
    created = slow_calls(one, "CreateMultipartUpload", 0)
    heads = slow_calls(one, "HeadObject", 0)
    assert one.ingest(write(tmp_path / "big", data), None, lambda n: None) == (sha(data), True)
    assert [params["ChecksumAlgorithm"] for _, params in created] == ["SHA256"]
    assert [params["ChecksumMode"] for _, params in heads] == ["ENABLED"]  # S3's spelling
    assert [name for name, _ in uploads] == ["registry-tool-part_0"] * 2
    sent = [(params["PartNumber"], params["ChecksumSHA256"]) for _, params in uploads]
    assert sent == [(1, b64sha(b"P" * (5 * MiB))), (2, b64sha(b"Q" * KiB))]


def test_ranges_come_down_on_the_range_pool_two_per_worker_ahead(
    tmp_path, s3_env, bucket, monkeypatch
):
    monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", "0")
    monkeypatch.setattr(s3_module, "PART_GET", 16 * KiB)
    monkeypatch.setattr(s3_module, "PART_WORKERS", 1)
    one = S3BlobStore(StorageConfig(url=f"s3://{bucket}/p", endpoint_url=s3_env.endpoint))
    data = bytes(range(256)) * (64 * 6)  # 96 KiB: the first range and five more
    digest, _ = one.ingest(write(tmp_path / "src", data), None, lambda n: None)
    gets = slow_calls(one, "GetObject", 0.02)
    started: list[int] = []

    def advance(n: int) -> None:
        if len(started) == 1:  # the first range after the head: let the pool run
            time.sleep(0.5)
        started.append(len(gets))

    one.fetch(digest, tmp_path / "out", advance)
    assert (tmp_path / "out").read_bytes() == data
    assert started[:2] == [1, 4]  # the head, then two ranges queued and one refilled
    assert {name for name, _ in gets[1:]} == {"registry-tool-range_0"}


def test_the_lean_path_gives_up_after_three_failures_in_a_row_only():
    (port,) = free_ports(1)
    fast = s3http.FastS3(f"http://127.0.0.1:{port}", "b", "r", Credentials("k", "s"), 2)
    assert fast.get("k", 0, 99) is None and fast.get("k", 0, 99) is None
    server = _CutBody(bytes(range(100)), 0, port, status=200)  # a whole object: 200
    try:
        answer = fast.get("k", 0, 99)
        assert answer is not None and answer.body == bytes(range(100))
        (headers,) = server.headers
        assert headers["range"] == "bytes=0-99" and "content-length" not in headers
    finally:
        server.close()
    for _ in range(4):  # the success began a new count: three more tries, then none
        assert fast.get("k", 0, 99) is None
    assert fast.requests == 6


class _ByMethod:
    """A loopback server answering HEAD with an hour-old object of 5 bytes and PUT (the
    copy of an object onto itself) with ``status`` and the S3 error ``code``."""

    def __init__(self, status: int, code: str) -> None:
        self.seen: list[str] = []
        self.put_headers: list[dict[str, str]] = []
        outer = self
        error = f"<Error><Code>{code}</Code><Message>no</Message></Error>".encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                outer.seen.append("HEAD")
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.send_header("Last-Modified", "Mon, 01 Jan 2001 00:00:00 GMT")
                self.end_headers()

            def do_PUT(self) -> None:
                outer.seen.append("PUT")
                outer.put_headers.append({k.lower(): v for k, v in self.headers.items()})
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("status", "code", "refreshed"),
    [(403, "AccessDenied", True), (400, "InvalidRequest", True), (400, "InvalidArgument", False)],
)
def test_a_blob_that_cannot_be_copied_is_only_checked_present(monkeypatch, status, code, refreshed):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "1")
    server = _ByMethod(status, code)
    try:
        old = S3BlobStore(StorageConfig(url="s3://b/p", endpoint_url=server.endpoint))
        digest = "ab" * 32
        if refreshed:
            assert old.refresh(digest)
            assert server.seen == ["HEAD", "PUT", "HEAD"]
            copy = server.put_headers[0]
            assert copy["x-amz-copy-source"] == f"b/p/sha256/ab/{digest}"
            assert copy["x-amz-metadata-directive"] == "REPLACE"  # else S3 refuses a self-copy
        else:
            with pytest.raises(StorageError) as caught:
                old.refresh(digest)
            assert str(caught.value) == f"refreshing sha256:{digest} in s3://b/p: {code} no"
    finally:
        server.close()


def test_the_lean_put_is_signed_with_the_digest_it_is_handed():
    server = _ByMethod(403, "AccessDenied")
    try:
        fast = s3http.FastS3(server.endpoint, "b", "us-east-1", Credentials("k", "s"), 2)
        assert fast.put("sha256/k", b"x", "ab" * 32, "Y2hlY2s=") is None
        (headers,) = server.put_headers
        assert headers["x-amz-content-sha256"] == "ab" * 32  # not hashed again
        assert headers["x-amz-checksum-sha256"] == "Y2hlY2s=" and headers["if-none-match"] == "*"
        assert "Signature=" in headers["authorization"] and headers["content-length"] == "1"
        assert server.seen == ["PUT"]
    finally:
        server.close()
