"""The grammar of names at its boundaries: each validator's longest accepted and
shortest refused value, the characters it allows, the names the grammar reserves, each
refusal's message, and how ``fold`` sees two names as one place."""

from __future__ import annotations

import pytest

from registry_tool._model.names import (
    LATEST,
    MAX_ENTRY_PATH,
    MAX_SEGMENT,
    REGISTRY_PROJECT,
    ArtifactPath,
    fold,
    parse_artifact_path,
    parse_link_target,
    parse_version,
    validate_alias,
    validate_entry_path,
    validate_line,
    validate_name,
    vcs_segment,
)
from registry_tool.errors import InvalidNameError, UsageError

RULE = "use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit"


def refused(check, value, *args, **kwargs) -> str:
    with pytest.raises(InvalidNameError) as caught:
        check(value, *args, **kwargs)
    return str(caught.value)


# -- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a", "Z", "0", "a" * 128, "9" + "-" * 127, "a.b", "a_b", "a-b", "A1.b_c-D", "v1", "latest"],
)
def test_validate_name_accepts(value):
    assert validate_name(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 129,
        "-a",
        "_a",
        ".a",
        "a b",
        "a/b",
        "a:b",
        "a\n",
        "\na",
        "é",
        "aé",
        "ａ",  # a fullwidth letter is not an ASCII one
        "a\x00",
    ],
)
def test_validate_name_refuses(value):
    assert refused(validate_name, value) == f"invalid name {value!r}: {RULE}"


@pytest.mark.parametrize("value", [None, 5, b"name", ["a"]])
def test_validate_name_refuses_what_is_not_text(value):
    assert refused(validate_name, value) == f"invalid name {value!r}: {RULE}"


@pytest.mark.parametrize(
    ("what", "value", "used"),
    [
        ("artifact name", "runs", "runs"),
        ("artifact name", "Runs", "runs"),
        ("artifact name", "RUNS..", "runs"),
        ("run id", "artifact", "artifact.yaml"),
        ("run id", "ARTIFACT.", "artifact.yaml"),
        ("collection name", "registry.yaml", "registry.yaml"),
        ("collection name", "Registry.YAML", "registry.yaml"),
    ],
)
def test_validate_name_refuses_what_the_layout_keeps_beside_it(what, value, used):
    assert refused(validate_name, value, what=what) == (
        f"invalid {what} {value!r}: it is reserved (the repo layout uses {used!r} there)"
    )


@pytest.mark.parametrize(
    ("what", "value"),
    [
        ("project", "runs"),
        ("name", "artifact"),
        ("registry name", "registry.yaml"),
        ("artifact name", "runs1"),
        ("artifact name", "run"),
        ("artifact name", "r.uns"),
        ("run id", "artifacts"),
        ("run id", "runs"),
        ("collection name", "registry.yml"),
        ("collection name", "registry"),
    ],
)
def test_validate_name_accepts_a_reserved_name_elsewhere(what, value):
    assert validate_name(value, what=what) == value


def test_validate_name_says_what_it_checked():
    assert refused(validate_name, "-x", what="project") == f"invalid project '-x': {RULE}"


# -- aliases and version numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a", "a" * 128, "v", "V1", "v1a", "va", "version", "1", "staging", "latest"]
)
def test_validate_alias_accepts(value):
    assert validate_alias(value) == value


@pytest.mark.parametrize("value", ["", "a" * 129, "-x", "a b", "x/y", None, 3])
def test_validate_alias_refuses_a_bad_name(value):
    assert refused(validate_alias, value) == f"invalid alias {value!r}: {RULE}"


@pytest.mark.parametrize("value", ["v0", "v1", "v01", "v0000", "v12345678901"])
def test_validate_alias_refuses_what_names_a_version(value):
    assert refused(validate_alias, value) == (
        f"invalid alias {value!r}: 'v<digits>' names a version, it cannot be an alias"
    )


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("v0", 0),
        ("v1", 1),
        ("v10", 10),
        ("v999999999", 999_999_999),  # nine digits: the most a version has
        ("v1000000000", None),
        ("v00", None),
        ("v01", None),
        ("V1", None),
        ("v", None),
        ("v-1", None),
        ("1", None),
        ("v1 ", None),
        ("v1\n", None),
        ("latest", None),
    ],
)
def test_parse_version(value, number):
    assert parse_version(value) == number


# -- entry paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "a",
        "model.pth",
        "dir/sub/file.txt",
        "a b/c@d+e=f,g%h~i-j_k",
        ".hidden",
        "..dots",
        "a..b",
        "/".join(["x" * 204] * 5),  # 1024 bytes, the longest path
        "/".join(["é" * 102] * 5),  # 1024 bytes in UTF-8, in 514 characters
        "x" * MAX_SEGMENT,  # the longest file name
        "é" * 127 + "x",  # 255 bytes in UTF-8
        "naïve/日本語.txt",
        "1:b",
        "a*b",
        "\ud7ff",  # the last code point before the surrogates
        "\ue000",  # the first one after them
        "\xa0",  # a no-break space is printable
    ],
)
def test_validate_entry_path_accepts(value):
    assert validate_entry_path(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "contains a NUL byte"),
        ("a\\b", "contains a backslash (use '/')"),
        ("/etc/passwd", "is absolute"),
        ("C:evil", "is absolute"),
        ("z:/evil", "is absolute"),
        ("a:b", "is absolute"),  # a drive-relative path on Windows
        ("/".join(["x" * 204] * 5) + "x", f"is longer than {MAX_ENTRY_PATH} bytes"),
        ("/".join(["é" * 102] * 5) + "x", f"is longer than {MAX_ENTRY_PATH} bytes"),
        ("x" * (MAX_ENTRY_PATH + 1), f"is longer than {MAX_ENTRY_PATH} bytes"),
        ("a//b", "has an empty, '.' or '..' segment"),
        ("a/", "has an empty, '.' or '..' segment"),
        (".", "has an empty, '.' or '..' segment"),
        ("..", "has an empty, '.' or '..' segment"),
        ("./a", "has an empty, '.' or '..' segment"),
        ("a/./b", "has an empty, '.' or '..' segment"),
        ("a/../../b", "has an empty, '.' or '..' segment"),
        ("a/..", "has an empty, '.' or '..' segment"),
        ("a\x1b[2Jb", "contains a control character (U+001B)"),
        ("a\x01", "contains a control character (U+0001)"),
        ("a\x1f", "contains a control character (U+001F)"),
        ("a\x7f", "contains a control character (U+007F)"),
        ("a\x85", "contains a control character (U+0085)"),
        ("a\x9f", "contains a control character (U+009F)"),
        ("a\n", "contains a control character (U+000A)"),
        ("evil\u202etxt.exe", "contains a control character (U+202E)"),
        ("a\u2028b", "contains a control character (U+2028)"),
        ("a\u061c", "contains a control character (U+061C)"),
        ("a\u2066", "contains a control character (U+2066)"),
        ("a\ud800", "is not valid UTF-8"),
        ("a\udfff", "is not valid UTF-8"),
        ("e\u0301", "is not in Unicode NFC form"),
        ("a\\..\\b", "contains a backslash (use '/')"),
        ("/a\x00", "contains a NUL byte"),
    ],
)
def test_validate_entry_path_refuses_with_the_reason(value, problem):
    assert refused(validate_entry_path, value) == (
        f"invalid file name {value!r} in artifact: it {problem}"
    )


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("x" * (MAX_SEGMENT + 1), "x" * 256),
        ("a/" + "x" * (MAX_SEGMENT + 1) + "/b", "x" * 256),
        ("é" * 128, "é" * 128),  # 256 bytes in 128 characters
        ("ok/" + "é" * 128 + "/" + "y" * 300, "é" * 128),  # the first one is named
    ],
)
def test_validate_entry_path_refuses_a_file_name_over_255_bytes(value, segment):
    size = len(segment.encode())
    assert refused(validate_entry_path, value) == (
        f"invalid file name {value!r} in artifact: its segment {segment!r} is {size} bytes, "
        f"over the {MAX_SEGMENT} a file name may have"
    )


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        (".git/config", ".git"),
        (".git", ".git"),
        ("a/.GIT/hooks/pre-commit", ".GIT"),
        (".Git./x", ".Git."),  # Windows drops trailing dots and blanks
        (".git /x", ".git "),
        ("git~1/config", "git~1"),  # the NTFS short name of .git
        ("GIT~1", "GIT~1"),
        (".hg/hgrc", ".hg"),
        ("a/.svn", ".svn"),
        (".g\u200cit/config", ".g\u200cit"),  # HFS+ ignores the zero-width joiner
        ("\ufeff.git/x", "\ufeff.git"),
    ],
)
def test_validate_entry_path_refuses_a_version_control_folder(value, segment):
    assert vcs_segment(value) == segment
    assert refused(validate_entry_path, value) == (
        f"invalid file name {value!r} in artifact: {segment!r} is reserved for version "
        "control (a download there could make git run commands)"
    )


@pytest.mark.parametrize(
    "value",
    [
        ".gitignore",
        ".github/workflows/x.yml",
        "a.git/x",
        "git/x",
        "x.git",
        "git~2",
        ".gits",
        "é.git/x",
        "é/.GİT/x",  # git takes only an ASCII I for the i of .git
    ],
)
def test_validate_entry_path_accepts_names_that_only_look_like_git(value):
    assert vcs_segment(value) is None
    assert validate_entry_path(value) == value


@pytest.mark.parametrize("value", ["", None, 7])
def test_validate_entry_path_refuses_an_empty_name(value):
    assert refused(validate_entry_path, value) == f"invalid file name {value!r} in artifact: empty"


# -- artifact paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("clf", ArtifactPath(None, None, "clf")),
        ("clf:best", ArtifactPath(None, None, "clf", "best")),
        ("clf:v0", ArtifactPath(None, None, "clf", None, 0)),
        ("clf:latest", ArtifactPath(None, None, "clf", "latest")),
        ("p/clf:v3", ArtifactPath(None, "p", "clf", None, 3)),
        ("p/clf:best", ArtifactPath(None, "p", "clf", "best")),
        ("e/p/clf:v7", ArtifactPath("e", "p", "clf", None, 7)),
        ("e/p/clf:best", ArtifactPath("e", "p", "clf", "best")),
        (
            "model-registry/prod/clf:production",
            ArtifactPath(None, REGISTRY_PROJECT, "clf", "production", None, "prod"),
        ),
        ("model-registry/prod", ArtifactPath(None, REGISTRY_PROJECT, "", None, None, "prod")),
        (
            "team/model-registry/prod/clf:v2",
            ArtifactPath("team", REGISTRY_PROJECT, "clf", None, 2, "prod"),
        ),
        # The reserved project alone is a plain name.
        ("model-registry", ArtifactPath(None, None, "model-registry")),
    ],
)
def test_parse_artifact_path(text, parsed):
    assert parse_artifact_path(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid artifact path ''"),
        ("clf:", "invalid artifact path 'clf:': nothing after ':'"),
        (
            "a/b/c/d",
            "invalid artifact path 'a/b/c/d': expected [[entity/]project/]name[:alias|:vN]",
        ),
        (
            "x/model-registry",
            "invalid artifact path 'x/model-registry': expected "
            "'model-registry/<registry>/<collection>:<alias>'",
        ),
        (
            "model-registry/a/b/c",
            "invalid artifact path 'model-registry/a/b/c': expected "
            "'model-registry/<registry>/<collection>:<alias>'",
        ),
        (
            "a/b/model-registry/c",
            "invalid artifact path 'a/b/model-registry/c': expected "
            "[[entity/]project/]name[:alias|:vN]",
        ),
        (":x", f"invalid artifact path ':x': invalid artifact name '': {RULE}"),
        ("-p/clf", f"invalid artifact path '-p/clf': invalid project '-p': {RULE}"),
        ("p/-c", f"invalid artifact path 'p/-c': invalid artifact name '-c': {RULE}"),
        ("-e/p/c", f"invalid artifact path '-e/p/c': invalid entity '-e': {RULE}"),
        ("e/-p/c", f"invalid artifact path 'e/-p/c': invalid project '-p': {RULE}"),
        ("e/p/-c", f"invalid artifact path 'e/p/-c': invalid artifact name '-c': {RULE}"),
        (
            "-t/model-registry/prod/c",
            f"invalid artifact path '-t/model-registry/prod/c': invalid entity '-t': {RULE}",
        ),
        (
            "model-registry/-r/c",
            f"invalid artifact path 'model-registry/-r/c': invalid registry name '-r': {RULE}",
        ),
        (
            "model-registry/r/-c",
            f"invalid artifact path 'model-registry/r/-c': invalid collection name '-c': {RULE}",
        ),
        ("clf:v01", "invalid alias 'v01': 'v<digits>' names a version, it cannot be an alias"),
        ("clf:a:b", f"invalid alias 'a:b': {RULE}"),
    ],
)
def test_parse_artifact_path_refuses(text, message):
    assert refused(parse_artifact_path, text) == message


@pytest.mark.parametrize("text", [None, 3])
def test_parse_artifact_path_refuses_what_is_not_text(text):
    assert refused(parse_artifact_path, text) == f"invalid artifact path {text!r}"


@pytest.mark.parametrize(
    ("path", "selector", "text"),
    [
        (ArtifactPath(None, None, "clf"), LATEST, "clf:latest"),
        (ArtifactPath(None, None, "clf", "best"), "best", "clf:best"),
        (ArtifactPath(None, None, "clf", None, 0), "v0", "clf:v0"),
        (ArtifactPath(None, "p", "clf", None, 12), "v12", "p/clf:v12"),
        (ArtifactPath("e", "p", "clf", "best"), "best", "e/p/clf:best"),
        (
            ArtifactPath(None, REGISTRY_PROJECT, "clf", "prod", None, "r"),
            "prod",
            "model-registry/r/clf:prod",
        ),
        (
            ArtifactPath("t", REGISTRY_PROJECT, "clf", None, 1, "r"),
            "v1",
            "t/model-registry/r/clf:v1",
        ),
        (
            ArtifactPath(None, REGISTRY_PROJECT, "", None, None, "r"),
            LATEST,
            "model-registry/r:latest",
        ),
    ],
)
def test_an_artifact_path_prints_as_it_parses(path, selector, text):
    assert path.selector == selector
    assert str(path) == text
    # Printed and parsed again, it names the same place (an implicit latest is explicit).
    again = parse_artifact_path(text)
    assert (again.entity, again.name, again.registry, again.selector) == (
        path.entity,
        path.name,
        path.registry,
        selector,
    )


# -- link targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "default", "parsed"),
    [
        ("model-registry/prod", "clf", ("prod", "clf")),
        ("model-registry/prod/other", "clf", ("prod", "other")),
        ("/model-registry/prod/", "clf", ("prod", "clf")),
        ("model-registry/XprodX", "clfX", ("XprodX", "clfX")),  # only slashes are trimmed
    ],
)
def test_parse_link_target(target, default, parsed):
    assert parse_link_target(target, default) == parsed


@pytest.mark.parametrize(
    "target",
    ["prod", "registry/prod", "model-registry", "model-registry/a/b/c", "x/model-registry/a"],
)
def test_parse_link_target_refuses_another_shape(target):
    with pytest.raises(UsageError) as caught:
        parse_link_target(target, "clf")
    assert str(caught.value) == (
        f"link target {target!r}: expected 'model-registry/<registry>' or "
        "'model-registry/<registry>/<collection>'"
    )


def test_parse_link_target_refuses_bad_names():
    assert refused(parse_link_target, "model-registry/-r", "clf") == (
        f"invalid registry name '-r': {RULE}"
    )
    assert refused(parse_link_target, "model-registry/r/-c", "clf") == (
        f"invalid collection name '-c': {RULE}"
    )
    assert refused(parse_link_target, "model-registry/r", "-c") == (
        f"invalid collection name '-c': {RULE}"
    )


# -- one place on a case-insensitive file system ---------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Model", "model"),
        ("MODEL", "model"),
        ("ＭＯＤＥＬ", "model"),  # fullwidth letters, folded by NFKC
        ("Straße", "STRASSE"),  # casefold, not lower: ß is ss
        ("ﬁle", "FILE"),  # a ligature
        ("é", "e\u0301"),  # composed and decomposed
        ("É", "e\u0301"),
    ],
)
def test_fold_sees_one_place(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("a", "b"), [("model", "models"), ("a-b", "a_b"), ("é", "e"), ("v1", "vl")]
)
def test_fold_keeps_different_names_apart(a, b):
    assert fold(a) != fold(b)


def test_fold_is_lower_case_and_composed():
    assert fold("Straße") == "strasse"
    assert fold("ＭＯＤＥＬ") == "model"
    assert fold("E\u0301") == "é"


# -- one-line fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "offline eval passed", "naïve ≥ 0.9 \xa0 tabs\u200b"])
def test_validate_line_accepts_one_line(value):
    assert validate_line(value, field="$.reason") == value


@pytest.mark.parametrize(
    "value",
    ["a\nb", "a\rb", "\tindent", "a\x00", "a\x1f", "a\x7f", "a\x85", "a\x9f", "a\u2028", "a\u2029"],
)
def test_validate_line_refuses_a_break_or_a_control_character(value):
    with pytest.raises(UsageError) as caught:
        validate_line(value, field="$.description")
    assert str(caught.value) == ("$.description: may not contain a line break or control character")
    assert caught.value.field == "$.description"
