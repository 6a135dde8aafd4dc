"""Property tests: manifests, the artifact digest, canonical YAML and the name grammar."""

from __future__ import annotations

import dataclasses
import re
import string
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model.manifest import Entry, artifact_digest, file_digest
from registry_tool._model.names import (
    NAME_PATTERN,
    REGISTRY_PROJECT,
    ArtifactPath,
    parse_artifact_path,
    validate_alias,
    validate_name,
)
from registry_tool._model.records import VersionRecord
from registry_tool.errors import ArtifactError, InvalidNameError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAME_CHARS = string.ascii_letters + string.digits + "_.-"

# --- strategies --------------------------------------------------------------------------

names = st.from_regex(NAME_PATTERN, fullmatch=True).filter(lambda s: not s.endswith("\n"))
aliases = names.filter(lambda s: re.fullmatch(r"v[0-9]+", s) is None)
hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
sha256 = hex64.map(file_digest)

_segment = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\:"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
entry_paths = st.lists(_segment, min_size=1, max_size=4).map("/".join)

# Strings that a careless YAML round trip turns into something else.
TRICKY_STRINGS = [
    "",
    " ",
    "null",
    "Null",
    "~",
    "true",
    "False",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "1",
    "-1",
    "0x1f",
    "0o17",
    "017",
    "1_000",
    "1e3",
    "1.5",
    ".5",
    "+.inf",
    "-.inf",
    ".nan",
    "NaN",
    "2024-05-01",
    "2024-05-01T12:00:00Z",
    "2024-05-01 12:00:00",
    "12:30:00",
    "v12",
    "<<",
    "=",
    "- a",
    "a: b",
    "# comment",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "'quoted'",
    '"double"',
    "[1, 2]",
    "{a: 1}",
    "|",
    ">",
    "---",
    "...",
    "trailing ",
    " leading",
    "multi\nline\n",
    "tab\there",
    "crlf\r\n",
    "\x85nel",
    "line\u2028sep",
    "bom\ufeff",
    "naïve café 数据 🚀",
]

plain_strings = st.sampled_from(TRICKY_STRINGS) | st.text(
    st.characters(blacklist_categories=("Cs",)), max_size=40
)
plain_scalars = (
    plain_strings
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
# Metadata keys are one line: no control character and no line separator.
plain_keys = plain_strings.filter(
    lambda s: (
        len(s) <= 256 and not any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in s)
    )
)
plain_values = st.recursive(
    plain_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(plain_keys, children, max_size=5)
    ),
    max_leaves=30,
)
plain_docs = st.dictionaries(plain_keys, plain_values, max_size=8)


def _timestamps() -> st.SearchStrategy[str]:
    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    return st.builds(
        lambda dt, tz: dt.replace(tzinfo=tz).isoformat(),
        st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)),
        offsets | st.just(UTC),
    )


# A manifest's strings are one line: no control character (C0, DEL, C1), no line or
# paragraph separator.
line_chars = st.characters(exclude_characters="\u2028\u2029", exclude_categories=("Cs", "Cc"))
extras = st.dictionaries(
    st.text(line_chars, max_size=20),
    st.text(line_chars, max_size=20) | st.integers() | st.none(),
    max_size=3,
)
entries = st.builds(
    Entry,
    path=entry_paths,
    digest=sha256 | st.text(line_chars, min_size=1, max_size=60),
    size=st.none() | st.integers(min_value=0, max_value=2**53),
    ref=st.none() | st.text(line_chars, min_size=1, max_size=60),
    extra=extras,
)


@st.composite
def version_records(draw: st.DrawFn) -> VersionRecord:
    items = draw(st.lists(entries, max_size=6, unique_by=lambda e: e.path))
    return VersionRecord(
        project=draw(names),
        name=draw(names),
        version=draw(st.integers(0, 999_999_999)),
        type=draw(names),
        digest=artifact_digest(items),
        created_at=draw(_timestamps()),
        entries=tuple(items),
        run=draw(st.none() | names),
        description=draw(st.none() | st.text(min_size=1, max_size=80)),
        metadata=draw(plain_docs),
    )


def _through_yaml(doc: Any) -> Any:
    return yamlio.loads(yamlio.dumps(doc), "prop.yaml")


# --- manifest entries and version records -------------------------------------------------


@SETTINGS
@given(entries)
def test_entry_round_trips_through_yaml(entry: Entry) -> None:
    doc = entry.to_doc()
    assert _through_yaml(doc) == doc
    assert Entry.from_doc(_through_yaml(doc)) == entry


@FEW
@given(version_records())
def test_version_record_round_trips_through_yaml(record: VersionRecord) -> None:
    doc = record.to_doc()
    loaded = _through_yaml(doc)
    assert loaded == doc
    assert VersionRecord.from_doc(loaded) == record
    assert yamlio.dumps(VersionRecord.from_doc(loaded).to_doc()) == yamlio.dumps(doc)
    schemas.validate(loaded, "version", "prop.yaml")


# --- the artifact digest ------------------------------------------------------------------

stored_entries = st.builds(
    Entry,
    path=entry_paths,
    digest=sha256,
    size=st.none() | st.integers(min_value=0, max_value=2**40),
)
manifests = st.lists(stored_entries, min_size=1, max_size=8, unique_by=lambda e: e.path)


@SETTINGS
@given(manifests, st.randoms(use_true_random=False))
def test_digest_ignores_entry_order(items: list[Entry], rnd: Any) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert artifact_digest(shuffled) == artifact_digest(items)
    assert artifact_digest(reversed(items)) == artifact_digest(items)


@SETTINGS
@given(manifests, st.data())
def test_digest_depends_only_on_paths_and_digests(items: list[Entry], data: st.DataObject) -> None:
    other = [
        Entry(
            path=e.path,
            digest=e.digest,
            size=data.draw(st.none() | st.integers(min_value=0)),
            ref=data.draw(st.none() | st.text(min_size=1, max_size=20)),
            extra=data.draw(extras),
        )
        for e in items
    ]
    digest = artifact_digest(items)
    assert artifact_digest(other) == digest
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


@SETTINGS
@given(manifests, st.data())
def test_digest_changes_with_any_path_or_digest(items: list[Entry], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(items) - 1))
    changed = list(items)
    if data.draw(st.booleans()):
        new_path = data.draw(entry_paths.filter(lambda p: all(p != e.path for e in items)))
        changed[i] = dataclasses.replace(items[i], path=new_path)
    else:
        new_digest = data.draw(sha256.filter(lambda d: d != items[i].digest))
        changed[i] = dataclasses.replace(items[i], digest=new_digest)
    assert artifact_digest(changed) != artifact_digest(items)
    # Dropping or adding an entry changes it too.
    assert artifact_digest(items[:i] + items[i + 1 :]) != artifact_digest(items)


def test_digest_lines_are_unambiguous() -> None:
    hexdigest = "ab" * 32
    stored = [Entry(path="model", digest=f"sha256:{hexdigest}")]
    reference = [Entry(path="model:sha256", digest=hexdigest, ref="s3://bucket/model")]
    assert artifact_digest(stored) != artifact_digest(reference)
    with pytest.raises(ArtifactError, match="contains a newline"):
        artifact_digest([Entry(path="a", digest="etag\nb:etag", ref="s3://x/a")])


# --- canonical YAML -----------------------------------------------------------------------


@SETTINGS
@given(plain_docs)
@example({s: s for s in TRICKY_STRINGS})
@example({"nested": {"a": [[{"b": [None, True, 1.5, -0.0, 10**30]}]], "e": {}, "l": []}})
def test_yaml_round_trips_plain_data(doc: dict[str, Any]) -> None:
    data = yamlio.dumps(doc)
    assert yamlio.loads(data, "prop.yaml") == doc
    assert yamlio.dumps(yamlio.loads(data, "prop.yaml")) == data  # canonical: a fixed point


@FEW
@given(st.integers(1, yamlio.MAX_DEPTH), plain_scalars)
def test_yaml_round_trips_nesting_up_to_the_limit(depth: int, leaf: Any) -> None:
    value: Any = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    doc = {"root": value} if depth < yamlio.MAX_DEPTH else {"root": leaf}
    assert yamlio.loads(yamlio.dumps(doc), "prop.yaml") == doc


def test_yaml_round_trips_strings_of_brackets() -> None:
    doc = {"pattern": "[" * (yamlio.MAX_DEPTH + 1), "set": "{" * (yamlio.MAX_DEPTH + 1)}
    assert yamlio.loads(yamlio.dumps(doc), "prop.yaml") == doc


# --- names and aliases --------------------------------------------------------------------

near_names = st.one_of(
    names,
    st.text(NAME_CHARS, max_size=130),
    st.text(NAME_CHARS + " /:@\t\n\x00é", max_size=20),
    st.text(max_size=20),
    names.map(lambda s: s + "a" * 128),
)


def _accepts(check: Any, value: str) -> bool:
    try:
        assert check(value) == value
    except InvalidNameError:
        return False
    return True


@SETTINGS
@given(near_names)
@example("a" * 128)
@example("a" * 129)
@example("-a")
@example(".a")
@example("_a")
@example("a b")
@example("")
def test_validate_name_accepts_exactly_the_pattern(value: str) -> None:
    # A trailing newline is the known bug of test_names_refuse_a_trailing_newline.
    assume(not value.endswith("\n"))
    assert _accepts(validate_name, value) == bool(re.fullmatch(NAME_PATTERN, value))


@SETTINGS
@given(near_names | st.from_regex(r"v[0-9]{1,12}", fullmatch=True))
@example("v0")
@example("v12")
@example("v012")
@example("V12")
@example("v12a")
@example("v")
@example("v-1")
def test_validate_alias_also_refuses_version_numbers(value: str) -> None:
    assume(not value.endswith("\n"))
    expected = bool(re.fullmatch(NAME_PATTERN, value)) and not re.fullmatch(r"v[0-9]+", value)
    assert _accepts(validate_alias, value) == expected


@FEW
@given(names)
def test_names_refuse_a_trailing_newline(name: str) -> None:
    assert not _accepts(validate_name, name + "\n")
    assert not _accepts(validate_alias, name + "\n")


@SETTINGS
@given(st.lists(st.sampled_from(NAME_CHARS), min_size=1, max_size=3).map("".join))
def test_alias_pattern_in_schema_agrees_with_validate_alias(tail: str) -> None:
    for value in (f"a{tail}", f"v{tail}", tail):
        doc = {"kind": "alias", "alias": value, "version": 0, "set_at": "2024-05-01T00:00:00Z"}
        ok = _accepts(validate_alias, value)
        try:
            schemas.validate(doc, "alias", "prop.yaml")
        except Exception:
            assert not ok, value
        else:
            assert ok, value


# --- artifact paths -----------------------------------------------------------------------

plain_names = names.filter(lambda s: s != REGISTRY_PROJECT)


@st.composite
def artifact_paths(draw: st.DrawFn) -> ArtifactPath:
    if draw(st.booleans()):
        alias, version = draw(aliases), None
    else:
        alias, version = None, draw(st.integers(0, 999_999_999))
    if draw(st.integers(0, 4)) == 0:
        return ArtifactPath(None, REGISTRY_PROJECT, draw(names), alias, version, draw(names))
    shape = draw(st.integers(1, 3))
    entity = draw(plain_names) if shape == 3 else None
    project = draw(plain_names) if shape >= 2 else None
    return ArtifactPath(entity, project, draw(names), alias, version)


@SETTINGS
@given(artifact_paths())
def test_artifact_path_round_trips(path: ArtifactPath) -> None:
    text = str(path)
    assert parse_artifact_path(text) == path
    assert str(parse_artifact_path(text)) == text


@SETTINGS
@given(artifact_paths())
def test_artifact_path_without_selector_means_latest(path: ArtifactPath) -> None:
    text = str(path).rpartition(":")[0]
    parsed = parse_artifact_path(text)
    assert parsed.alias is None and parsed.version is None
    assert parsed.selector == "latest"
    assert parse_artifact_path(str(parsed)) == dataclasses.replace(
        path, alias="latest", version=None
    )


@FEW
@given(plain_names, names, names, aliases)
def test_registry_artifact_path_with_entity_round_trips(
    entity: str, registry: str, collection: str, alias: str
) -> None:
    parsed = parse_artifact_path(f"{entity}/{REGISTRY_PROJECT}/{registry}/{collection}:{alias}")
    assert parsed.entity == entity
    assert parse_artifact_path(str(parsed)) == parsed


@FEW
@given(names, aliases)
def test_registry_artifact_path_without_collection_round_trips(registry: str, alias: str) -> None:
    parsed = parse_artifact_path(f"{REGISTRY_PROJECT}/{registry}:{alias}")
    assert parse_artifact_path(str(parsed)) == parsed


# --- the fast entry check agrees with the schema ----------------------------------------

entry_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.text(st.sampled_from("ab\n\x00\x7f:/"), min_size=0, max_size=5)
    | st.lists(st.integers(), max_size=2)
)
entry_dicts = st.dictionaries(
    st.sampled_from(["path", "digest", "size", "ref", "extra", "other"]),
    entry_values | st.dictionaries(st.text(max_size=3), entry_values, max_size=2),
    max_size=6,
)


edge_values = st.sampled_from(
    [
        0,
        -1,
        1,
        None,
        True,
        False,
        1.0,
        "",
        "a",
        "a\n",
        "\x7f",
        "x" * 1024,
        "x" * 1025,
        "x" * 4096,
        "x" * 4097,
        [],
        {},
        {"k": True},
        {"k": 1.5},
        {"k": None},
        {"k": "v"},
        {"k": 2},
    ]
)


@st.composite
def mutated_entries(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(entries).to_doc()
    key = draw(st.sampled_from(["path", "digest", "size", "ref", "extra", "other"]))
    if draw(st.booleans()) and key in doc:
        del doc[key]
    else:
        doc[key] = draw(edge_values)
    return doc


@settings(max_examples=400, deadline=None)
@given(entry_dicts | entries.map(lambda e: e.to_doc()) | mutated_entries())
def test_fast_entry_check_agrees_with_jsonschema(entry: Any) -> None:
    from registry_tool import _schemas as schemas

    items_schema = schemas.schema("version")["properties"]["entries"]["items"]
    validator = type(schemas.validator("version"))(items_schema)
    assert schemas.entry_ok(entry) == validator.is_valid(entry)


def test_no_file_is_written_that_could_not_be_read_back(monkeypatch):
    from registry_tool import _yamlio as yamlio
    from registry_tool.errors import DocumentError

    monkeypatch.setattr(yamlio, "MAX_ITEMS", 5)
    with pytest.raises(DocumentError, match="more than 5 items"):
        yamlio.dumps({"a": list(range(10))}, path="x.yaml")
    with pytest.raises(DocumentError, match="too many YAML nodes"):
        yamlio.loads(b"a: [1, 2, 3, 4, 5, 6]\n", "x.yaml")
    assert yamlio.loads(yamlio.dumps({"a": 1}), "x.yaml") == {"a": 1}
