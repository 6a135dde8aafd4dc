"""One-line fields hold one line: names, aliases, reasons, authors, types, storage
URLs, gate conditions, timestamps and the rest refuse line breaks and control
characters, when a write validates its documents and when ``check`` reads them.

A reason with a newline would forge a ``Reviewed-by:`` trailer in the commit message of
an alias move; these tests hold that no write gets that far.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from registry_tool import _promotion as promotion
from registry_tool import _schemas as schemas
from registry_tool._engine import Context
from registry_tool._model import names
from registry_tool._model.layout import alias_file, unlink_file
from registry_tool._resources import data_path
from registry_tool._store import RegistryStore
from registry_tool.errors import DocumentError, UsageError
from tests.helpers import (
    FakeGitHub,
    cli_error,
    cli_out,
    create_prod_registry,
    git,
    team_clone,
    write,
)

MESSAGE = "may not contain a line break or control character"
STAMP = "2024-05-01T12:00:00Z"
HEX = "ab" * 32
FORGED = "x\nReviewed-by: boss"

# Every character a one-line field refuses, at the edges of each refused range.
REFUSED = [
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\t",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9b",
    "\x9f",
    "\u2028",
    "\u2029",
]
# Their neighbours, which are ordinary text.
ACCEPTED = [" ", "~", "\xa0", "é", "\u2027", "\u202a", "→", "日本"]


def _docs() -> dict[str, dict[str, Any]]:
    """One valid document of every kind, each with every optional one-line field set."""
    entry = {
        "path": "a.txt",
        "digest": "sha256:" + HEX,
        "size": 3,
        "ref": "s3://bucket/a.txt",
        "extra": {"etag": "abc"},
    }
    return {
        "alias": {
            "kind": "alias",
            "alias": "best",
            "version": 0,
            "set_at": STAMP,
            "set_by": "Jane <jane@example.test>",
            "run": "run1",
            "reason": "passed eval",
        },
        "collection": {
            "kind": "collection",
            "project": "p",
            "name": "data",
            "type": "dataset",
            "created_at": STAMP,
            "description": "first line\nsecond line",
        },
        "version": {
            "kind": "version",
            "project": "p",
            "name": "data",
            "version": 0,
            "digest": HEX,
            "digest_algorithm": "sha256-manifest-v1",
            "type": "dataset",
            "created_at": STAMP,
            "run": None,
            "size": 3,
            "file_count": 1,
            "deleted": {"at": STAMP, "by": "Jane <jane@example.test>", "reason": "superseded"},
            "description": "first line\nsecond line",
            "metadata": {"notes": "multi\nline", "nested": {"key": "v"}},
            "entries": [entry],
        },
        "run": {
            "kind": "run",
            "id": "run1",
            "project": "p",
            "name": "glorious sun 1",
            "job_type": "train",
            "status": "finished",
            "started_at": STAMP,
            "finished_at": STAMP,
            "code": {"commit": "0" * 40, "dirty": False, "branch": "main"},
            "config": {"lr": 0.1},
            "inputs": [{"artifact": "p/data", "version": 0, "via": "p/data:latest"}],
            "outputs": [],
        },
        "model-registry": {
            "kind": "model-registry",
            "name": "prod",
            "created_at": STAMP,
            "stages": ["staging"],
            "protected": [],
            "types": ["model"],
            "gates": {"staging": {"conditions": ["f1 >= 0.9"]}},
            "description": "first line\nsecond line",
        },
        "registry": {
            "kind": "registry",
            "format": 1,
            "name": "reg",
            "created_at": STAMP,
            "storage": {
                "url": "s3://bucket/blobs",
                "endpoint_url": "http://127.0.0.1:9000",
                "region": "eu-west-1",
                "profile": "default",
            },
            "previous_storage": {"url": "file:///blobs"},
            "description": "first line\nsecond line",
        },
        "link": {
            "kind": "link",
            "registry": "prod",
            "collection": "clf",
            "version": 0,
            "source": {"artifact": "p/clf", "version": 0, "digest": HEX},
            "linked_at": STAMP,
            "linked_by": "Jane <jane@example.test>",
            "run": "run1",
        },
        "unlink": {
            "kind": "unlink",
            "registry": "prod",
            "collection": "clf",
            "version": 0,
            "unlinked_at": STAMP,
            "unlinked_by": "Jane <jane@example.test>",
            "reason": "retired",
        },
    }


# (kind, JSON path) of every one-line string field that takes free text. Names and
# aliases have their own stricter grammar (tested below and in test_hostile.py).
SINGLE_LINE = [
    ("alias", "$.reason"),
    ("alias", "$.set_by"),
    ("alias", "$.set_at"),
    ("collection", "$.created_at"),
    ("version", "$.created_at"),
    ("version", "$.deleted.by"),
    ("version", "$.deleted.reason"),
    ("version", "$.deleted.at"),
    ("version", "$.entries[0].path"),
    ("version", "$.entries[0].digest"),
    ("version", "$.entries[0].ref"),
    ("version", "$.entries[0].extra.etag"),
    ("run", "$.name"),
    ("run", "$.job_type"),
    ("run", "$.code.branch"),
    ("run", "$.inputs[0].via"),
    ("run", "$.started_at"),
    ("run", "$.finished_at"),
    ("model-registry", "$.gates.staging.conditions[0]"),
    ("model-registry", "$.created_at"),
    ("registry", "$.storage.url"),
    ("registry", "$.storage.endpoint_url"),
    ("registry", "$.storage.region"),
    ("registry", "$.storage.profile"),
    ("registry", "$.previous_storage.url"),
    ("link", "$.linked_by"),
    ("link", "$.linked_at"),
    ("unlink", "$.unlinked_by"),
    ("unlink", "$.unlinked_at"),
    ("unlink", "$.reason"),
]
NAME_FIELDS = [
    ("alias", "$.alias"),
    ("alias", "$.run"),
    ("collection", "$.project"),
    ("collection", "$.name"),
    ("collection", "$.type"),
    ("version", "$.type"),
    ("run", "$.id"),
    ("run", "$.project"),
    ("model-registry", "$.name"),
    ("model-registry", "$.stages[0]"),
    ("model-registry", "$.types[0]"),
    ("registry", "$.name"),
    ("link", "$.registry"),
    ("link", "$.collection"),
    ("unlink", "$.collection"),
]
MULTI_LINE = [
    ("collection", "$.description"),
    ("version", "$.description"),
    ("version", "$.metadata.notes"),
    ("model-registry", "$.description"),
    ("registry", "$.description"),
]

_STEP = re.compile(r"\.([A-Za-z_]+)|\[(\d+)\]")


def _with(doc: dict[str, Any], where: str, value: str) -> dict[str, Any]:
    """A copy of ``doc`` with the field at JSON path ``where`` set to ``value``."""
    out = copy.deepcopy(doc)
    steps: list[str | int] = [
        key if key else int(index) for key, index in _STEP.findall(where.removeprefix("$"))
    ]
    node: Any = out
    for step in steps[:-1]:
        node = node[step]
    old = node[steps[-1]]
    assert isinstance(old, str), f"{where} is not a string field of the example"
    # Keep the value valid for its own grammar: the break goes in the middle.
    node[steps[-1]] = old[:1] + value + old[1:]
    return out


def test_the_examples_are_valid() -> None:
    for kind, doc in _docs().items():
        schemas.validate(doc, kind, f"{kind}.yaml")


@pytest.mark.parametrize("bad", REFUSED, ids=repr)
@pytest.mark.parametrize(("kind", "where"), SINGLE_LINE, ids=lambda v: str(v))
def test_single_line_fields_refuse_line_breaks_and_controls(kind: str, where: str, bad: str):
    doc = _with(_docs()[kind], where, bad)
    with pytest.raises(DocumentError) as info:
        schemas.validate(doc, kind, "f.yaml")
    assert str(info.value) == f"f.yaml: {where}: {MESSAGE}"
    assert info.value.field == where


TEXT = [(kind, where) for kind, where in SINGLE_LINE if not where.endswith(("_at", ".at"))]


@pytest.mark.parametrize("good", ACCEPTED, ids=repr)
@pytest.mark.parametrize(("kind", "where"), TEXT, ids=lambda v: str(v))
def test_single_line_fields_take_any_other_text(kind: str, where: str, good: str):
    schemas.validate(_with(_docs()[kind], where, good), kind, "f.yaml")


@pytest.mark.parametrize("bad", ["\n", "\x1b", "\u2028"], ids=repr)
@pytest.mark.parametrize(("kind", "where"), NAME_FIELDS, ids=lambda v: str(v))
def test_names_refuse_line_breaks_and_controls(kind: str, where: str, bad: str):
    with pytest.raises(DocumentError, match=rf"^f\.yaml: {re.escape(where)}: .* is not a valid"):
        schemas.validate(_with(_docs()[kind], where, bad), kind, "f.yaml")


@pytest.mark.parametrize(("kind", "where"), MULTI_LINE, ids=lambda v: str(v))
def test_descriptions_and_metadata_values_stay_multi_line(kind: str, where: str):
    schemas.validate(_with(_docs()[kind], where, "\nmore\r\n\u2028lines\n"), kind, "f.yaml")


def test_a_trailing_newline_is_refused_too():
    # Python's `$` matches before a final newline: the one place a pattern can leak.
    doc = {**_docs()["alias"], "reason": "ok\n", "set_at": STAMP}
    with pytest.raises(DocumentError, match=r"^f\.yaml: \$\.reason: may not"):
        schemas.validate(doc, "alias", "f.yaml")
    doc = {**_docs()["alias"], "set_at": STAMP + "\n"}
    with pytest.raises(DocumentError, match=r"^f\.yaml: \$\.set_at: may not"):
        schemas.validate(doc, "alias", "f.yaml")


def test_the_error_is_one_short_line_without_the_value():
    doc = {**_docs()["alias"], "reason": "x" * 60000 + "\n::warning::pwned"}
    with pytest.raises(DocumentError) as info:
        schemas.validate(doc, "alias", "a.yaml")
    assert str(info.value) == f"a.yaml: $.reason: {MESSAGE}"


@pytest.mark.parametrize("where", ["$.metadata", "$.metadata.nested"])
def test_metadata_keys_are_one_line_at_any_depth(where: str):
    doc = _docs()["version"]
    target = doc["metadata"] if where == "$.metadata" else doc["metadata"]["nested"]
    target["a\nb"] = 1
    with pytest.raises(DocumentError) as info:
        schemas.validate(doc, "version", "v.yaml")
    assert str(info.value) == f"v.yaml: {where}: key 'a\\nb' {MESSAGE}"


def test_one_definition_of_a_line():
    """The shared ``$defs/line`` of common.schema.json, the manifest entries' copy of it
    (the fast entry check validates them without jsonschema, so they cannot use a
    ``$ref``) and the model's regex refuse exactly the same characters."""
    common = json.loads((data_path("schemas") / "common.schema.json").read_text("utf-8"))
    pattern = common["$defs"]["line"]["pattern"]
    version = json.loads((data_path("schemas") / "version.schema.json").read_text("utf-8"))
    items = version["properties"]["entries"]["items"]["properties"]
    for field in ("path", "digest", "ref"):
        assert items[field]["pattern"] == pattern, field
    assert items["extra"]["additionalProperties"]["pattern"] == pattern
    compiled = re.compile(pattern)
    for code in range(0x3000):
        char = chr(code)
        refused = compiled.search(f"a{char}b") is None
        assert refused == bool(names.LINE_BREAK_OR_CONTROL.search(char)), hex(code)
        entry = {"path": f"a{char}b", "digest": "d"}
        assert schemas.entry_ok(entry) == (not refused), hex(code)


def test_validate_line_names_the_field():
    assert names.validate_line("passed eval", field="$.reason") == "passed eval"
    assert names.validate_line(None, field="$.reason") is None
    with pytest.raises(UsageError) as info:
        names.validate_line(FORGED, field="$.reason")
    assert str(info.value) == f"$.reason: {MESSAGE}"
    assert info.value.field == "$.reason"


# --- writes: nothing is committed -------------------------------------------------------


def _head(store: RegistryStore) -> str:
    return git(store.root, "rev-parse", "HEAD")


def _logged(store: RegistryStore) -> str:
    write("a.txt", "weights")
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    return _head(store)


@pytest.mark.parametrize("reason", [FORGED, "x\rReviewed-by: boss", "x\u2028y", "\x1b[2J"])
def test_alias_set_refuses_a_forged_trailer_and_commits_nothing(registry, reason):
    before = _logged(registry)
    log = git(registry.root, "log", "--format=%B")
    error = cli_error("alias", "set", "p/m:v0", "best", "--reason", reason)
    assert error == f"error: {alias_file('p', 'm', 'best')}: $.reason: {MESSAGE}"
    assert _head(registry) == before
    assert git(registry.root, "log", "--format=%B") == log
    assert git(registry.root, "status", "--porcelain") == ""
    assert not (registry.root / alias_file("p", "m", "best")).exists()


def test_alias_set_with_a_one_line_reason_still_commits_it(registry):
    before = _logged(registry)
    cli_out("alias", "set", "p/m:v0", "best", "--reason", "passed eval → ship")
    assert _head(registry) != before
    assert git(registry.root, "log", "-1", "--format=%B").splitlines()[-1] == "passed eval → ship"


def test_delete_refuses_a_multi_line_reason(registry):
    before = _logged(registry)
    error = cli_error("delete", "p/m:v0", "--delete-aliases", "--reason", FORGED)
    assert error.endswith(f"$.deleted.reason: {MESSAGE}")
    assert _head(registry) == before
    assert json.loads(cli_out("show", "p/m:v0", "--json"))["deleted"] is None


def _linked(store: RegistryStore) -> str:
    _logged(store)
    create_prod_registry()
    cli_out("link", "p/m:v0", "model-registry/prod")
    return _head(store)


def test_promote_direct_refuses_a_multi_line_reason(registry):
    before = _linked(registry)
    error = cli_error(
        "promote", "model-registry/prod/m:v0", "--to", "staging", "--direct", "--reason", FORGED
    )
    # Refused before anything is resolved or written: the reason is the field named.
    assert error == f"error: $.reason: {MESSAGE}"
    assert _head(registry) == before


def test_promote_of_a_source_path_links_nothing_for_a_bad_reason(registry):
    _logged(registry)
    create_prod_registry()
    before = _head(registry)
    cli_error("promote", "p/m:v0", "--to", "staging", "--direct", "--reason", FORGED)
    assert _head(registry) == before


def test_promote_by_pull_request_refuses_before_any_branch_or_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from registry_tool._store import init_registry

    seed = init_registry(tmp_path / "seed", name="acme", storage=str(tmp_path / "blobs"))
    store, bare = team_clone(seed, tmp_path)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    fake = FakeGitHub()
    try:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", "test-token")
        monkeypatch.setenv("REGISTRY_TOOL_NO_GH", "1")
        _linked(store)
        refs = git(bare, "for-each-ref")
        error = cli_error(
            "promote", "model-registry/prod/m:v0", "--to", "production", "--pr", "--reason", FORGED
        )
        assert error.endswith(f"$.reason: {MESSAGE}")
        assert git(bare, "for-each-ref") == refs
        assert git(store.root, "branch", "--list", "promote/*") == ""
        assert fake.requests == []
    finally:
        fake.close()


def test_unlink_refuses_a_multi_line_reason(registry):
    before = _linked(registry)
    ctx = Context.open(registry.root)
    link = ctx.resolve_ref("model-registry/prod/m:v0").link
    assert link is not None
    with pytest.raises(DocumentError) as info:
        promotion.unlink(ctx, link, reason=FORGED)
    assert str(info.value) == f"{unlink_file('prod', 'm', 0)}: $.reason: {MESSAGE}"
    assert _head(registry) == before


# --- check reads with the same schemas --------------------------------------------------

HAND_EDITED = (
    "kind: alias\nalias: best\nversion: 0\nset_at: '2024-05-01T12:00:00Z'\n"
    'reason: "ok\\nReviewed-by: boss"\n'
)


def test_check_refuses_a_multi_line_reason_in_the_tree(registry):
    _logged(registry)
    path = alias_file("p", "m", "best")
    write(registry.root / path, HAND_EDITED)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "hand edit")
    assert cli_error("check") == f"{path}: $.reason: {MESSAGE}"


def test_check_refuses_a_multi_line_reason_in_a_change(registry):
    base = _logged(registry)
    path = alias_file("p", "m", "best")
    git(registry.root, "checkout", "--quiet", "-b", "change")
    write(registry.root / path, HAND_EDITED)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "hand edit")
    out = cli_error("check", "--base", base, "--head", "change")
    assert out == f"{path}: $.reason: {MESSAGE}"
