"""CODEOWNERS read as GitHub reads it: each pattern rule at its boundaries, the last
matching line winning, owner-less lines un-owning, skipped lines; the paths a registry's
CODEOWNERS must cover, and the lines added for those it does not."""

from __future__ import annotations

import pytest

from registry_tool._model import layout
from registry_tool._model.codeowners import (
    CodeOwners,
    Rule,
    check_owner,
    extend,
    parse,
    render,
    required_paths,
    uncovered,
    with_paths,
)
from registry_tool._model.governance import ModelRegistryConfig
from registry_tool._model.records import RegistryConfig, StorageConfig
from registry_tool.errors import UsageError

ROOT = RegistryConfig(name="team", storage=StorageConfig(url=".blobs"), created_at="2024-01-01T00:00:00Z")
PROD = ModelRegistryConfig(
    name="prod",
    created_at="2024-01-01T00:00:00Z",
    stages=("staging", "production"),
    protected=("production",),
)
REQUIRED = required_paths(ROOT, [PROD])


def owned(pattern: str, path: str) -> bool:
    return parse(f"{pattern} @o/t\n").owners_of(path) == ("@o/t",)


# (pattern, path, matches): each rule just inside and just outside its boundary.
MATCHES = [
    # a leading / anchors at the root; one segment without it matches at any depth
    ("/registry.yaml", "registry.yaml", True),
    ("/registry.yaml", "registries/prod/registry.yaml", False),
    ("registry.yaml", "registries/prod/registry.yaml", True),
    ("/registry.yaml", "registry.yaml.bak", False),
    ("/registry.yaml", "registry.yam", False),
    # a slash inside the pattern anchors it too; a file pattern also owns what is below
    ("registries/prod", "registries/prod/clf/links/v1.yaml", True),
    ("registries/prod", "x/registries/prod", False),
    ("registries/prod", "registries/production", False),
    # * never crosses a /; a lone * needs at least one character, * in a name none
    ("/registries/*/registry.yaml", "registries/prod/registry.yaml", True),
    ("/registries/*/registry.yaml", "registries/a/b/registry.yaml", False),
    ("/registries/p*/registry.yaml", "registries/p/registry.yaml", True),
    ("/registries/p*/registry.yaml", "registries/q/registry.yaml", False),
    ("/registries/p*/registry.yaml", "registries/pa/b/registry.yaml", False),
    ("/docs/*", "docs/a.md", True),
    ("/docs/*", "docs/sub/a.md", False),
    ("/d*", "docs/sub/a.md", True),
    ("*", "registries/prod/clf/aliases/production.yaml", True),
    ("*.yaml", "registries/prod/registry.yaml", True),
    ("*.yaml", "registries/prod/registry.yml", False),
    # ** spans any number of folders, none included
    ("/registries/**/production.yaml", "registries/production.yaml", True),
    ("/registries/**/production.yaml", "registries/prod/clf/aliases/production.yaml", True),
    ("/registries/**/production.yaml", "registries/prod/clf/aliases/production.yml", False),
    ("**/aliases", "registries/prod/clf/aliases/production.yaml", True),
    ("/a/**", "a", False),
    ("/a/**", "a/b/c", True),
    # a trailing / owns everything below a folder, never a file of that name
    ("/.github/", ".github/workflows/registry-check.yml", True),
    ("/.github/", ".github", False),
    ("/.github/", "x/.github/CODEOWNERS", False),
    (".github/", "x/.github/CODEOWNERS", True),
    ("/.github", ".github/workflows/registry-check.yml", True),
    # ? is one character, never a /
    ("/v?.yaml", "v1.yaml", True),
    ("/v?.yaml", "v10.yaml", False),
    ("/v?.yaml", "v.yaml", False),
    ("/a?b", "a/b", False),
    # escapes make a wildcard literal; paths are case-sensitive
    ("/a\\*b", "a*b", True),
    ("/a\\*b", "axb", False),
    ("/a\\ b", "a b", True),
    ("/README.md", "readme.md", False),
    # a lone / names nothing
    ("/", "registry.yaml", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), MATCHES)
def test_patterns_match_as_github_matches_them(pattern, path, expected):
    assert owned(pattern, path) is expected


def test_the_last_matching_line_wins():
    text = "/registries/ @a/wide\n/registries/prod/ @b/narrow\n"
    assert parse(text).owners_of("registries/prod/registry.yaml") == ("@b/narrow",)
    assert parse(text).owners_of("registries/dev/registry.yaml") == ("@a/wide",)
    flipped = "/registries/prod/ @b/narrow\n/registries/ @a/wide\n"
    assert parse(flipped).owners_of("registries/prod/registry.yaml") == ("@a/wide",)


def test_a_line_without_owners_unowns_what_it_matches():
    text = "/registries/ @a/wide\n/registries/prod/\n"
    assert parse(text).owners_of("registries/prod/registry.yaml") == ()
    assert parse(text).owners_of("registries/dev/registry.yaml") == ("@a/wide",)
    assert parse(text).owners_of("README.md") == ()


def test_comments_and_escaped_hashes():
    text = "# /registries/ @a/x\n\n   # indented comment\n/registries/ @b/y c@example.com # why\n/a\\#b @d/z\n"
    found = parse(text)
    assert found.errors == ()
    assert [r.pattern for r in found.rules] == ["/registries/", "/a\\#b"]
    assert found.owners_of("registries/prod/registry.yaml") == ("@b/y", "c@example.com")
    assert found.owners_of("a#b") == ("@d/z",)
    assert found.owners_of("a") == ()
    # an unescaped # ends the pattern there: this line un-owns /registries/
    assert parse(text + "/registries/#@b/y\n").owners_of("registries/x") == ()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("\\#a @o/t", "escaped #"),
        ("!/registries/ @o/t", "!"),
        ("/registries/[ab]/ @o/t", "[ ]"),
        ("/a/***/b @o/t", "***"),
        ("/registries/ @o/t bad!", "bad!"),
        ("/registries/ org/team", "org/team"),
    ],
)
def test_lines_github_cannot_read_are_skipped_and_reported(line, why):
    found = parse(f"/x @o/t\n{line}\n")
    assert [r.pattern for r in found.rules] == ["/x"]
    (error,) = found.errors
    assert error.startswith("line 2: ") and why in error


@pytest.mark.parametrize("owner", ["@org/team", "@my-org/model_approvers", "@user", "@a", "ml.team+x@example.co.uk"])
def test_owner_forms_accepted(owner):
    assert check_owner(owner) == owner


@pytest.mark.parametrize(
    "owner",
    ["org/team", "@org/", "@/team", "@", "@org/team/sub", "user", "@a b", "", "@org/team\n", "@-user", "a@b", "@org/te am"],
)
def test_owner_forms_refused_with_the_value_named(owner):
    with pytest.raises(UsageError, match="is not @org/team, @user or an email") as info:
        check_owner(owner)
    assert repr(owner) in str(info.value)


def test_required_paths_name_what_governs_the_registry():
    assert REQUIRED == [
        "/registry.yaml",
        "/registries/*/registry.yaml",
        "/registries/prod/*/aliases/production.yaml",
        "/registries/prod/*/links/*",
        "/registries/prod/*/unlinked/*",
        "/site_templates/",
        "/mkdocs.yml",
        "/.github/",
    ]
    # each pattern stands for the layout's real paths, and an unprotected stage is free
    rules = parse(render(Rule(p, ("@o/t",)) for p in REQUIRED))
    for path in (
        layout.REGISTRY_FILE,
        layout.model_registry_file("new"),
        layout.registry_alias_file("prod", "clf", "production"),
        layout.link_file("prod", "clf", 3),
        layout.unlink_file("prod", "clf", 3),
        "site_templates/version.md.j2",
        "mkdocs.yml",
        ".github/workflows/registry-check.yml",
        ".github/CODEOWNERS",
    ):
        assert rules.owners_of(path) == ("@o/t",), path
    for path in (
        layout.registry_alias_file("prod", "clf", "staging"),
        layout.registry_alias_file("dev", "clf", "production"),
        layout.version_file("p", "data", 1),
    ):
        assert rules.owners_of(path) == (), path


def test_required_paths_of_several_registries():
    dev = ModelRegistryConfig(name="dev", created_at="2024-01-01T00:00:00Z", protected=("a", "b"))
    paths = required_paths(ROOT, [PROD, dev])
    assert "/registries/dev/*/aliases/a.yaml" in paths
    assert "/registries/dev/*/aliases/b.yaml" in paths
    assert "/registries/dev/*/links/*" in paths
    assert len(paths) == len(set(paths))


def test_a_file_with_every_required_line_covers_them_all():
    text = with_paths("", REQUIRED, ["@o/t"])
    assert uncovered(text, REQUIRED) == []
    assert uncovered("* @o/t\n", REQUIRED) == []
    assert uncovered("/registr* @o/t\n/site_templates @o/t\n/mkdocs.yml @o/t\n/.github @o/t\n", REQUIRED) == []


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", REQUIRED),
        ("/ @o/t\n", REQUIRED),
        ("# * @o/t\n", REQUIRED),
        ("* @o/t bad!\n", REQUIRED),
        # one * per folder: this one skips the collection's folder
        ("* @o/t\n/registries/\n/registries/*/aliases/production.yaml @o/t\n", REQUIRED[1:5]),
        # a folder's direct files only: .github/workflows/ is left out
        ("* @o/t\n/.github/\n/.github/* @o/t\n", ["/.github/"]),
        # one collection un-owned, by name, by ? and by **
        ("* @o/t\n/registries/prod/classifier/\n", REQUIRED[2:5]),
        ("* @o/t\n/registries/prod/?/\n", REQUIRED[2:5]),
        # any folder named aliases: a model registry, collection or template folder too
        ("* @o/t\n**/aliases/\n", [p for p in REQUIRED if p not in ("/registry.yaml", "/mkdocs.yml")]),
        ("* @o/t\n/registries/*/*/aliases/\n", ["/registries/prod/*/aliases/production.yaml"]),
        ("* @o/t\n*.yaml\n", [p for p in REQUIRED if p != "/mkdocs.yml"]),
        # un-owned, then owned again for the stage only
        (
            "* @o/t\n/registries/prod/\n/registries/prod/*/aliases/production.yaml @o/t\n",
            [REQUIRED[1], *REQUIRED[3:5]],
        ),
        # a root file only, a folder of that name elsewhere, a different case
        ("* @o/t\n/mkdocs.yml\n", ["/mkdocs.yml"]),
        ("* @o/t\n/Registry.yaml\n", []),
        ("* @o/t\nsite_templates/x/\n", ["/site_templates/"]),
    ],
)
def test_uncovered_names_each_required_path_some_file_of_which_has_no_owner(text, missing):
    assert uncovered(text, REQUIRED) == list(missing)


def test_with_paths_keeps_the_files_own_lines_and_adds_only_what_is_missing():
    own = "# ours\n/docs/ @acme/writers\n/registries/ @acme/ml\n/registries/prod/clf/ # an exception"
    text = with_paths(own, REQUIRED, ["@acme/ml", "lead@example.com"])
    assert text.startswith(own + "\n")
    added = text[len(own) + 1 :].splitlines()
    assert added == [
        "/registry.yaml @acme/ml lead@example.com",
        "/registries/prod/*/aliases/production.yaml @acme/ml lead@example.com",
        "/registries/prod/*/links/* @acme/ml lead@example.com",
        "/registries/prod/*/unlinked/* @acme/ml lead@example.com",
        "/site_templates/ @acme/ml lead@example.com",
        "/mkdocs.yml @acme/ml lead@example.com",
        "/.github/ @acme/ml lead@example.com",
    ]
    assert uncovered(text, REQUIRED) == []
    assert with_paths(text, REQUIRED, ["@other/team"]) == text


def test_with_paths_refuses_bad_or_no_owners():
    for owners in ([], ["acme/ml"], ["@acme/ml", "nobody"]):
        with pytest.raises(UsageError):
            with_paths("", REQUIRED, owners)
    assert with_paths("* @o/t\n", REQUIRED, []) == "* @o/t\n"


def test_render_escapes_what_would_end_a_pattern():
    text = render([Rule("/a b/c#d/", ("@o/t",))])
    assert text == "/a\\ b/c\\#d/ @o/t\n"
    assert parse(text).owners_of("a b/c#d/e") == ("@o/t",)
    with pytest.raises(ValueError, match="line break"):
        render([Rule("/a\nb", ("@o/t",))])


def test_extend_takes_the_owners_of_the_root_config():
    text = "/registry.yaml @acme/ml\n/.github/ @acme/ml\n"
    out = extend(text, REQUIRED)
    assert out.startswith(text)
    assert "/registries/prod/*/aliases/production.yaml @acme/ml\n" in out
    assert uncovered(out, REQUIRED) == []
    # nobody to name: the file stays as it is, and check reports what it leaves out
    assert extend("/docs/ @acme/writers\n", REQUIRED) == "/docs/ @acme/writers\n"


def test_codeowners_is_a_value():
    assert parse("/a @o/t\n") == CodeOwners(rules=(Rule("/a", ("@o/t",), line=1),), errors=())
