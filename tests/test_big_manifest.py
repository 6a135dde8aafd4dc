"""Large manifests: the entry lines a version file is written with (one JSON flow
mapping a line), the fast reader, writer and checks beside PyYAML, jsonschema and the
one-by-one rules they stand in for, and a folder logged, changed and shown through the
CLI, with a version file of the older block style beside it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model.layout import version_file
from registry_tool._model.manifest import Entry, artifact_digest, check_entries, file_digest
from registry_tool._model.names import validate_entry_path
from registry_tool._model.records import VersionRecord
from registry_tool.errors import ArtifactError, DocumentError, InvalidNameError
from tests.helpers import cli_out, git, write

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIGEST = file_digest("ab" * 32)
STAMP = "2026-01-01T00:00:00Z"

# Characters a careless writer or reader gets wrong, in JSON, in YAML or between them.
TRICKY = [
    '"', "\\", "#", ": ", " #", "-", "- ", "'", "{", "}", "[", "]", ",", "&", "*", "!",
    "|", ">", "%", "@", "`", "?", "~", "null", "true", "1e3", "012", "0x1f", " ", "\t",
    "\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\x9f", "\xa0", "\u2028", "\u2029",
    "\ufeff", "\ufffe", "\uffff", "\ud800", "\udfff", "é", "e\u0301", "数据", "😀",
    "\\u0041", "\\ud83d\\ude00", "\\n", "/", "<<", "? ", "=",
]  # fmt: skip
tricky_text = st.lists(st.sampled_from(TRICKY) | st.text(max_size=4), min_size=1, max_size=6).map(
    "".join
)
# Text a header may hold: a lone surrogate is not UTF-8, refused whatever the writer.
header_text = tricky_text.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
segments = st.lists(
    st.sampled_from([t for t in TRICKY if "/" not in t]) | st.text(max_size=4),
    min_size=1,
    max_size=4,
).map("".join)
# Paths of the entry-path grammar: whatever validate_entry_path accepts.
grammar_paths = (
    st.lists(segments, min_size=1, max_size=3).map("/".join).filter(lambda p: _valid_path(p))
)


def _valid_path(path: str) -> bool:
    try:
        validate_entry_path(path)
    except InvalidNameError:
        return False
    return True


def _version(entries: list[Entry], **extra: Any) -> dict[str, Any]:
    record = VersionRecord(
        project="p",
        name="big",
        version=1,
        type="dataset",
        digest="0" * 64,  # not checked here; some entries' digests are not digests
        created_at=STAMP,
        entries=tuple(entries),
        **extra,
    )
    return record.to_doc()


def _outcome(read: Any) -> Any:
    """What a read gives: the value, or the error's message."""
    try:
        return ("value", read())
    except DocumentError as exc:
        return ("error", str(exc))


def _full_yaml(data: bytes) -> Any:
    """The document as the whole-file PyYAML parse reads it (no entry-line fast path)."""
    return _outcome(lambda: yamlio._parse(data.decode("utf-8"), "v.yaml"))


def _block_style(doc: Any, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """``doc`` as the dumper writes it without entry lines (what older versions wrote)."""
    with monkeypatch.context() as patched:
        patched.setattr(yamlio, "_entry_lines", lambda _doc: None)
        return yamlio.dumps(doc)


# -- the entry lines, written and read --------------------------------------------------


@SETTINGS
@given(
    st.lists(grammar_paths, min_size=1, max_size=6, unique_by=str.casefold),
    st.none() | st.integers(0, 2**64 - 1),
    st.none() | header_text,
    st.dictionaries(header_text, header_text, max_size=3),
)
@example(['a"b/c\\d', "#x", "-lead", "k: v", "数据/😀", "e\u0301"], 0, None, {})
def test_entry_lines_read_the_same_by_yaml_by_json_and_as_written(
    paths: list[str], size: int | None, description: str | None, metadata: dict[str, str]
) -> None:
    entries = [Entry(p, DIGEST, size) for p in paths]
    doc = _version(entries, description=description, metadata=metadata)
    data = yamlio.dumps(doc)
    assert data.count(b'\n- {"path": ') == len(paths)  # the fast writer took it
    text = data.decode("utf-8")
    assert yamlio._parse(text, "v.yaml") == doc  # PyYAML
    assert yamlio._load_entry_lines(text, "v.yaml") == doc  # the fast reader
    assert yamlio.loads(data, "v.yaml") == doc
    assert yamlio.dumps(yamlio.loads(data, "v.yaml")) == data  # canonical


entry_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(2**64 - 2, 2**64 + 2)
    | st.floats()
    | tricky_text
    | st.lists(st.integers(), max_size=2)
)
any_entries = st.dictionaries(
    st.sampled_from(["path", "digest", "size", "ref", "extra", "other"]),
    entry_values | st.dictionaries(tricky_text | st.integers(), entry_values, max_size=3),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(st.lists(any_entries | st.builds(Entry, grammar_paths, tricky_text, st.none() | st.integers(0), st.none() | tricky_text).map(Entry.to_doc), min_size=1, max_size=4))  # fmt: skip
def test_the_writer_refuses_nothing_the_dumper_takes_and_writes_the_same_document(
    entries: list[Any],
) -> None:
    doc = {"kind": "version", "project": "p", "entries": entries}
    patched = pytest.MonkeyPatch()
    try:
        before = _outcome(lambda: _block_style(doc, patched))
    finally:
        patched.undo()
    after = _outcome(lambda: yamlio.dumps(doc))
    assert after[0] == before[0]
    if before[0] == "error":
        assert after == before
        return
    assert _outcome(lambda: yamlio.loads(after[1], "v.yaml")) == _full_yaml(before[1])
    assert _outcome(lambda: yamlio.loads(after[1], "v.yaml")) == _full_yaml(after[1])


def _edits() -> list[tuple[str, str]]:
    """Hand edits of an entry line: (what, the edited line)."""
    good = f'- {{"path": "a.txt", "digest": "{DIGEST}", "size": 8}}'
    line = good.replace
    return [
        ("as written", good),
        ("a comment", good + " # note"),
        ("a tab", good.replace(", ", ",\t", 1)),
        ("no space", good.replace('": ', '":')),
        ("space before colon", good.replace('": ', '" : ', 1)),
        ("keys reordered", f'- {{"digest": "{DIGEST}", "path": "a.txt", "size": 8}}'),
        ("a key twice", line('"size": 8', '"size": 8, "size": 9')),
        ("an extra key twice", line('"size": 8', '"size": 8, "extra": {"k": 1, "k": 2}')),
        ("an unknown key", line('"size": 8', '"size": 8, "other": 1')),
        ("exponent", line('"size": 8', '"size": 1e3')),
        ("float", line('"size": 8', '"size": 8.0')),
        ("octal", line('"size": 8', '"size": 012')),
        ("hex", line('"size": 8', '"size": 0x10')),
        ("wide", line('"size": 8', '"size": ' + "9" * 30)),
        ("too long to convert", line('"size": 8', '"size": ' + "9" * 5000)),
        ("plus", line('"size": 8', '"size": +8')),
        ("NaN", line('"size": 8', '"size": NaN')),
        ("yes", line('"size": 8', '"size": yes')),
        ("a list", line('"size": 8', '"size": [8]')),
        ("a surrogate pair", line("a.txt", "\\ud83d\\ude00")),
        ("a lone surrogate", line("a.txt", "\\udc00")),
        ("an escaped backslash then u", line("a.txt", "\\\\ud800")),
        ("a YAML escape", line("a.txt", "\\x41")),
        ("an escaped space", line("a.txt", "a\\ b")),
        ("an escaped slash", line("a.txt", "a\\/b")),
        ("a raw DEL", line("a.txt", "a\x7fb")),
        ("a raw C1", line("a.txt", "a\x9fb")),
        ("a raw separator", line("a.txt", "a\u2028b")),
        ("a raw U+FFFE", line("a.txt", "a\ufffeb")),
        ("single quotes", line('"a.txt"', "'a.txt'")),
        ("plain", line('"a.txt"', "a.txt")),
        ("an anchor", line("{", "&x {")),
        ("a tag", line('"size": 8', '"size": !!str 8')),
        ("a CR", good + "\r"),
        ("indented", "  " + good),
    ]


@pytest.mark.parametrize(("what", "edited"), _edits(), ids=[w for w, _ in _edits()])
@pytest.mark.parametrize("where", ["first", "last", "only"])
def test_a_hand_edited_line_reads_as_yaml_reads_it(what: str, edited: str, where: str) -> None:
    doc = _version([Entry(f"f{i}.txt", DIGEST, 8) for i in range(3)])
    text = yamlio.dumps(doc).decode("utf-8")
    head, _, body = text.partition("entries:\n")
    lines = body.splitlines()
    if where == "first":
        lines[0] = edited
    elif where == "last":
        lines[-1] = edited
    else:
        lines = [edited]
    data = f"{head}entries:\n{chr(10).join(lines)}\n".encode()
    assert _outcome(lambda: yamlio.loads(data, "v.yaml")) == _full_yaml(data), what


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("kind: version\n", "kind: version\nkind: version\n"),
        lambda t: t.replace("metadata: {}\n", "metadata: {}\nentries: []\n"),
        lambda t: t.replace("metadata: {}\n", "metadata: {n: " + "9" * 5000 + "}\n"),
        lambda t: t.replace("metadata: {}\n", "metadata: &a {}\nrun2: *a\n"),
        lambda t: t.replace("metadata: {}\n", 'description: "x\n'),
        lambda t: t.replace("metadata: {}\n", "metadata: {}\n---\n"),
        lambda t: t.replace("entries:\n", "entries: # the files\n"),
        lambda t: t.replace("entries:\n", "entries:\n\n"),
        lambda t: t.replace("entries:\n", "entries:\n# the files\n"),
        lambda t: t.replace("entries:\n", "entries: !!seq\n"),
        lambda t: t.replace("kind: version\n", "- kind: version\n"),
        lambda t: "{\n" + t,
        lambda t: "\ufeff" + t,
        lambda t: t + "extra: 1\n",
        lambda t: t + "...\n",
        lambda t: t[:-1],
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.replace("\n- {", "\n- {\n", 1),
        lambda t: t.replace('"size": 8}\n', '"size": 8,\n  "ref": "r"}\n', 1),
        lambda t: t.replace("\nentries:\n", "\nentries:\n- {}\n"),
    ],
)
def test_a_hand_edited_header_reads_as_yaml_reads_it(change: Any) -> None:
    doc = _version([Entry(f"f{i}.txt", DIGEST, 8) for i in range(3)])
    data = change(yamlio.dumps(doc).decode("utf-8")).encode("utf-8")
    assert _outcome(lambda: yamlio.loads(data, "v.yaml")) == _outcome(
        lambda: yamlio._parse(data.decode("utf-8"), "v.yaml")
    )


@SETTINGS
@given(
    st.lists(
        st.builds(
            Entry,
            grammar_paths,
            st.just(DIGEST) | tricky_text,
            st.none() | st.integers(0, 2**63),
            st.none() | tricky_text,
            st.dictionaries(tricky_text, tricky_text | st.integers() | st.none(), max_size=2),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda e: e.path,
    )
)
def test_block_style_files_of_older_versions_read_the_same(entries: list[Entry]) -> None:
    doc = _version(entries)
    patched = pytest.MonkeyPatch()
    try:
        old = _outcome(lambda: _block_style(doc, patched))
    finally:
        patched.undo()
    if old[0] == "error":  # text no version file can hold (a lone surrogate)
        assert _outcome(lambda: yamlio.dumps(doc)) == old
        return
    assert b'\n- {"path": ' not in old[1]
    assert yamlio.loads(old[1], "v.yaml") == doc
    assert yamlio.loads(yamlio.dumps(doc), "v.yaml") == doc


def test_the_limits_are_the_same_for_entry_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _version([Entry(f"f{i},x.txt", DIGEST, 8) for i in range(50)])
    data = yamlio.dumps(doc)
    block = _block_style(doc, monkeypatch)
    # Lines plus commas: an entry line counts what its block style counted.
    assert data.count(b"\n") + data.count(b",") == block.count(b"\n") + block.count(b",")
    items = data.count(b"\n") + data.count(b",")
    monkeypatch.setattr(yamlio, "MAX_ITEMS", items - 1)
    with pytest.raises(DocumentError, match="too many YAML nodes"):
        yamlio.loads(data, "v.yaml")
    with pytest.raises(DocumentError, match=f"more than {items - 1:,} items"):
        yamlio.dumps(doc)
    monkeypatch.setattr(yamlio, "MAX_ITEMS", items)
    assert yamlio.loads(data, "v.yaml") == doc
    monkeypatch.setattr(yamlio, "MAX_BYTES", len(data) - 1)
    with pytest.raises(DocumentError, match="larger than"):
        yamlio.loads(data, "v.yaml")
    with pytest.raises(DocumentError, match="larger than"):
        yamlio.dumps(doc)


@SETTINGS
@given(st.lists(grammar_paths, min_size=1, max_size=5, unique=True))
def test_the_size_floor_of_a_manifest_holds_for_entry_lines(paths: list[str]) -> None:
    entries = [Entry(p, DIGEST, 0) for p in paths]
    data = yamlio.dumps(_version(entries))
    body = data.partition(b"\nentries:\n")[2]
    floor = sum(len(p.encode("utf-8")) + 101 for p in paths)
    assert len(body) >= floor


def test_a_wide_integer_in_an_entry_line_is_named_as_before() -> None:
    doc = _version([Entry(f"f{i}.txt", DIGEST, 8) for i in range(3)])
    text = (
        yamlio.dumps(doc)
        .decode("utf-8")
        .replace('"size": 8}\n- {"path": "f2', '"size": 1' + "0" * 5000 + '}\n- {"path": "f2')
    )
    with pytest.raises(DocumentError) as info:
        yamlio.loads(text.encode(), "v.yaml")
    assert str(info.value).startswith("v.yaml: $.entries[1].size: an integer beyond")
    with pytest.raises(DocumentError, match=r"\$\.entries\[2\]\.size: an integer beyond"):
        yamlio.dumps({**doc, "entries": [*doc["entries"][:2], {"path": "x", "digest": "d", "size": 2**14000}]})  # fmt: skip


def test_only_version_documents_ending_in_entries_take_entry_lines() -> None:
    entries = [Entry("a.txt", DIGEST, 1).to_doc()]
    assert b'- {"path"' in yamlio.dumps({"kind": "version", "entries": entries})
    for doc in (
        {"kind": "run", "entries": entries},
        {"entries": entries},
        {"kind": "version", "entries": entries, "after": 1},
        {"kind": "version", "entries": []},
        {"kind": "version", "entries": [{**entries[0], "size": True}]},
        {"kind": "version", "entries": [{**entries[0], "size": 1.0}]},
        {"kind": "version", "entries": [{"digest": DIGEST, "path": "a.txt"}]},
    ):
        data = yamlio.dumps(doc)
        assert b'- {"path"' not in data, doc
        assert yamlio.loads(data, "v.yaml") == doc


# -- wide integers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": 2**64 - 1, "b": -(2**63), "c": [True, 1.5, "x", None]}, None),
        ({"a": 2**64}, "$.a"),
        ({"a": -(2**63) - 1}, "$.a"),
        ({"e": [{"s": 1}, {"s": 2}, {"t": ("x", {"u": 2**64})}]}, "$.e[2].t[1].u"),
        ({"e": [{"s": 2**64}, {"s": 2**65}]}, "$.e[0].s"),
        (2**64, "$"),
        ([0, [2**70]], "$[1][0]"),
    ],
)
def test_wide_integer_names_the_first_wide_field(value: Any, where: str | None) -> None:
    assert yamlio.wide_integer(value) == where


def test_wide_integer_with_bits_counts_bits() -> None:
    assert yamlio.wide_integer({"a": [2**16 - 1, -(2**16 - 1)]}, bits=16) is None
    assert yamlio.wide_integer({"a": [1, 2**16]}, bits=16) == "$.a[1]"
    assert yamlio.wide_integer({"a": {"b": -(2**16)}}, "doc", bits=16) == "doc.a.b"


# -- the fast entry checks beside jsonschema ----------------------------------------------


def _schema_says(entry: Any) -> bool:
    items = schemas.schema("version")["properties"]["entries"]["items"]
    valid = type(schemas.validator("version"))(items).is_valid(entry)
    return bool(valid) and schemas._bad_value(entry, "$") is None


fast_entry_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 2**64)
    | st.floats()
    | tricky_text
    | st.text(st.sampled_from("ab\n\x00\x7f\x85\u2028\ud800é"), max_size=4)
    | st.just("x" * 1025)
    | st.just("x" * 4097)
)
checked_entries = (
    st.fixed_dictionaries(
        {"path": fast_entry_values, "digest": fast_entry_values, "size": fast_entry_values}
    )
    | st.builds(
        Entry, tricky_text, tricky_text, st.none() | st.integers(0), st.none() | tricky_text,
        st.dictionaries(tricky_text | st.integers(), fast_entry_values, max_size=2),
    ).map(Entry.to_doc)
    | st.dictionaries(
        st.sampled_from(["path", "digest", "size", "ref", "extra", "other"]),
        fast_entry_values | st.dictionaries(tricky_text, fast_entry_values, max_size=2),
        max_size=6,
    )
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(checked_entries)
@example({"path": "a\ud800", "digest": "d", "size": 1})
@example({"path": "a", "digest": "d", "size": 2**64})
@example({"path": "a", "digest": "d", "size": -1})
@example({"path": "a", "digest": "d", "size": True})
@example({"path": "a", "digest": "d", "extra": {"k\n": 1}})
@example({"path": "a", "digest": "d", "extra": {1: 1}})
@example({"path": "a", "digest": "d", "extra": {"\ud800": 1}})
@example({"path": "x" * 1024, "digest": "x" * 4096, "size": None})
def test_the_fast_entry_check_agrees_with_jsonschema_and_plain_data(entry: Any) -> None:
    said = _schema_says(entry)
    assert schemas.entries_plain([entry]) == said
    assert schemas.entries_plain([Entry("ok", DIGEST, 1).to_doc(), entry]) == said


@settings(max_examples=100, deadline=None)
@given(st.lists(checked_entries, min_size=1, max_size=4))
def test_a_version_is_judged_the_same_with_or_without_the_fast_checks(
    entries: list[Any],
) -> None:
    doc = {**_version([Entry("ok", DIGEST, 1)]), "entries": entries}
    fast = _outcome(lambda: schemas.validate(doc, "version", "v.yaml"))
    patched = pytest.MonkeyPatch()
    try:
        patched.setattr(schemas, "entries_plain", lambda _e: False)
        patched.setattr(schemas, "_entries_ok", lambda _e: False)
        slow = _outcome(lambda: schemas.validate(doc, "version", "v.yaml"))
    finally:
        patched.undo()
    assert fast == slow


def test_an_entry_subclass_of_str_is_judged_by_the_full_check() -> None:
    class Text(str):
        pass

    entry = {"path": Text("a"), "digest": "d", "size": 1}
    assert not schemas.entries_plain([entry])  # a doubt, not a fault
    schemas.validate({**_version([Entry("ok", DIGEST, 1)]), "entries": [entry]}, "version", "v")


# -- the manifest's rules ----------------------------------------------------------------


def _one_by_one(entries: list[Entry]) -> str | None:
    """The first error of the rules applied one entry at a time, in path order."""
    ordered = sorted(entries, key=lambda e: e.path)
    seen: dict[str, str] = {}
    try:
        for entry in ordered:
            validate_entry_path(entry.path)
            folded = entry.path.casefold()
            if folded in seen:
                other = seen[folded]
                why = "twice" if other == entry.path else f"and as {other!r} (differ only in case)"
                return f"file {entry.path!r} is in the artifact {why}"
            seen[folded] = entry.path
    except InvalidNameError as exc:
        return str(exc)
    paths = {e.path for e in ordered}
    clashes = sorted(
        (parent, path)
        for path in paths
        for parent in ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
        if parent in paths
    )
    if clashes:
        parent = clashes[0][0]
        path = min(p for p in paths if p.startswith(parent + "/"))
        return f"file {parent!r} is in the artifact and is also a directory of {path!r}"
    return None


path_parts = st.sampled_from(["a", "A", "b", "a/b", "a/B", "A/b", "c", "..", "", ".git", "x\x00"])


@SETTINGS
@given(st.lists(st.lists(path_parts, min_size=1, max_size=3).map("/".join), max_size=8))
@example(["b", "a", "a", "c/.."])
@example(["c/..", "a", "a"])
@example(["a/b/c", "a", "a/b", "z", "z/y"])
@example(["B", "b/c", "a", "a/x"])
def test_check_entries_gives_the_first_error_in_path_order(paths: list[str]) -> None:
    entries = [Entry(p, DIGEST, 1) for p in paths]
    expected = _one_by_one(entries)
    if expected is None:
        assert [e.path for e in check_entries(entries)] == sorted(paths)
        return
    with pytest.raises((ArtifactError, InvalidNameError)) as info:
        check_entries(entries)
    assert str(info.value) == expected


def test_entry_from_doc_is_the_entry_its_constructor_makes() -> None:
    extra = {"etag": "x"}
    doc = {"path": "a", "digest": DIGEST, "size": 3, "ref": "s3://b/a", "extra": extra}
    entry = Entry.from_doc(doc)
    assert entry == Entry("a", DIGEST, 3, "s3://b/a", {"etag": "x"})
    assert Entry.from_doc({"path": "a", "digest": DIGEST}) == Entry("a", DIGEST)
    assert Entry("a", DIGEST, extra=None) == Entry("a", DIGEST, None, None, {})
    assert dataclasses.replace(entry, size=4) == Entry("a", DIGEST, 4, "s3://b/a", {"etag": "x"})
    assert repr(Entry.from_doc({"path": "a", "digest": DIGEST})) == repr(Entry("a", DIGEST))
    extra["etag"] = "changed"
    assert entry.extra == {"etag": "x"}  # a copy, as the constructor's
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.path = "b"  # type: ignore[misc]


# -- through the CLI ----------------------------------------------------------------------

NAMES = ['q"uote.txt', "back'tick`.txt", "#hash.txt", "key: value.txt", "-lead.txt",
         "数据/😀.txt", "\u00e9t\u00e9/caf\u00e9.txt", "{brace}.txt", "sp ace/x.txt"]  # fmt: skip


def test_a_folder_logged_changed_and_shown_cold(registry, tmp_path, monkeypatch):
    data = tmp_path / "data"
    for i in range(60):
        write(data / f"d{i // 20}" / f"f{i:03d}.txt", f"file {i}\n")
    for name in NAMES:
        write(data / "odd" / name, name)
    cli_out("log", str(data), "--name", "p/big", "--type", "dataset")
    write(data / "d1" / "f020.txt", "changed\n")
    out = cli_out("log", str(data), "--name", "p/big", "--type", "dataset")
    assert "p/big:v1" in out
    text = (registry.root / version_file("p", "big", 1)).read_text("utf-8")
    lines = text.partition("\nentries:\n")[2].splitlines()
    assert len(lines) == 60 + len(NAMES)
    assert all(line.startswith('- {"path": ') for line in lines)

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold"))
    shown = json.loads(cli_out("show", "p/big:v1", "--json"))
    files = {f["path"]: f for f in shown["files"]}
    assert set(files) == {f"d{i // 20}/f{i:03d}.txt" for i in range(60)} | {
        f"odd/{n}" for n in NAMES
    }
    assert files["d1/f020.txt"]["size"] == len("changed\n")
    assert shown["digest"] == artifact_digest([Entry.from_doc(f) for f in shown["files"]])
    cli_out("check")


def test_a_block_style_version_file_still_reads(registry, tmp_path, monkeypatch):
    data = tmp_path / "data"
    for name in ["a.txt", *NAMES]:
        write(data / name, name)
    cli_out("log", str(data), "--name", "p/old", "--type", "dataset")
    path = registry.root / version_file("p", "old", 0)
    doc = yamlio.loads(path.read_bytes(), str(path))
    block = _block_style(doc, monkeypatch)
    assert re.search(rb"^- path: ", block, re.M) and b'- {"path"' not in block
    path.write_bytes(block)
    git(registry.root, "commit", "-q", "-am", "as an older version wrote it")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold"))
    shown = json.loads(cli_out("show", "p/old:v0", "--json"))
    assert shown["files"] == doc["entries"]
    cli_out("check")
    # The same bytes logged again are found, not logged as a new version.
    assert "Unchanged" in cli_out("log", str(data), "--name", "p/old", "--type", "dataset")
    assert Path(path).read_bytes() == block


@pytest.mark.parametrize("length", [1, 128, 129, 1000, 1021, 1030, 5000])
def test_a_long_key_in_extra_reads_as_yaml_reads_it(length: int) -> None:
    # YAML reads a key written without '?' only up to 1,024 characters.
    doc = _version([Entry("a", DIGEST, 1, "s3://b/a", {"k" * length: "v", "é" * length: 1})])
    data = yamlio.dumps(doc)
    assert _full_yaml(data) == ("value", doc)
    assert yamlio.loads(data, "v.yaml") == doc
    line = f'- {{"path": "a", "digest": "{DIGEST}", "extra": {{"{"k" * length}": "v"}}}}\n'
    text = yamlio.dumps(_version([Entry("a", DIGEST, 1)])).decode("utf-8")
    edited = (text.partition("entries:\n")[0] + "entries:\n" + line).encode("utf-8")
    assert _outcome(lambda: yamlio.loads(edited, "v.yaml")) == _full_yaml(edited)
