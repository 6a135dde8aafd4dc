"""The rules ``check`` applies to a whole tree (``_checks/tree.py``) and to a change
(``_checks/diff.py``), and what writing a model registry keeps (``_promotion/links.py``),
each at its boundaries: the committed git objects a whole-tree check reads (a commit, a
folder or a file missing, corrupt or of another kind), CODEOWNERS and the site's own
files in a tree and in a change, what a change brings (blobs in storage, a file turned
folder), CODEOWNERS kept whole when a registry is created, and a stage moved only to a
live link of a live source. Each test runs on a real registry repo and asserts whole
problem lists or whole messages, so a rule that goes quiet, speaks of another file or
says another thing is noticed."""

from __future__ import annotations

import os
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml

from registry_tool import _promotion as promotion
from registry_tool._checks import tree
from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._model.governance import LinkRecord
from registry_tool._model.records import VersionRecord
from registry_tool._store import Change, registries
from registry_tool.errors import ArtifactError, NotFoundError
from tests import test_check_rules as base
from tests import test_promotion_rules as flow
from tests.helpers import GIT_ENV, git, git_log, write
from tests.test_check_rules import CLF, NOT_REGULAR, V0, V1, alias, diff, on_branch

# The registry of tests/test_check_rules.py, built once and copied for each test.
template = base.template
reg = base.reg

BROKEN = "every reader fails on it (fetch it again from a clone that has it)"


def loose(root: Path, sha: str) -> Path:
    """The loose object file of ``sha``, made writable (registry writes leave objects
    loose)."""
    path = root / ".git" / "objects" / sha[:2] / sha[2:]
    assert path.is_file(), f"{sha} is not a loose object"
    path.chmod(0o644)
    return path


def swap_object(root: Path, sha: str, kind: str, data: bytes) -> None:
    """Put a well-formed object of other bytes under ``sha``: git reads it without a
    word, and only hashing it shows it is not what its id says."""
    loose(root, sha).write_bytes(zlib.compress(f"{kind} {len(data)}\0".encode() + data))


# -- the committed objects a whole-tree check reads ---------------------------------------


def test_a_head_commit_whose_bytes_are_not_its_id_is_one_problem_at_the_root(reg):
    head = git(reg.root, "rev-parse", "HEAD")
    original = git(reg.root, "cat-file", "commit", head).encode() + b"\n"
    swap_object(reg.root, head, "commit", original.replace(b"Test Author", b"Test Autho2"))
    assert tree.committed_objects(reg.git, head) == [
        Problem(".", "$", f"git object {head} of HEAD's commit is corrupt: {BROKEN}")
    ]


def test_a_head_commit_that_is_missing_says_so(reg):
    head = git(reg.root, "rev-parse", "HEAD")
    loose(reg.root, head).unlink()
    assert tree.committed_objects(reg.git, head) == [
        Problem(".", "$", f"git object {head} of HEAD's commit is missing: {BROKEN}")
    ]


def test_an_intact_object_that_is_not_a_commit_is_no_head_commit(reg):
    root_tree = git(reg.root, "rev-parse", "HEAD^{tree}")
    assert tree.committed_objects(reg.git, root_tree) == [
        Problem(".", "$", f"git object {root_tree} of HEAD's commit is corrupt: {BROKEN}")
    ]


def put_object(root: Path, kind: str, data: bytes) -> str:
    """Write an object of any bytes as git stores it (``--literally``: no checks)."""
    proc = subprocess.run(
        ["git", "-C", str(root), "hash-object", "-w", "--literally", "-t", kind, "--stdin"],
        input=data,
        capture_output=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return proc.stdout.decode().strip()


def test_a_head_commit_whose_tree_line_is_not_text_names_a_missing_folder(reg):
    commit = put_object(reg.root, "commit", b"tree \xff\xfe\n\nby hand\n")
    assert tree.committed_objects(reg.git, commit) == [
        Problem(".", "$", f"git object \ufffd\ufffd of the committed folder is missing: {BROKEN}")
    ]


def test_a_missing_root_tree_is_one_problem_at_the_root(reg):
    head = git(reg.root, "rev-parse", "HEAD")
    root_tree = git(reg.root, "rev-parse", "HEAD^{tree}")
    loose(reg.root, root_tree).unlink()
    assert tree.committed_objects(reg.git, head) == [
        Problem(".", "$", f"git object {root_tree} of the committed folder is missing: {BROKEN}")
    ]


def test_a_broken_folder_is_reported_once_and_nothing_below_it_is_read(reg):
    aliases = f"{CLF}/aliases"
    sha = git(reg.root, "rev-parse", f"HEAD:{aliases}")
    loose(reg.root, git(reg.root, "rev-parse", f"HEAD:{aliases}/latest.yaml")).unlink()
    swap_object(reg.root, sha, "tree", b"")  # a well-formed tree of other bytes
    head = git(reg.root, "rev-parse", "HEAD")
    assert tree.committed_objects(reg.git, head) == [
        Problem(aliases, "$", f"git object {sha} of the committed folder is corrupt: {BROKEN}")
    ]


def test_a_folder_entry_that_names_an_intact_file_is_a_broken_folder(reg):
    blob = put_object(reg.root, "blob", b"not a folder\n")
    root_tree = put_object(reg.root, "tree", b"40000 projects\0" + bytes.fromhex(blob))
    commit = git(reg.root, "commit-tree", root_tree, "-m", "by hand")
    assert tree.committed_objects(reg.git, commit) == [
        Problem("projects", "$", f"git object {blob} of the committed folder is corrupt: {BROKEN}")
    ]


def test_each_broken_registry_object_is_named_by_its_first_path_and_others_are_not_read(reg):
    odd = os.fsdecode(b"projects/caf\xe9.yaml")
    edits = {
        "README.md": "readme\n",
        "notes/a.txt": "a note\n",
        "projects/twin-a/f.yaml": "twin\n",
        "projects/twin-b/f.yaml": "twin\n",
        "projects/x/run.sh": "exec\n",
        odd: "not utf-8\n",
    }
    for path, text in edits.items():
        write(reg.root / path, text)
    (reg.root / "projects/x/run.sh").chmod(0o755)
    (reg.root / "projects/link.yaml").symlink_to("a link's target")
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "more files")
    head = git(reg.root, "rev-parse", "HEAD")

    shas = {p: git(reg.root, "rev-parse", f"HEAD:{p}") for p in edits if p != odd}
    shas[odd] = next(
        line.split()[2]
        for line in git(reg.root, "ls-tree", "HEAD", "projects/").splitlines()
        if line.endswith('"projects/caf\\351.yaml"')
    )
    for path in ("README.md", "notes", "projects/twin-a", "projects/link.yaml", "registry.yaml"):
        shas[path] = git(reg.root, "rev-parse", f"HEAD:{path}")
    for path in ("README.md", "notes", "projects/twin-a", "projects/x/run.sh", "registry.yaml"):
        loose(reg.root, shas[path]).unlink()
    loose(reg.root, shas[odd]).unlink()
    loose(reg.root, shas["projects/link.yaml"]).unlink()
    missing = "is missing: " + BROKEN
    assert tree.committed_objects(reg.git, head) == [
        Problem(odd, "$", f"git object {shas[odd]} of the committed file {missing}"),
        Problem(
            "projects/twin-a",
            "$",
            f"git object {shas['projects/twin-a']} of the committed folder {missing}",
        ),
        Problem(
            "projects/x/run.sh",
            "$",
            f"git object {shas['projects/x/run.sh']} of the committed file {missing}",
        ),
        Problem(
            "registry.yaml",
            "$",
            f"git object {shas['registry.yaml']} of the committed file {missing}",
        ),
    ]


# -- CODEOWNERS and the site's settings, in a whole tree ---------------------------------

BASE_PATTERNS = ["/registry.yaml", "/registries/*/registry.yaml", "/site_templates/"]
BASE_PATTERNS += ["/mkdocs.yml", "/.github/"]
MODELS_PATTERNS = [
    "/registries/models/*/aliases/production.yaml",
    "/registries/models/*/links/*",
    "/registries/models/*/unlinked/*",
]


def owners_text(patterns: list[str]) -> str:
    return "".join(f"{pattern} @acme/ml\n" for pattern in patterns)


def unowned(location: str, pattern: str) -> Problem:
    return Problem(
        location,
        "$",
        f"{pattern} has no owner here: a change to it would merge without the review "
        "CODEOWNERS requires",
    )


def test_a_tree_set_up_for_github_has_each_protected_stage_owned(reg):
    write(reg.root / ".github/CODEOWNERS", owners_text(BASE_PATTERNS))
    assert base.tree(reg) == [unowned(".github/CODEOWNERS", p) for p in MODELS_PATTERNS]
    write(reg.root / ".github/CODEOWNERS", owners_text(BASE_PATTERNS + MODELS_PATTERNS))
    assert base.tree(reg) == []


def test_a_tree_reads_codeowners_where_github_does_and_never_through_a_link(reg, tmp_path):
    (reg.root / ".github").mkdir()
    write(reg.root / "CODEOWNERS", owners_text(BASE_PATTERNS + MODELS_PATTERNS))
    assert base.tree(reg) == []
    (reg.root / "CODEOWNERS").unlink()
    full = write(tmp_path / "CODEOWNERS", owners_text(BASE_PATTERNS + MODELS_PATTERNS))
    (reg.root / ".github/CODEOWNERS").symlink_to(full)
    assert base.tree(reg) == [
        Problem(
            ".github/CODEOWNERS",
            "$",
            "missing: the registry is set up for GitHub (.github/), so CODEOWNERS must name "
            "the owners of what governs it (registry-tool init --github --owners @org/team "
            "writes it)",
        )
    ]


def test_a_tree_without_github_needs_no_codeowners(reg):
    write(reg.root / "CODEOWNERS", owners_text(["/registry.yaml"]))
    assert base.tree(reg) == []


def test_a_tree_judges_its_own_mkdocs_yml_and_links_among_its_templates(reg, tmp_path):
    write(reg.root / "mkdocs.yml", "site_name: ours\nhooks:\n  - h.py\n")
    (reg.root / "site_templates").mkdir()
    (reg.root / "site_templates/page.md.j2").symlink_to(write(tmp_path / "t.j2", "x"))
    assert base.tree(reg) == [
        Problem("site_templates/page.md.j2", "$", NOT_REGULAR),
        Problem(
            "mkdocs.yml",
            "$.hooks",
            "not allowed: hooks are Python files mkdocs imports; a registry's mkdocs.yml "
            "may not add any",
        ),
    ]
    write(reg.root / "mkdocs.yml", "site_name: ours\n")
    (reg.root / "site_templates/page.md.j2").unlink()
    assert base.tree(reg) == []


# -- the site's own files in a change ------------------------------------------------------


def test_a_change_that_takes_mkdocs_yml_away_is_fine(reg):
    base.committed_on_main(reg.root, {"mkdocs.yml": "site_name: ours\n"})
    on_branch(reg.root, {"mkdocs.yml": None})
    assert diff(reg) == []


def test_a_change_whose_mkdocs_yml_is_no_mapping_is_refused(reg):
    on_branch(reg.root, {"mkdocs.yml": "- site_name\n"})
    assert diff(reg) == [Problem("mkdocs.yml", "$", "must be a mapping of mkdocs settings")]
    on_branch(reg.root, {"mkdocs.yml": ""})
    assert diff(reg) == [Problem("mkdocs.yml", "$", "must be a mapping of mkdocs settings")]


# -- CODEOWNERS in a change ---------------------------------------------------------------


def test_a_change_to_codeowners_leaves_each_protected_stage_owned(reg):
    full = owners_text(BASE_PATTERNS + MODELS_PATTERNS)
    base.committed_on_main(reg.root, {".github/CODEOWNERS": full})
    on_branch(reg.root, {".github/CODEOWNERS": owners_text(BASE_PATTERNS)})
    assert diff(reg) == [unowned(".github/CODEOWNERS", p) for p in MODELS_PATTERNS]
    on_branch(reg.root, {".github/CODEOWNERS": full + "# reviewed\n"})
    assert diff(reg) == []


def test_a_change_to_codeowners_at_the_root_is_judged_too(reg):
    full = owners_text(BASE_PATTERNS + MODELS_PATTERNS)
    base.committed_on_main(reg.root, {".github/workflows/ci.yml": "on: push\n", "CODEOWNERS": full})
    on_branch(reg.root, {"CODEOWNERS": owners_text(BASE_PATTERNS)})
    assert diff(reg) == [unowned("CODEOWNERS", p) for p in MODELS_PATTERNS]


def test_a_linked_codeowners_in_a_change_is_read_as_none(reg):
    full = owners_text(BASE_PATTERNS + MODELS_PATTERNS)
    base.committed_on_main(reg.root, {".github/CODEOWNERS": full, "owners.txt": full})
    git(reg.root, "checkout", "--quiet", "-B", "change", "main")
    (reg.root / ".github/CODEOWNERS").unlink()
    (reg.root / ".github/CODEOWNERS").symlink_to("../owners.txt")
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "a linked CODEOWNERS")
    git(reg.root, "checkout", "--quiet", "main")
    assert diff(reg) == [
        Problem(
            ".github/CODEOWNERS",
            "$",
            "missing: the registry is set up for GitHub (.github/), so CODEOWNERS must name "
            "the owners of what governs it (registry-tool init --github --owners @org/team "
            "writes it)",
        )
    ]


def test_only_a_change_to_what_governs_the_registry_has_codeowners_judged(reg):
    # CODEOWNERS committed by hand on main, leaving the protected stage unowned.
    base.committed_on_main(reg.root, {".github/CODEOWNERS": owners_text(BASE_PATTERNS)})
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    assert diff(reg) == []
    on_branch(reg.root, {"notes/CODEOWNERS": "* @acme/ml\n"})
    assert diff(reg) == []
    expected = [unowned(".github/CODEOWNERS", p) for p in MODELS_PATTERNS]
    on_branch(reg.root, {".github/workflows/ci.yml": "on: push\n"})
    assert diff(reg) == expected
    config = base.config_with(reg.root, description="ours")
    on_branch(reg.root, {base.CONFIG: config})
    assert diff(reg) == expected


def test_a_registry_config_that_does_not_parse_leaves_the_others_judged(reg):
    full = owners_text(BASE_PATTERNS + MODELS_PATTERNS)
    base.committed_on_main(
        reg.root, {".github/CODEOWNERS": full, "registries/aaa/registry.yaml": "kind: [\n"}
    )
    on_branch(reg.root, {".github/CODEOWNERS": owners_text(BASE_PATTERNS)})
    assert diff(reg) == [unowned(".github/CODEOWNERS", p) for p in MODELS_PATTERNS]


# -- creating a registry keeps CODEOWNERS whole ---------------------------------------------


def test_creating_a_registry_adds_its_lines_to_codeowners_in_the_same_commit(registry):
    ctx = Context.open(registry.root)
    promotion.create_registry(ctx, "models", stages=["prod"], protected=["prod"])
    text = "# governance\n/registry.yaml @acme/ml\n"
    write(registry.root / ".github/CODEOWNERS", text)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "owners")
    promotion.create_registry(ctx, "vision", stages=["live"], protected=["live"])
    assert git_log(registry.root)[0] == "registry create vision"
    assert git(registry.root, "status", "--porcelain") == ""
    # Every registry's lines: the new one's, and those the file lacked for the other.
    assert (registry.root / ".github/CODEOWNERS").read_text() == text + "".join(
        f"{pattern} @acme/ml\n"
        for pattern in (
            "/registries/*/registry.yaml",
            "/registries/vision/*/aliases/live.yaml",
            "/registries/vision/*/links/*",
            "/registries/vision/*/unlinked/*",
            "/registries/models/*/aliases/prod.yaml",
            "/registries/models/*/links/*",
            "/registries/models/*/unlinked/*",
            "/site_templates/",
            "/mkdocs.yml",
            "/.github/",
        )
    )


def test_creating_a_registry_extends_the_codeowners_github_reads_first(registry):
    ctx = Context.open(registry.root)
    write(registry.root / "CODEOWNERS", "/registry.yaml @acme/ml\n")
    write(registry.root / "docs/CODEOWNERS", "/registry.yaml @acme/docs\n")
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "owners")
    promotion.create_registry(ctx, "models")
    assert (registry.root / "CODEOWNERS").read_text().splitlines()[1] == (
        "/registries/*/registry.yaml @acme/ml"
    )
    assert (registry.root / "docs/CODEOWNERS").read_text() == "/registry.yaml @acme/docs\n"


def test_creating_a_registry_leaves_a_codeowners_that_covers_it_as_it_is(registry):
    ctx = Context.open(registry.root)
    owners = b"* @acme/ml\n# caf\xe9\n"  # covers every path; not all of it UTF-8
    write(registry.root / ".github/CODEOWNERS", owners)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "owners")
    promotion.create_registry(ctx, "models", protected=["prod"])
    assert (registry.root / ".github/CODEOWNERS").read_bytes() == owners
    assert git(registry.root, "show", "--name-only", "--format=", "HEAD") == (
        "registries/models/registry.yaml"
    )


def test_creating_a_registry_reads_a_codeowners_that_is_not_utf8(registry):
    ctx = Context.open(registry.root)
    write(registry.root / ".github/CODEOWNERS", b"# caf\xe9\n/registry.yaml @acme/ml\n")
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "--quiet", "-m", "owners")
    promotion.create_registry(ctx, "models")
    lines = (registry.root / ".github/CODEOWNERS").read_text().splitlines()
    assert lines[1:3] == ["/registry.yaml @acme/ml", "/registries/*/registry.yaml @acme/ml"]


# -- linking: the source as it is on the tip, and latest ------------------------------------


def test_a_link_needs_its_source_to_have_the_digest_it_was_read_with(registry):
    ctx = flow.governed(registry.root)
    source = flow.log(registry.root, "w")
    stale = VersionRecord.from_doc({**source.to_doc(), "digest": "sha256:" + "0" * 64})
    before = flow.head_sha(registry.root)
    with pytest.raises(ArtifactError) as caught:
        promotion.link_version(ctx, stale, "model-registry/models")
    assert str(caught.value) == "training/clf:v0 no longer has the digest it was linked by"
    link = promotion.link_version(ctx, source, "model-registry/models")
    other = LinkRecord("models", "clf", 0, "training", "clf", 0, "1" * 64, link.linked_at)
    with pytest.raises(ArtifactError) as caught:
        promotion.set_aliases(ctx, other, add=["staging"])
    assert str(caught.value) == "training/clf:v0 no longer has the digest it was linked by"
    assert flow.head_sha(registry.root) != before  # only the link was written


def test_a_stage_comes_off_a_link_whose_source_was_deleted(registry):
    ctx = flow.governed(registry.root)
    link = promotion.link_version(ctx, flow.log(registry.root, "w"), "model-registry/models")
    promotion.set_aliases(ctx, link, add=["staging"])
    # Deleted from another clone, the stage still on it (delete would have dropped it).
    version = registry.root / "projects/training/clf/versions/v0.yaml"
    marked = {**yaml.safe_load(version.read_text()), "deleted": base.MARK}
    write(version, yaml.safe_dump(marked))
    git(registry.root, "commit", "--quiet", "-am", "deleted elsewhere")
    with pytest.raises(NotFoundError) as caught:
        promotion.set_aliases(ctx, link, add=["development"])
    assert caught.value.version == "training/clf:v0"
    promotion.set_aliases(ctx, link, remove=["staging"])
    assert git_log(registry.root)[0] == "alias model-registry/models/clf:v0 -staging"
    assert not flow.alias_file(registry.root, "staging").exists()


def test_latest_asked_for_by_name_moves_once(registry):
    ctx = flow.governed(registry.root)
    promotion.link_version(
        ctx, flow.log(registry.root, "w"), "model-registry/models", ["latest", "staging", "latest"]
    )
    assert git_log(registry.root)[0] == (
        "link training/clf:v0 -> model-registry/models/clf:v0 +latest +staging"
    )


# -- a whole tree: files that cannot be read ----------------------------------------------


def test_a_misnamed_version_that_cannot_be_read_counts_as_no_number(reg):
    write(reg.root / f"{CLF}/versions/v01.yaml", "kind: version\n")
    assert base.tree(reg) == [
        Problem(f"{CLF}/versions/v01.yaml", "$", "'project' is a required property")
    ]


# -- what a change brings: blobs, site files ---------------------------------------------


def test_an_added_version_names_blobs_that_storage_has_and_references_are_not_looked_for(reg):
    stored = base.doc(reg.root, V0)["entries"][0]
    gone = {"path": "extra.bin", "digest": "sha256:" + "a" * 64, "size": 3}
    ref = {"path": "far.csv", "digest": "sha256:" + "b" * 64, "size": 2, "ref": "s3://b/far.csv"}
    on_branch(reg.root, {V1: base.with_entries(reg.root, 1, [stored, gone, ref])})
    assert diff(reg) == []
    assert diff(reg, verify_blobs=True) == [
        Problem(V1, "$.entries", f"blob sha256:{'a' * 64} is not in storage with that digest")
    ]


def test_a_linked_site_templates_folder_in_a_change_is_refused(reg):
    git(reg.root, "checkout", "--quiet", "-B", "change", "main")
    (reg.root / "site_templates").symlink_to("/etc")
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "a linked folder")
    git(reg.root, "checkout", "--quiet", "main")
    assert diff(reg) == [Problem("site_templates", "$", NOT_REGULAR)]


def test_site_files_in_a_change_are_judged_with_every_other_file(reg):
    on_branch(
        reg.root,
        {
            "mkdocs.yml": "site_name: ours\n",
            f"{CLF}/aliases/best.yaml": alias("best", 7),
            "site_templates/page.md.j2": "# {{ title }}\n",
        },
    )
    assert diff(reg) == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v7, which does not exist"
        )
    ]


def test_a_version_file_replaced_by_a_folder_is_a_deleted_version(reg):
    on_branch(reg.root, {V0: None, f"{V0}/inner.yaml": "kind: version\n"})
    assert diff(reg) == [
        Problem(V0, "$", "versions are immutable: this file was deleted"),
        Problem(f"{V0}/inner.yaml", "$", "not a registry file (unexpected path)"),
    ]


def test_no_stage_moves_to_a_link_whose_source_is_deleted_though_one_may_come_off(registry):
    ctx = flow.governed(registry.root)
    source = flow.log(registry.root, "w")
    link = promotion.link_version(ctx, source, "model-registry/models")
    deleted = VersionRecord.from_doc({**source.to_doc(), "deleted": base.MARK})
    snap = ctx.store.head()
    config = registries.read_config(ctx.store, snap, "models")
    with pytest.raises(NotFoundError) as caught:
        promotion.stage_changes(
            ctx,
            snap,
            Change(),
            config,
            link,
            deleted,
            ["staging"],
            allow_protected=False,
            reason=None,
            run=None,
        )
    assert (str(caught.value), caught.value.version) == (
        f"training/clf:v0 was deleted on {base.MARK['at']} by {base.MARK['by']} (leak); "
        "it can no longer be used",
        "training/clf:v0",
    )
    moved = promotion.stage_changes(
        ctx,
        snap,
        Change(),
        config,
        link,
        deleted,
        [],
        allow_protected=False,
        reason=None,
        run=None,
    )
    assert moved == []


def test_no_stage_moves_to_an_unlinked_link_as_check_refuses_it_in_a_change(registry):
    ctx = flow.governed(registry.root)
    link = promotion.link_version(ctx, flow.log(registry.root, "w"), "model-registry/models")
    promotion.unlink(ctx, link)
    before = flow.head_sha(registry.root)
    with pytest.raises(NotFoundError) as caught:
        promotion.set_aliases(ctx, link, add=["staging"])
    assert (str(caught.value), caught.value.version) == (
        "model-registry/models/clf:v0 is unlinked: a stage moves only to a live link",
        "model-registry/models/clf:v0",
    )
    assert flow.head_sha(registry.root) == before
    promotion.set_aliases(ctx, link, remove=["staging"])  # nothing to take off: no error


def test_a_file_entry_that_names_an_intact_folder_is_a_broken_file(reg):
    folder = put_object(reg.root, "tree", b"")
    root_tree = put_object(reg.root, "tree", b"100644 registry.yaml\0" + bytes.fromhex(folder))
    commit = git(reg.root, "commit-tree", root_tree, "-m", "by hand")
    assert tree.committed_objects(reg.git, commit) == [
        Problem(
            "registry.yaml", "$", f"git object {folder} of the committed file is corrupt: {BROKEN}"
        )
    ]
