"""The JSON Schemas and the strict YAML reader, driven by the example files in tests/data.

``tests/data/valid/<kind>/*.yaml`` must load and validate as ``kind``;
``tests/data/invalid/<kind>/*.yaml`` must fail with exactly the message named on their
first line, ``# error: <message>``. The ``path`` in every message is the file's path
relative to ``tests/data``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model.edits import EditRecord
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.manifest import Entry, artifact_digest
from registry_tool._model.records import (
    AliasRecord,
    ArtifactUse,
    CodeInfo,
    CollectionRecord,
    RegistryConfig,
    RunRecord,
    StorageConfig,
    VersionRecord,
)
from registry_tool._resources import data_path
from registry_tool.errors import DocumentError

DATA = Path(__file__).parent / "data"
ERROR_PREFIX = b"# error: "

# Example files that expose a bug in the library: each runs as a strict xfail.
KNOWN_BUGS: dict[str, str] = {}


def _files(group: str) -> list[Any]:
    out = []
    for path in sorted((DATA / group).glob("*/*.yaml")):
        rel = path.relative_to(DATA).as_posix()
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[rel])] if rel in KNOWN_BUGS else []
        )
        out.append(pytest.param(rel, id=rel, marks=marks))
    return out


VALID = _files("valid")
INVALID = _files("invalid")


def _load(rel: str) -> None:
    kind = rel.split("/")[1]
    doc = yamlio.loads((DATA / rel).read_bytes(), rel)
    schemas.validate(doc, kind, rel)


def _expected_error(rel: str) -> str:
    first_line = (DATA / rel).read_bytes().split(b"\n", 1)[0]
    assert first_line.startswith(ERROR_PREFIX), f"{rel} does not start with '# error: '"
    return first_line[len(ERROR_PREFIX) :].decode("utf-8")


def test_example_files_exist() -> None:
    assert len(VALID) >= 6
    assert len(INVALID) >= 25
    for group in ("valid", "invalid"):
        kinds = {p.name for p in (DATA / group).iterdir() if p.is_dir()}
        assert kinds == set(schemas.KINDS), group
        for kind in kinds:
            assert list((DATA / group / kind).glob("*.yaml")), f"no {group} {kind} example"


@pytest.mark.parametrize("rel", VALID)
def test_valid_file(rel: str) -> None:
    _load(rel)


@pytest.mark.parametrize("rel", INVALID)
def test_invalid_file(rel: str) -> None:
    expected = _expected_error(rel)
    assert expected.startswith(f"{rel}: $"), "the message must name the file and a JSON path"
    with pytest.raises(DocumentError) as info:
        _load(rel)
    assert str(info.value) == expected
    assert info.value.path == rel


# --- the schema files themselves -------------------------------------------------------

SCHEMA_FILES = sorted(p.name for p in data_path("schemas").iterdir() if p.name.endswith(".json"))
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _schema_file(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((data_path("schemas") / name).read_text("utf-8"))
    return result


def _objects_with_properties(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((where, node))
        for key, value in node.items():
            found += _objects_with_properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _objects_with_properties(value, f"{where}/{i}")
    return found


def test_every_kind_has_a_schema_file() -> None:
    expected = {f"{kind}.schema.json" for kind in schemas.KINDS} | {"common.schema.json"}
    assert set(SCHEMA_FILES) == expected


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_draft_2020_12_with_id(name: str) -> None:
    doc = _schema_file(name)
    assert doc["$schema"] == DRAFT_2020_12
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$id"].endswith(f"/{name}")
    assert doc["$id"].startswith("https://")


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_closes_its_objects(name: str) -> None:
    doc = _schema_file(name)
    if name == "common.schema.json":
        # Only shared definitions: nothing validates against its root.
        assert set(doc) <= {"$schema", "$id", "title", "description", "$defs"}
    else:
        assert doc["type"] == "object"
        assert doc["additionalProperties"] is False
        assert set(doc["required"]) <= set(doc["properties"])
        assert doc["properties"]["kind"] == {"const": name.removesuffix(".schema.json")}
    for where, node in _objects_with_properties(doc):
        assert node.get("additionalProperties") is False, f"{name}{where} is open"


@pytest.mark.parametrize("kind", schemas.KINDS)
def test_loaded_schema_matches_file(kind: str) -> None:
    assert schemas.schema(kind) == _schema_file(f"{kind}.schema.json")
    assert (
        schemas.validator(kind).META_SCHEMA["$id"]
        == jsonschema.Draft202012Validator.META_SCHEMA["$id"]
    )


def test_validate_refuses_non_mapping() -> None:
    with pytest.raises(DocumentError, match=r"^x\.yaml: \$: expected a mapping, found list$"):
        schemas.validate([], "alias", "x.yaml")


# --- records write schema-valid documents ----------------------------------------------

SHA = "sha256:" + "ab" * 32
COMMIT = "0123456789abcdef" * 2 + "01234567"
STAMP = "2024-05-01T12:00:00Z"


def _entries() -> tuple[Entry, ...]:
    return (
        Entry(path="a.txt", digest=SHA, size=3),
        Entry(path="sub/b.bin", digest="sha256:" + "cd" * 32, size=None),
        Entry(
            path="remote/model.onnx",
            digest='etag:"abc"',
            size=10,
            ref="s3://bucket/model.onnx",
            extra={"etag": "abc", "version_id": 3, "storage_class": None},
        ),
    )


RECORDS: dict[str, tuple[str, Any]] = {
    "edit": (
        "edit",
        EditRecord(
            project="mnist",
            name="classifier",
            version=3,
            seq=1,
            at=STAMP,
            by="A <a@example.test>",
            metadata={"f1": 0.9},
            removed=("note",),
            fields={"description": None, "tags": ("baseline",), "ttl": 3600},
        ),
    ),
    "registry-minimal": (
        "registry",
        RegistryConfig(name="reg", storage=StorageConfig(url="file:///blobs"), created_at=STAMP),
    ),
    "registry-full": (
        "registry",
        RegistryConfig(
            name="reg",
            storage=StorageConfig(
                url="s3://bucket/prefix",
                endpoint_url="https://minio:9000",
                region="eu-west-1",
                profile="default",
            ),
            created_at="2024-05-01T12:00:00.250+02:00",
            description="the team registry",
        ),
    ),
    "collection-minimal": (
        "collection",
        CollectionRecord(project="p", name="data", type="dataset", created_at=STAMP),
    ),
    "collection-full": (
        "collection",
        CollectionRecord(
            project="p", name="model.v2", type="model", created_at=STAMP, description="résumé"
        ),
    ),
    "version-empty": (
        "version",
        VersionRecord(
            project="p",
            name="data",
            version=0,
            type="dataset",
            digest=artifact_digest([]),
            created_at=STAMP,
            entries=(),
        ),
    ),
    "version-full": (
        "version",
        VersionRecord(
            project="p",
            name="data",
            version=999999999,
            type="dataset",
            digest=artifact_digest(_entries()),
            created_at=STAMP,
            entries=_entries(),
            run="run-1",
            description="three files",
            metadata={"acc": 0.5, "tags": ["a", "b"], "nested": {"n": None, "ok": True}},
        ),
    ),
    "alias-minimal": ("alias", AliasRecord(alias="best", version=3, set_at=STAMP)),
    "alias-full": (
        "alias",
        AliasRecord(
            alias="production",
            version=0,
            set_at=STAMP,
            set_by="Jane <jane@example.com>",
            run="run-1",
            reason="passed eval",
        ),
    ),
    "run-running": (
        "run",
        RunRecord(
            id="r1", project="p", name="r1", job_type=None, started_at=STAMP, status="running"
        ),
    ),
    "run-full": (
        "run",
        RunRecord(
            id="abc123",
            project="p",
            name="glorious sun 1",
            job_type="train",
            started_at=STAMP,
            status="finished",
            config={"lr": 0.001, "layers": [64, 64], "opt": {"name": "adam"}},
            entity="team",
            finished_at="2024-05-01T13:00:00Z",
            code=CodeInfo(commit=COMMIT, branch="main", dirty=True),
            inputs=(ArtifactUse("p", "data", 0, via="p/data:latest"),),
            outputs=(ArtifactUse("p", "model", 4), ArtifactUse("q", "model", 0)),
        ),
    ),
    "model-registry-minimal": (
        "model-registry",
        ModelRegistryConfig(name="models", created_at=STAMP),
    ),
    "model-registry-full": (
        "model-registry",
        ModelRegistryConfig(
            name="production-models",
            created_at=STAMP,
            stages=("development", "staging", "production"),
            protected=("staging", "production"),
            types=("model",),
            gates={
                "staging": StageGate(("accuracy > 0.9",)),
                "production": StageGate(("metrics.f1 >= 0.9", "approved == true"), True),
            },
            description="Models that serve traffic",
        ),
    ),
    "link": (
        "link",
        LinkRecord(
            "production-models",
            "classifier",
            2,
            "train",
            "classifier",
            7,
            "ab" * 32,
            STAMP,
            "A <a@example.test>",
            "run123",
        ),
    ),
}


def test_records_cover_every_kind() -> None:
    # An unlink tombstone is written as a plain document, with no record class.
    assert {kind for kind, _ in RECORDS.values()} == set(schemas.KINDS) - {"unlink"}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_record_to_doc_is_valid(name: str) -> None:
    kind, record = RECORDS[name]
    doc = record.to_doc()
    path = f"records/{name}.yaml"
    schemas.validate(doc, kind, path)
    # What is written is what is read back, and it still validates.
    loaded = yamlio.loads(yamlio.dumps(doc), path)
    assert loaded == doc
    schemas.validate(loaded, kind, path)
    assert type(record).from_doc(loaded) == record
