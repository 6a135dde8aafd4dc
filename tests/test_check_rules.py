"""Each rule of ``check`` in its own small test, through ``run_checks`` on a real
registry repo: on a change (``base`` to ``head``, as a pull request would merge) and on
a whole working tree. Every test asserts the full list of problems, path, field and
message, so a rule that goes quiet or speaks of another file is noticed."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml

from registry_tool import _checks as checks
from registry_tool import _promotion as promotion
from registry_tool import _verbs as ops
from registry_tool._checks import rules
from registry_tool._checks.report import Problem
from registry_tool._engine.context import Context
from registry_tool._model.governance import StageGate
from registry_tool._model.manifest import artifact_digest
from registry_tool._model.records import VersionRecord
from registry_tool._store import RegistryStore, init_registry
from registry_tool.errors import NotFoundError, UsageError
from tests.helpers import GIT_ENV, commit, git, write

CLF = "projects/training/clf"
V0, V1, V2 = (f"{CLF}/versions/v{n}.yaml" for n in range(3))
CONFIG = "registries/models/registry.yaml"
LINKS = "registries/models/clf/links"
STAGE = "registries/models/clf/aliases"
STAMP = "'2026-01-01T00:00:00Z'"
CASE = "differs only by case from {} (one path on a case-insensitive file system)"
NOT_REGULAR = "not a regular file: registry files may not be symbolic links or submodules"


def log(root: Path, content: str, *, name: str = "clf", kind: str = "model", **metadata: object):
    payload = write(Path(f"payload-{uuid.uuid4().hex[:8]}") / "model.pth", content)
    return ops.log_path(payload, f"training/{name}", kind, metadata=metadata, registry=root)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once, copied for each test: training/clf v0 (f1 0.95) linked as models/clf
    v0, which holds staging; models has stages staging and production, production
    protected, gated on f1 >= 0.9 and on holding staging first."""
    home = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as env:
        for key, value in GIT_ENV.items():
            env.setenv(key, value)
        env.setenv("HOME", str(home))
        env.setenv("XDG_CACHE_HOME", str(home / "cache"))
        env.setenv("XDG_DATA_HOME", str(home / "data"))
        env.delenv("REGISTRY_TOOL_DIR", raising=False)
        env.delenv("REGISTRY_TOOL_CACHE_DIR", raising=False)
        env.chdir(home)
        store = init_registry(home / "registry", name="test-registry")
        log(store.root, "weights", f1=0.95)
        ctx = Context.open(store.root)
        promotion.create_registry(
            ctx,
            "models",
            stages=["staging", "production"],
            protected=["production"],
            types=["model"],
            gates={"production": StageGate(("f1 >= 0.9",), True)},
        )
        source = ctx.store.read_version(ctx.store.head(), "training", "clf", 0)
        assert source is not None
        link = promotion.link_version(ctx, source, "model-registry/models", ["staging"])
        assert link.version == 0
    return store.root


@pytest.fixture
def reg(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryStore:
    """A copy of the template registry, selected through REGISTRY_TOOL_DIR."""
    root = tmp_path / "registry"
    shutil.copytree(template, root, symlinks=True)
    git(root, "update-index", "-q", "--refresh")  # the copies' stat data, for git
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    return RegistryStore.open(root)


def on_branch(root: Path, edits: dict[str, str | None], branch: str = "change") -> None:
    """A branch off main with ``edits`` (None removes the file) committed on it."""
    git(root, "checkout", "--quiet", "-B", branch, "main")
    commit(root, edits, f"edit on {branch}")
    git(root, "checkout", "--quiet", "main")


def diff(store, head: str = "change", **kwargs) -> list[Problem]:
    return checks.run_checks(store, base="main", head=head, **kwargs).problems


def tree(store) -> list[Problem]:
    return checks.run_checks(store).problems


def read(root: Path, path: str) -> str:
    return (root / path).read_text()


def doc(root: Path, path: str) -> dict:
    return yaml.safe_load(read(root, path))


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False)


def alias(name: str, version: int) -> str:
    return f"kind: alias\nalias: {name}\nversion: {version}\nset_at: {STAMP}\n"


def as_version(root: Path, number: int, **changes: object) -> str:
    """v0's document renumbered (and changed): a version file as the tool writes one."""
    data = doc(root, V0)
    data.update(version=number, **changes)
    return dump(data)


def link_doc(number: int, *, source: int = 0, digest: str | None = None, root=None) -> str:
    digest = digest or doc(root, V0)["digest"]
    return dump(
        {
            "kind": "link",
            "registry": "models",
            "collection": "clf",
            "version": number,
            "source": {"artifact": "training/clf", "version": source, "digest": digest},
            "linked_at": "2026-01-01T00:00:00Z",
        }
    )


def test_a_clean_registry_and_an_empty_change_pass(reg):
    assert tree(reg) == []
    on_branch(reg.root, {})
    report = checks.run_checks(reg, base="main", head="change")
    assert report.ok and report.files == 0


# -- which files a change is judged on ---------------------------------------------------


def test_the_root_registry_yaml_is_judged_in_a_change(reg):
    data = doc(reg.root, "registry.yaml")
    data["colour"] = "blue"
    on_branch(reg.root, {"registry.yaml": dump(data)})
    assert diff(reg) == [
        Problem(
            "registry.yaml", "$", "Additional properties are not allowed ('colour' was unexpected)"
        )
    ]


def test_a_secret_in_the_root_registry_yaml_is_found_in_a_change(reg):
    text = read(reg.root, "registry.yaml") + "# ghp_" + "a" * 36 + "\n"
    on_branch(reg.root, {"registry.yaml": text})
    found = diff(reg)
    assert [(p.path, p.field) for p in found] == [("registry.yaml", "$")]
    assert "looks like a secret" in found[0].message and "ghp_" not in found[0].message


def test_files_outside_the_registry_folders_are_not_judged(reg):
    on_branch(
        reg.root,
        {
            "README.md": "anything\n",
            "notes/registry.yaml": "not: ours\n",
            "projects.yaml": "x",
            "projects/training/notes.txt": "hello",
            "registries/models/notes.txt": "hello",
        },
    )
    assert diff(reg) == [
        Problem("projects/training/notes.txt", "$", "not a registry file (unexpected path)"),
        Problem("registries/models/notes.txt", "$", "not a registry file (unexpected path)"),
    ]
    git(reg.root, "merge", "--quiet", "change")
    on_branch(reg.root, {"projects/training/notes.txt": None}, branch="tidy")
    assert diff(reg, head="tidy") == []  # taking a stray file away is fine


def test_a_symbolic_link_in_a_change_is_refused(reg):
    git(reg.root, "checkout", "--quiet", "-B", "change", "main")
    (reg.root / f"{CLF}/aliases/best.yaml").symlink_to("latest.yaml")
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "a link")
    git(reg.root, "checkout", "--quiet", "main")
    assert diff(reg) == [Problem(f"{CLF}/aliases/best.yaml", "$", NOT_REGULAR)]


def test_a_change_needs_commits_that_exist(reg):
    with pytest.raises(UsageError, match=r"^--head needs --base$"):
        checks.run_checks(reg, head="main")
    with pytest.raises(NotFoundError) as caught:
        checks.run_checks(reg, base="nope", head="main")
    assert str(caught.value) == f"no commit 'nope' in {reg.root}"
    with pytest.raises(NotFoundError) as caught:
        checks.run_checks(reg, base="main", head="gone")
    assert str(caught.value) == f"no commit 'gone' in {reg.root}"


# -- versions and links are immutable -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "what", "edit"),
    [
        (V0, "versions", "modified"),
        (V0, "versions", "deleted"),
        (f"{LINKS}/v0.yaml", "links", "modified"),
        (f"{LINKS}/v0.yaml", "links", "deleted"),
    ],
)
def test_versions_and_links_never_change(reg, path, what, edit):
    text = read(reg.root, path) + "# a comment\n" if edit == "modified" else None
    on_branch(reg.root, {path: text})
    assert Problem(path, "$", f"{what} are immutable: this file was {edit}") in diff(reg)
    assert [p.path for p in diff(reg)] == [path]


MARK = {"at": "2026-01-02T03:04:05Z", "by": "Ada <ada@example.test>", "reason": "leak"}


def test_only_the_soft_delete_mark_may_be_added(reg):
    log(reg.root, "other weights", f1=0.5)  # v1 holds no stage
    data = doc(reg.root, V1)
    on_branch(reg.root, {V1: dump({**data, "deleted": MARK})})
    assert diff(reg) == []
    # Reformatted (keys reordered) with the mark: equal as parsed, still only the mark.
    shuffled = dict(reversed(list({**data, "deleted": MARK}.items())))
    on_branch(reg.root, {V1: dump(shuffled)})
    assert diff(reg) == []


@pytest.mark.parametrize(
    "edit",
    [
        {"deleted": MARK, "description": "and a change"},
        {"deleted": MARK, "metadata": {"f1": 0.99}},
        {"description": "no mark"},
    ],
)
def test_the_soft_delete_mark_with_anything_else_is_an_edit(reg, edit):
    log(reg.root, "other weights", f1=0.5)
    on_branch(reg.root, {V1: dump({**doc(reg.root, V1), **edit})})
    assert diff(reg) == [Problem(V1, "$", "versions are immutable: this file was modified")]


def test_taking_the_soft_delete_mark_away_is_an_edit(reg):
    log(reg.root, "other weights", f1=0.5)
    write(reg.root / V1, dump({**doc(reg.root, V1), "deleted": MARK}))
    git(reg.root, "commit", "--quiet", "-am", "soft-delete v1")
    data = doc(reg.root, V1)
    del data["deleted"]
    on_branch(reg.root, {V1: dump(data)})
    assert diff(reg) == [Problem(V1, "$", "versions are immutable: this file was modified")]


def test_a_soft_delete_mark_must_be_valid(reg):
    log(reg.root, "other weights", f1=0.5)
    on_branch(reg.root, {V1: dump({**doc(reg.root, V1), "deleted": {"at": "yesterday"}})})
    found = diff(reg)
    assert [(p.path, p.field) for p in found] == [(V1, "$.deleted")]
    assert found[0].message.startswith("'by' is a required property"), found


def test_a_link_may_not_gain_a_soft_delete_mark(reg):
    path = f"{LINKS}/v0.yaml"
    on_branch(reg.root, {path: dump({**doc(reg.root, path), "deleted": MARK})})
    assert diff(reg) == [Problem(path, "$", "links are immutable: this file was modified")]


def test_a_version_file_that_stops_parsing_is_an_edit(reg):
    on_branch(reg.root, {V0: "kind: [unclosed\n"})
    assert diff(reg) == [Problem(V0, "$", "versions are immutable: this file was modified")]
    on_branch(reg.root, {V0: "- deleted\n"})
    assert diff(reg) == [Problem(V0, "$", "versions are immutable: this file was modified")]
    on_branch(reg.root, {V0: "- a list\n"})
    assert diff(reg) == [Problem(V0, "$", "versions are immutable: this file was modified")]


# -- numbering -----------------------------------------------------------------------------------


def test_an_added_version_leaving_a_gap_is_refused(reg):
    on_branch(reg.root, {V2: as_version(reg.root, 2)})
    assert diff(reg) == [Problem(V1, "$", rules.GAP)]


def test_added_versions_without_a_gap_pass(reg):
    on_branch(reg.root, {V1: as_version(reg.root, 1), V2: as_version(reg.root, 2)})
    assert diff(reg) == []


def test_an_added_link_leaving_a_gap_is_refused(reg):
    on_branch(reg.root, {f"{LINKS}/v3.yaml": link_doc(3, root=reg.root)})
    assert diff(reg) == [
        Problem(f"{LINKS}/v1.yaml", "$", rules.GAP),
        Problem(f"{LINKS}/v2.yaml", "$", rules.GAP),
    ]


def test_a_new_collection_needs_its_artifact_yaml(reg):
    data = doc(reg.root, V0)
    data["name"] = "other"
    on_branch(reg.root, {"projects/training/other/versions/v0.yaml": dump(data)})
    assert diff(reg) == [
        Problem(
            "projects/training/other/artifact.yaml",
            "$",
            "missing: the collection has versions but no artifact.yaml",
        )
    ]


def test_a_version_named_for_another_number_is_refused(reg):
    on_branch(reg.root, {V1: as_version(reg.root, 0)})
    assert diff(reg) == [Problem(V1, "$.version", "is 0, but the file is named v1.yaml")]


def test_a_file_that_names_another_collection_is_refused(reg):
    on_branch(reg.root, {V1: as_version(reg.root, 1, name="other")})
    assert diff(reg) == [
        Problem(V1, "$.name", "names training/other, not the collection its path says")
    ]


# -- manifests -----------------------------------------------------------------------------------


def test_an_altered_manifest_is_refused(reg):
    data = doc(reg.root, V0)
    entry = {**data["entries"][0], "digest": "sha256:" + "0" * 64}
    on_branch(reg.root, {V1: as_version(reg.root, 1, entries=[entry])})
    assert diff(reg) == [
        Problem(
            V1, "$.digest", "does not match the digest of the entries (the manifest was altered)"
        )
    ]


def test_a_manifest_whose_count_or_size_lies_is_refused(reg):
    on_branch(reg.root, {V1: as_version(reg.root, 1, file_count=2, size=99)})
    assert diff(reg) == [
        Problem(V1, "$.file_count", "is 2, the manifest lists 1 files"),
        Problem(V1, "$.size", "does not match the sum of the entries' sizes"),
    ]


def with_entries(root: Path, number: int, entries: list[dict]) -> str:
    """v0 renumbered with these entries, its digest, count and size made to agree."""
    data = yaml.safe_load(as_version(root, number, entries=entries))
    record = VersionRecord.from_doc({**data, "digest": "0" * 64})
    data.update(
        digest=artifact_digest(record.entries),
        file_count=len(entries),
        size=sum(e.get("size") or 0 for e in entries),
    )
    return dump(data)


def test_a_stored_file_needs_a_sha256_digest(reg):
    entry = {"path": "model.pth", "digest": "md5:" + "0" * 32, "size": 1}
    on_branch(reg.root, {V1: with_entries(reg.root, 1, [entry])})
    assert diff(reg) == [
        Problem(V1, "$.entries[0].digest", "a stored file needs a sha256:<hex> digest")
    ]
    # Nor is it looked for in storage, as a blob would be.
    assert diff(reg, verify_blobs=True) == diff(reg)


def test_a_manifest_with_case_twins_is_refused(reg):
    entry = doc(reg.root, V0)["entries"][0]
    twins = [entry, {**entry, "path": "Model.pth"}]
    on_branch(reg.root, {V1: with_entries(reg.root, 1, twins)})
    assert diff(reg) == [
        Problem(
            V1,
            "$.entries",
            "file 'model.pth' is in the artifact and as 'Model.pth' (differ only in case)",
        )
    ]


# -- what a file names exists ----------------------------------------------------------------------


def test_an_alias_names_a_version_that_exists_and_is_live(reg):
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 4)})
    assert diff(reg) == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v4, which does not exist"
        )
    ]
    log(reg.root, "other weights", f1=0.5)
    write(reg.root / V1, dump({**doc(reg.root, V1), "deleted": MARK}))
    git(reg.root, "commit", "--quiet", "-am", "soft-delete v1")
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 1)})
    assert diff(reg) == [
        Problem(f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v1, which is deleted")
    ]
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    assert diff(reg) == []


def test_an_alias_file_names_its_own_alias(reg):
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("other", 0)})
    assert diff(reg) == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.alias", "is 'other', but the file is named best.yaml"
        )
    ]


def test_a_link_names_a_source_that_exists_with_its_digest(reg):
    on_branch(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, source=5, root=reg.root)})
    assert diff(reg) == [
        Problem(f"{LINKS}/v1.yaml", "$.source", "links training/clf:v5, which does not exist")
    ]
    on_branch(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, digest="f" * 64, root=reg.root)})
    assert diff(reg) == [
        Problem(
            f"{LINKS}/v1.yaml", "$.source.digest", "does not match the digest of training/clf:v0"
        )
    ]


def test_a_run_names_versions_that_exist(reg):
    import registry_tool as wandb

    with wandb.init(project="training", job_type="eval") as run:
        run.use_artifact("training/clf:v0")
    path = f"projects/training/runs/{run.id}.yaml"
    data = doc(reg.root, path)
    data["inputs"] = [{**data["inputs"][0], "version": 3}]
    on_branch(reg.root, {path: dump(data)})
    assert diff(reg) == [Problem(path, "$.inputs[0]", "training/clf:v3 does not exist")]
    data["outputs"], data["inputs"] = data["inputs"], []
    on_branch(reg.root, {path: dump(data)})
    assert diff(reg) == [Problem(path, "$.outputs[0]", "training/clf:v3 does not exist")]


# -- stages ------------------------------------------------------------------------------------------


def test_a_stage_moves_only_in_a_registry_that_exists(reg):
    on_branch(reg.root, {"registries/ghost/clf/aliases/staging.yaml": alias("staging", 0)})
    assert diff(reg) == [
        Problem(
            "registries/ghost/clf/aliases/staging.yaml", "$", "there is no model registry 'ghost'"
        )
    ]


def test_a_stage_names_a_link_that_exists(reg):
    on_branch(reg.root, {f"{STAGE}/production.yaml": alias("production", 3)})
    assert diff(reg) == [
        Problem(
            f"{STAGE}/production.yaml",
            "$.version",
            "alias 'production' names v3, which does not exist",
        )
    ]


def test_a_stage_meets_its_gates_and_order(reg):
    log(reg.root, "weak", f1=0.8999999)
    ctx = Context.open(reg.root)
    weak = ctx.store.read_version(ctx.store.head(), "training", "clf", 1)
    promotion.link_version(ctx, weak, "model-registry/models")
    on_branch(reg.root, {f"{STAGE}/production.yaml": alias("production", 1)})
    assert diff(reg) == [
        Problem(
            f"{STAGE}/production.yaml",
            "$.version",
            "model-registry/models/clf:v1 cannot take 'production': "
            "f1 >= 0.9: f1 is 0.8999999, needs >= 0.9",
        ),
        Problem(
            f"{STAGE}/production.yaml",
            "$.version",
            "model-registry/models/clf:v1 cannot take 'production': "
            "the version must hold 'staging' before 'production'",
        ),
    ]
    on_branch(reg.root, {f"{STAGE}/production.yaml": alias("production", 0)})
    assert diff(reg) == []  # v0 holds staging and meets the gate


def test_a_protected_stage_moves_only_by_pull_request(reg, monkeypatch):
    write(reg.root / f"{STAGE}/production.yaml", alias("production", 0))
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "straight to production")
    found = [str(p) for p in checks.run_checks(reg, base="HEAD~1", head="main").problems]
    assert found == [
        f"{STAGE}/production.yaml: $.alias: protected alias 'production' was moved outside a pull request"
    ]
    # The same commit, reached by a pull request (as GitHub says, or a head that is not
    # main's tip), passes.
    monkeypatch.setenv("GITHUB_EVENT_NAME", "merge_group")
    assert checks.run_checks(reg, base="HEAD~1", head="main").ok
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    assert checks.run_checks(reg, base="HEAD~1", head="main").ok
    monkeypatch.delenv("GITHUB_EVENT_NAME")
    git(reg.root, "branch", "pr", "main")
    git(reg.root, "reset", "--quiet", "--hard", "HEAD~1")
    assert checks.run_checks(reg, base="main", head="pr").ok
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    assert not checks.run_checks(reg, base="main", head="pr").ok
    monkeypatch.delenv("GITHUB_EVENT_NAME")
    git(reg.root, "merge", "--quiet", "pr")
    git(reg.root, "rm", "--quiet", f"{STAGE}/production.yaml")
    git(reg.root, "commit", "--quiet", "-m", "and away again")
    found = [str(p) for p in checks.run_checks(reg, base="HEAD~1", head="main").problems]
    assert found == [
        f"{STAGE}/production.yaml: $.alias: protected alias 'production' was removed outside a pull request"
    ]


def test_an_unprotected_stage_moves_and_goes_on_main(reg):
    on_branch(reg.root, {f"{STAGE}/staging.yaml": None})
    git(reg.root, "merge", "--quiet", "change")
    assert checks.run_checks(reg, base="HEAD~1", head="main").ok


# -- a promotion does not change its own gates ----------------------------------------------------


def config_with(root: Path, **changes: object) -> str:
    data = doc(root, CONFIG)
    data.update(changes)
    return dump(data)


PRODUCTION = f"{STAGE}/production.yaml"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"gates": {"production": {"conditions": ["f1 >= 0.5"]}}}, ["gates"]),
        ({"stages": ["staging", "production", "archived"]}, ["stages"]),
        ({"types": []}, ["types"]),
        ({"protected": [], "gates": {}}, ["protected", "gates"]),
    ],
)
def test_a_promotion_may_not_change_its_registrys_gates(reg, changes, fields):
    on_branch(
        reg.root, {CONFIG: config_with(reg.root, **changes), PRODUCTION: alias("production", 0)}
    )
    found = [p for p in diff(reg) if p.path == CONFIG]
    assert found == [
        Problem(
            CONFIG,
            f"$.{fields[0]}",
            f"{' and '.join(fields)} of model-registry/models changed in the same change that "
            f"moves the protected alias 'production' ({PRODUCTION}): a gate or protection "
            "change needs its own review. Split the pull request: first merge the change to "
            f"{CONFIG} alone, then open the promotion on the updated main (registry-tool "
            "promote ... --pr), checked against those gates",
        )
    ]


def test_a_gate_change_alone_or_a_description_with_a_promotion_pass(reg):
    lowered = {
        "gates": {"production": {"conditions": ["f1 >= 0.5"], "requires_previous_stage": True}}
    }
    on_branch(reg.root, {CONFIG: config_with(reg.root, **lowered)})
    assert diff(reg) == []
    on_branch(
        reg.root,
        {CONFIG: config_with(reg.root, description="ours"), PRODUCTION: alias("production", 0)},
    )
    assert diff(reg) == []
    # Moving an unprotected stage with a gate change is no promotion to review apart.
    on_branch(reg.root, {CONFIG: config_with(reg.root, **lowered), f"{STAGE}/staging.yaml": None})
    assert diff(reg) == []


def test_removing_a_protected_stage_with_a_gate_change_is_refused(reg):
    on_branch(reg.root, {PRODUCTION: alias("production", 0)})
    git(reg.root, "merge", "--quiet", "change")
    on_branch(reg.root, {CONFIG: config_with(reg.root, types=[]), PRODUCTION: None})
    assert [(p.path, p.field) for p in diff(reg)] == [(CONFIG, "$.types")]


# -- case collisions --------------------------------------------------------------------------------


def test_a_path_differing_only_by_case_is_refused_in_a_change(reg):
    collection = read(reg.root, f"{CLF}/artifact.yaml")
    on_branch(
        reg.root,
        {
            "projects/training/CLF/artifact.yaml": collection.replace("name: clf", "name: CLF"),
            f"{CLF}/aliases/Latest.yaml": alias("Latest", 0),
        },
    )
    assert diff(reg) == [
        Problem("projects/training/CLF", "$", CASE.format("projects/training/clf")),
        Problem(f"{CLF}/aliases/Latest.yaml", "$", CASE.format(f"{CLF}/aliases/latest.yaml")),
    ]


# -- a whole working tree ------------------------------------------------------------------------------


def test_a_tree_reports_a_stray_file_and_a_bad_root_config(reg):
    write(reg.root / "projects/training/notes.txt", "hello")
    data = doc(reg.root, "registry.yaml")
    data["colour"] = "blue"
    write(reg.root / "registry.yaml", dump(data))
    assert tree(reg) == [
        Problem("projects/training/notes.txt", "$", rules.NOT_OURS_IN_TREE),
        Problem(
            "registry.yaml", "$", "Additional properties are not allowed ('colour' was unexpected)"
        ),
    ]


def test_a_tree_reports_gaps_and_a_missing_collection_file(reg):
    log(reg.root, "second", f1=0.5)
    log(reg.root, "third", f1=0.5)
    (reg.root / V1).unlink()
    assert tree(reg) == [Problem(V1, "$", rules.GAP)]
    (reg.root / f"{CLF}/artifact.yaml").unlink()
    assert tree(reg) == [
        Problem(
            f"{CLF}/artifact.yaml", "$", "missing: the collection has versions but no artifact.yaml"
        ),
        Problem(V1, "$", rules.GAP),
    ]


def test_a_tree_counts_an_invalid_file_as_present(reg):
    log(reg.root, "second", f1=0.5)
    log(reg.root, "third", f1=0.5)
    write(reg.root / V1, "kind: version\n")
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 1))
    found = tree(reg)
    assert [p.path for p in found] == [V1], found  # no gap, no alias naming nothing


def test_a_tree_does_not_count_a_misnumbered_or_misplaced_version(reg):
    log(reg.root, "second", f1=0.5)
    log(reg.root, "third", f1=0.5)
    write(reg.root / V1, as_version(reg.root, 7))
    assert tree(reg) == [
        Problem(V1, "$.version", "is 7, but the file is named v1.yaml"),
        Problem(V1, "$", rules.GAP),
    ]
    write(reg.root / V1, as_version(reg.root, 1, name="elsewhere"))
    assert tree(reg) == [
        Problem(V1, "$.name", "names training/elsewhere, not the collection its path says"),
        Problem(V1, "$", rules.GAP),
    ]


def test_a_tree_reports_what_names_nothing(reg):
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 5))
    write(reg.root / f"{STAGE}/production.yaml", alias("production", 2))
    write(reg.root / f"{LINKS}/v1.yaml", link_doc(1, source=9, root=reg.root))
    found = sorted(tree(reg), key=str)
    assert (
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v5, which does not exist"
        )
        in found
    )
    assert (
        Problem(
            f"{STAGE}/production.yaml",
            "$.version",
            "alias 'production' names v2, which does not exist",
        )
        in found
    )
    assert (
        Problem(f"{LINKS}/v1.yaml", "$.source", "links training/clf:v9, which does not exist")
        in found
    )


def test_a_tree_reports_an_alias_of_a_deleted_version(reg):
    log(reg.root, "second", f1=0.5)
    write(reg.root / V1, dump({**doc(reg.root, V1), "deleted": MARK}))
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 1))
    (reg.root / f"{CLF}/aliases/latest.yaml").unlink()
    assert tree(reg) == [
        Problem(f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v1, which is deleted")
    ]


def test_a_tree_reports_case_twins_after_the_first(reg):
    write(reg.root / f"{CLF}/aliases/Best.yaml", alias("Best", 0))
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 0))
    assert tree(reg) == [
        Problem(f"{CLF}/aliases/best.yaml", "$", CASE.format(f"{CLF}/aliases/Best.yaml"))
    ]


def test_a_tree_reports_a_link_of_a_type_its_registry_does_not_take(reg):
    log(reg.root, "rows", name="data", kind="dataset")
    data = doc(reg.root, "projects/training/data/versions/v0.yaml")
    link = yaml.safe_load(link_doc(1, root=reg.root))
    link["source"] = {"artifact": "training/data", "version": 0, "digest": data["digest"]}
    write(reg.root / f"{LINKS}/v1.yaml", dump(link))
    assert tree(reg) == [
        Problem(
            f"{LINKS}/v1.yaml",
            "$.source",
            "training/data:v0 is of type 'dataset'; model-registry/models takes model",
        )
    ]


def test_a_tree_names_every_type_a_registry_takes(reg):
    log(reg.root, "rows", name="data", kind="dataset")
    data = doc(reg.root, "projects/training/data/versions/v0.yaml")
    link = yaml.safe_load(link_doc(1, root=reg.root))
    link["source"] = {"artifact": "training/data", "version": 0, "digest": data["digest"]}
    write(reg.root / f"{LINKS}/v1.yaml", dump(link))
    write(reg.root / CONFIG, config_with(reg.root, types=["model", "checkpoint"]))
    assert [p.message for p in tree(reg)] == [
        "training/data:v0 is of type 'dataset'; model-registry/models takes model, checkpoint"
    ]


def test_a_tree_reports_a_link_to_a_collection_that_does_not_exist(reg):
    write(
        reg.root / f"{LINKS}/v1.yaml",
        link_doc(1, root=reg.root).replace("training/clf", "training/ghost"),
    )
    assert tree(reg) == [
        Problem(f"{LINKS}/v1.yaml", "$.source", "links training/ghost:v0, which does not exist")
    ]


def test_a_tree_counts_an_invalid_collection_file_and_skips_invalid_registry_files(reg):
    write(reg.root / f"{CLF}/artifact.yaml", "kind: collection\n")
    assert [p.path for p in tree(reg)] == [f"{CLF}/artifact.yaml"]  # not also "missing"
    for number in range(1, 10):  # v9 stays valid: a skipped invalid file would be a gap
        log(reg.root, f"weights {number}", f1=0.5)
    for number in range(1, 9):
        write(reg.root / f"{CLF}/versions/v{number}.yaml", "kind: version\n")
    write(reg.root / f"{LINKS}/v1.yaml", "kind: link\n")
    found = tree(reg)
    assert sorted({p.path for p in found}) == sorted(
        [f"{CLF}/artifact.yaml", f"{LINKS}/v1.yaml"]
        + [f"{CLF}/versions/v{n}.yaml" for n in range(1, 9)]
    ), found
    assert not any(p.message == rules.GAP for p in found)


def test_a_tree_with_a_linked_top_folder_is_still_walked_whole(reg, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (reg.root / "projects").rename(elsewhere)
    (reg.root / "projects").symlink_to(elsewhere)
    write(reg.root / "registries/models/notes.txt", "hello")
    found = tree(reg)
    assert Problem("projects", "$", NOT_REGULAR) in found
    assert Problem("registries/models/notes.txt", "$", rules.NOT_OURS_IN_TREE) in found


def test_a_tree_reports_irregular_files_with_the_rest(reg):
    (reg.root / f"{CLF}/aliases/best.yaml").symlink_to("latest.yaml")
    write(reg.root / "projects/training/notes.txt", "hello")
    assert tree(reg) == [
        Problem(f"{CLF}/aliases/best.yaml", "$", NOT_REGULAR),
        Problem("projects/training/notes.txt", "$", rules.NOT_OURS_IN_TREE),
    ]


def test_a_tree_is_checked_deep_only_when_asked(reg):
    from registry_tool._checks.tree import check_tree

    path = f"{LINKS}/v0.yaml"
    data = doc(reg.root, path)
    data["source"]["digest"] = "0" * 64
    write(reg.root / path, dump(data))
    write(reg.root / "projects/training/notes.txt", "hello")
    stray = Problem("projects/training/notes.txt", "$", rules.NOT_OURS_IN_TREE)
    assert check_tree(reg.root).problems == [stray]
    assert check_tree(reg.root, deep=True).problems == [
        stray,
        Problem(
            path,
            "$.source.digest",
            "is not the digest of training/clf:v0 recomputed from its manifest",
        ),
    ]


def test_a_change_trusts_a_version_it_cannot_read_to_be_live(reg):
    log(reg.root, "second", f1=0.5)
    committed_on_main(reg.root, {V1: "kind: version\n"})
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 1)})
    assert diff(reg) == []  # the invalid file is not the change's; it is reported in a tree


def test_a_link_added_in_a_change_is_of_a_type_its_registry_takes(reg):
    log(reg.root, "rows", name="data", kind="dataset")
    data = doc(reg.root, "projects/training/data/versions/v0.yaml")
    link = yaml.safe_load(link_doc(1, root=reg.root))
    link["source"] = {"artifact": "training/data", "version": 0, "digest": data["digest"]}
    committed_on_main(reg.root, {CONFIG: config_with(reg.root, types=["model", "checkpoint"])})
    on_branch(reg.root, {f"{LINKS}/v1.yaml": dump(link)})
    assert diff(reg) == [
        Problem(
            f"{LINKS}/v1.yaml",
            "$.source",
            "training/data:v0 is of type 'dataset'; model-registry/models takes model, checkpoint",
        )
    ]
    # A registry that lists no types takes any.
    on_branch(reg.root, {CONFIG: config_with(reg.root, types=[])}, branch="open")
    git(reg.root, "merge", "--quiet", "open")
    on_branch(reg.root, {f"{LINKS}/v1.yaml": dump(link)})
    assert diff(reg) == []


# -- check --deep on a change ----------------------------------------------------------------------


def committed_on_main(root: Path, edits: dict[str, str]) -> None:
    """A commit on main that no check saw."""
    for path, text in edits.items():
        write(root / path, text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "by hand on main")


def test_deep_judges_every_version_and_link_of_the_head(reg):
    data = doc(reg.root, V0)
    data["entries"][0]["digest"] = "sha256:" + "1" * 64  # the manifest no longer adds up
    committed_on_main(reg.root, {V0: dump(data)})
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    assert diff(reg) == []
    assert diff(reg, deep=True) == [
        Problem(
            V0, "$.digest", "does not match the digest of the entries (the manifest was altered)"
        ),
        Problem(
            f"{LINKS}/v0.yaml",
            "$.source.digest",
            "is not the digest of training/clf:v0 recomputed from its manifest",
        ),
    ]


def test_deep_reports_a_link_whose_source_is_gone_or_unreadable(reg):
    log(reg.root, "second", f1=0.5)
    committed_on_main(
        reg.root,
        {f"{LINKS}/v1.yaml": link_doc(1, source=7, root=reg.root), V1: "kind: version\n"},
    )
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    found = diff(reg, deep=True)
    assert (
        Problem(f"{LINKS}/v1.yaml", "$.source", "links training/clf:v7, which does not exist")
        in found
    )
    assert [(p.path, p.field) for p in found if p.path == V1] == [(V1, "$")]
    assert len(found) == 2, found


def test_deep_reports_what_a_change_adds_once(reg):
    wrong = link_doc(1, digest="f" * 64, root=reg.root)
    data = doc(reg.root, V0)
    data["entries"][0]["digest"] = "sha256:" + "1" * 64
    on_branch(
        reg.root, {f"{LINKS}/v1.yaml": wrong, V1: as_version(reg.root, 1, entries=data["entries"])}
    )
    found = diff(reg, deep=True)
    assert (
        found
        == diff(reg)
        == [
            Problem(
                V1,
                "$.digest",
                "does not match the digest of the entries (the manifest was altered)",
            ),
            Problem(
                f"{LINKS}/v1.yaml",
                "$.source.digest",
                "does not match the digest of training/clf:v0",
            ),
        ]
    ), found
    # An added link that records its source's digest, of a manifest altered before.
    committed_on_main(reg.root, {V0: dump({**doc(reg.root, V0), "entries": data["entries"]})})
    on_branch(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, root=reg.root)})
    assert diff(reg, deep=True) == [
        Problem(
            V0, "$.digest", "does not match the digest of the entries (the manifest was altered)"
        ),
        Problem(
            f"{LINKS}/v0.yaml",
            "$.source.digest",
            "is not the digest of training/clf:v0 recomputed from its manifest",
        ),
        Problem(
            f"{LINKS}/v1.yaml",
            "$.source.digest",
            "is not the digest of training/clf:v0 recomputed from its manifest",
        ),
    ]


# -- blobs are looked for where the base says ---------------------------------------------------------


def test_verify_blobs_looks_in_the_storage_the_base_names(reg):
    log(reg.root, "second", f1=0.5)
    git(reg.root, "branch", "change", "main")
    git(reg.root, "reset", "--quiet", "--hard", "HEAD~1")
    # The change also points storage elsewhere; its working tree is checked out.
    git(reg.root, "checkout", "--quiet", "change")
    data = doc(reg.root, "registry.yaml")
    data["storage"] = {"url": "elsewhere"}
    write(reg.root / "registry.yaml", dump(data))
    git(reg.root, "commit", "--quiet", "-am", "storage elsewhere")
    store = RegistryStore.open(reg.root)
    found = checks.run_checks(store, base="main", head="change", verify_blobs=True).problems
    assert [(p.path, p.field) for p in found] == [("registry.yaml", "$.storage")]
    assert not any("not in storage" in p.message for p in found)


# -- a change of many files, and what git says changed ------------------------------------------


def test_every_file_of_a_change_is_judged_whatever_comes_before_it(reg):
    log(reg.root, "second", f1=0.5)
    on_branch(
        reg.root,
        {
            f"{CLF}/aliases/a-broken.yaml": "kind: alias\n",
            f"{CLF}/aliases/best.yaml": alias("best", 9),
            V0: read(reg.root, V0) + "# edited\n",
            V1: None,
            "projects/training/notes.txt": "hello",
            f"{STAGE}/production.yaml": alias("production", 4),
            f"{STAGE}/staging.yaml": None,
            f"{LINKS}/v0.yaml": None,
            f"{LINKS}/v1.yaml": link_doc(1, digest="f" * 64, root=reg.root),
            "registry.yaml": read(reg.root, "registry.yaml") + "# ghp_" + "a" * 36 + "\n",
        },
    )
    found = diff(reg)
    assert found[0] == Problem(
        f"{CLF}/aliases/a-broken.yaml", "$", "'alias' is a required property"
    )
    found = found[1:]
    assert found[:7] == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v9, which does not exist"
        ),
        Problem(V0, "$", "versions are immutable: this file was modified"),
        Problem(V1, "$", "versions are immutable: this file was deleted"),
        Problem("projects/training/notes.txt", "$", "not a registry file (unexpected path)"),
        Problem(
            f"{STAGE}/production.yaml",
            "$.version",
            "alias 'production' names v4, which does not exist",
        ),
        Problem(f"{LINKS}/v0.yaml", "$", "links are immutable: this file was deleted"),
        Problem(
            f"{LINKS}/v1.yaml", "$.source.digest", "does not match the digest of training/clf:v0"
        ),
    ]
    assert [(p.path, p.field) for p in found[7:]] == [
        ("registry.yaml", "$"),  # the secret: judged after every other file
        (f"{LINKS}/v0.yaml", "$"),  # the links now start at v1
    ]
    assert found[8].message == rules.GAP


def test_an_empty_file_is_judged_as_the_empty_document_it_is(reg):
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": ""})
    assert diff(reg) == [
        Problem(f"{CLF}/aliases/best.yaml", "$", "expected a mapping, found NoneType")
    ]


def test_a_change_is_what_its_branch_brings_not_what_main_gained_since(reg):
    git(reg.root, "branch", "change", "main")
    log(reg.root, "newer on main", f1=0.5)
    assert diff(reg) == []


def test_a_head_with_no_history_in_common_is_judged_against_the_base(reg):
    git(reg.root, "checkout", "--quiet", "--orphan", "unrelated")
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 7))
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "a history of its own")
    git(reg.root, "checkout", "--quiet", "main")
    assert diff(reg, head="unrelated") == [
        Problem(
            f"{CLF}/aliases/best.yaml", "$.version", "alias 'best' names v7, which does not exist"
        )
    ]


def test_a_renamed_file_is_a_removal_and_an_addition(reg):
    write(reg.root / f"{CLF}/aliases/best.yaml", alias("best", 0))
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "best")
    git(reg.root, "checkout", "--quiet", "-b", "change")
    git(reg.root, "mv", f"{CLF}/aliases/best.yaml", f"{CLF}/aliases/good.yaml")
    git(reg.root, "commit", "--quiet", "-m", "renamed as is")
    git(reg.root, "checkout", "--quiet", "main")
    assert diff(reg) == [
        Problem(f"{CLF}/aliases/good.yaml", "$.alias", "is 'best', but the file is named good.yaml")
    ]


def test_a_path_that_is_not_utf8_is_reported_not_a_crash(reg):
    import os

    name = os.fsdecode(b"projects/training/caf\xe9.txt")
    on_branch(reg.root, {name: "hello"})
    assert diff(reg) == [Problem(name, "$", "not a registry file (unexpected path)")]


def test_case_twins_outside_the_registry_folders_are_not_judged(reg):
    committed_on_main(reg.root, {"notes/readme.md": "a"})
    on_branch(reg.root, {"notes/README.md": "b", "notes/readme.md": "c"})
    assert diff(reg) == []


def test_check_diff_judges_head_against_main_not_deep_by_default(reg):
    from registry_tool._checks.diff import check_diff

    link = f"{LINKS}/v0.yaml"
    data = doc(reg.root, link)
    data["source"]["digest"] = "0" * 64
    committed_on_main(reg.root, {link: dump(data)})  # a problem only --deep sees
    committed_on_main(reg.root, {PRODUCTION: alias("production", 0)})
    committed_on_main(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    git(reg.root, "checkout", "--quiet", "-b", "topic")
    report = check_diff(reg, "HEAD~2")  # head: HEAD (topic, at main's tip); main: "main"
    assert [str(p) for p in report.problems] == [
        f"{PRODUCTION}: $.alias: protected alias 'production' was moved outside a pull request"
    ]


# -- protected stages: what a move may point at ------------------------------------------------


def new_link(root: Path, number: int, source: int) -> str:
    return link_doc(
        number, source=source, digest=doc(root, f"{CLF}/versions/v{source}.yaml")["digest"]
    )


def test_a_protected_stage_moves_only_to_a_link_already_on_the_base(reg):
    on_branch(
        reg.root,
        {
            V1: as_version(reg.root, 1),
            f"{LINKS}/v1.yaml": link_doc(1, source=1, root=reg.root),
            PRODUCTION: alias("production", 1),
        },
    )
    found = [p for p in diff(reg) if p.path == PRODUCTION]
    assert found[0] == Problem(
        PRODUCTION,
        "$.version",
        "model-registry/models/clf:v1 is new in this change, which also moves the protected "
        "stage 'production' to it: introducing a version and promoting it are separate "
        "reviews. Merge the version and its link first, then promote it (registry-tool "
        "promote ... --pr)",
    )
    # An unprotected stage may move to a link the same change brings.
    on_branch(
        reg.root,
        {
            V1: as_version(reg.root, 1),
            f"{LINKS}/v1.yaml": link_doc(1, source=1, root=reg.root),
            f"{STAGE}/staging.yaml": alias("staging", 1),
        },
    )
    assert diff(reg) == []


def test_a_protected_stage_moves_only_to_a_version_already_on_the_base(reg):
    committed_on_main(reg.root, {f"{LINKS}/v1.yaml": link_doc(1, source=1, root=reg.root)})
    on_branch(reg.root, {V1: as_version(reg.root, 1), PRODUCTION: alias("production", 1)})
    found = [p for p in diff(reg) if p.path == PRODUCTION]
    assert found[0].message.startswith(
        "training/clf:v1 is new in this change, which also moves the protected stage 'production'"
    ), found


def test_a_stage_moves_only_to_a_live_linked_version(reg):
    log(reg.root, "second", f1=0.5)
    committed_on_main(
        reg.root,
        {
            f"{LINKS}/v1.yaml": link_doc(1, source=1, root=reg.root).replace(
                doc(reg.root, V0)["digest"], doc(reg.root, V1)["digest"]
            ),
            f"{LINKS}/v2.yaml": link_doc(2, source=5, root=reg.root),
            V1: dump({**doc(reg.root, V1), "deleted": MARK}),
        },
    )
    on_branch(reg.root, {f"{STAGE}/staging.yaml": alias("staging", 1)})
    assert diff(reg) == [
        Problem(
            f"{STAGE}/staging.yaml",
            "$.version",
            "model-registry/models/clf:v1 links training/clf:v1, which is deleted",
        )
    ]
    on_branch(reg.root, {f"{STAGE}/staging.yaml": alias("staging", 2)})
    assert diff(reg) == [
        Problem(
            f"{STAGE}/staging.yaml",
            "$.version",
            "model-registry/models/clf:v2 links training/clf:v5, which does not exist",
        )
    ]


def test_a_stage_moves_only_to_a_link_that_is_not_unlinked(reg):
    promotion.unlink(Context.open(reg.root), promotion_link(reg.root), reason="bad")
    on_branch(reg.root, {f"{STAGE}/staging.yaml": alias("staging", 0)})
    assert diff(reg) == [
        Problem(f"{STAGE}/staging.yaml", "$.version", "model-registry/models/clf:v0 is unlinked")
    ]


def promotion_link(root: Path):
    from registry_tool._store import registries

    ctx = Context.open(root)
    link = registries.read_link(ctx.store, ctx.store.head(), "models", "clf", 0)
    assert link is not None
    return link


def test_a_stage_protected_on_either_side_moves_only_by_pull_request(reg):
    # Staging becomes protected in the very commit that takes it down on main.
    write(reg.root / CONFIG, config_with(reg.root, protected=["production", "staging"]))
    (reg.root / f"{STAGE}/staging.yaml").unlink()
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "protect staging and take it down")
    found = checks.run_checks(reg, base="HEAD~1", head="main").problems
    assert (
        Problem(
            f"{STAGE}/staging.yaml",
            "$.alias",
            "protected alias 'staging' was removed outside a pull request",
        )
        in found
    )


def test_a_registry_config_that_does_not_parse_on_the_base_still_protects(reg):
    committed_on_main(reg.root, {CONFIG: read(reg.root, CONFIG) + "colour: blue\n"})
    write(reg.root / CONFIG, read(reg.root, CONFIG).replace("colour: blue\n", ""))
    write(reg.root / PRODUCTION, alias("production", 0))
    git(reg.root, "add", "-A")
    git(reg.root, "commit", "--quiet", "-m", "fix and promote on main")
    found = checks.run_checks(reg, base="HEAD~1", head="main").problems
    assert (
        Problem(
            PRODUCTION, "$.alias", "protected alias 'production' was moved outside a pull request"
        )
        in found
    )


# -- the separate-approval rule, registry by registry ---------------------------------------------


def test_protecting_a_stage_and_moving_it_in_one_change_is_refused(reg):
    on_branch(
        reg.root,
        {
            CONFIG: config_with(reg.root, protected=["production", "staging"]),
            f"{STAGE}/staging.yaml": None,
            PRODUCTION: alias("production", 0),
        },
    )
    found = [p for p in diff(reg) if p.path == CONFIG]
    assert [(p.field) for p in found] == ["$.protected"]
    assert found[0].message.startswith(
        "protected of model-registry/models changed in the same change that moves the "
        f"protected alias 'production', 'staging' ({PRODUCTION}, {STAGE}/staging.yaml): a "
    ), found[0].message


def test_each_registry_is_judged_apart_for_the_separate_approval_rule(reg):
    ctx = Context.open(reg.root)
    promotion.create_registry(ctx, "aaa", stages=["prod"], protected=["prod"])
    other = "registries/aaa/registry.yaml"
    loosened = dump({**doc(reg.root, other), "protected": []})
    on_branch(reg.root, {other: loosened, PRODUCTION: alias("production", 0)})
    assert diff(reg) == []  # aaa's change moves none of aaa's stages
    lowered = {"gates": {"production": {"conditions": ["f1 >= 0.5"]}}}
    on_branch(
        reg.root,
        {
            other: loosened,
            CONFIG: config_with(reg.root, **lowered),
            PRODUCTION: alias("production", 0),
        },
    )
    assert [(p.path, p.field) for p in diff(reg)] == [(CONFIG, "$.gates")]


# -- storage settings change alone -----------------------------------------------------------------


def test_a_storage_change_merges_alone(reg):
    moved = dump({**doc(reg.root, "registry.yaml"), "storage": {"url": "elsewhere"}})
    on_branch(reg.root, {"registry.yaml": moved})
    assert diff(reg) == []
    others = [f"{CLF}/aliases/a{n}.yaml" for n in range(4)]
    on_branch(
        reg.root, {"registry.yaml": moved, **{p: alias(f"a{n}", 0) for n, p in enumerate(others)}}
    )
    assert diff(reg) == [
        Problem(
            "registry.yaml",
            "$.storage",
            f"the storage settings changed together with 4 other file(s) ({others[0]}, "
            f"{others[1]}, {others[2]}, ...): a storage change merges alone, so the change "
            "after it is checked against the storage it was reviewed with",
        )
    ]
    on_branch(
        reg.root,
        {"registry.yaml": moved, **{p: alias(f"a{n}", 0) for n, p in enumerate(others[:3])}},
    )
    assert [p.message for p in diff(reg)] == [
        f"the storage settings changed together with 3 other file(s) ({', '.join(others[:3])}): "
        "a storage change merges alone, so the change after it is checked against the "
        "storage it was reviewed with"
    ]
    on_branch(reg.root, {"registry.yaml": moved, others[0]: alias("a0", 0)})
    assert [p.message for p in diff(reg)] == [
        f"the storage settings changed together with 1 other file(s) ({others[0]}): a storage "
        "change merges alone, so the change after it is checked against the storage it was "
        "reviewed with"
    ]
    # Another field of registry.yaml may change with other files.
    described = dump({**doc(reg.root, "registry.yaml"), "description": "ours"})
    on_branch(reg.root, {"registry.yaml": described, others[0]: alias("a0", 0)})
    assert diff(reg) == []


# -- check --deep, file by file ----------------------------------------------------------------------


def test_deep_walks_past_stray_and_unreadable_files(reg):
    data = doc(reg.root, V0)
    data["entries"][0]["digest"] = "sha256:" + "1" * 64
    committed_on_main(
        reg.root,
        {
            "projects/aaa.txt": "stray",
            "projects/training/aaa/versions/v0.yaml": "kind: version\n",
            V0: dump(data),
        },
    )
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    found = diff(reg, deep=True)
    assert [(p.path, p.field) for p in found] == [
        ("projects/training/aaa/versions/v0.yaml", "$"),
        (V0, "$.digest"),
        (f"{LINKS}/v0.yaml", "$.source.digest"),
    ], found


def test_deep_in_a_tree_reports_every_bad_link(reg):
    ctx = Context.open(reg.root)
    source = ctx.store.read_version(ctx.store.head(), "training", "clf", 0)
    promotion.link_version(ctx, source, "model-registry/models/other")
    for path in (f"{LINKS}/v0.yaml", "registries/models/other/links/v0.yaml"):
        data = doc(reg.root, path)
        data["source"]["digest"] = "0" * 64
        write(reg.root / path, dump(data))
    found = checks.run_checks(reg, deep=True).problems
    assert [(p.path, p.field) for p in found] == [
        (f"{LINKS}/v0.yaml", "$.source.digest"),
        ("registries/models/other/links/v0.yaml", "$.source.digest"),
    ]


# -- rules on a file of their own -----------------------------------------------------------------


def test_a_file_names_what_its_path_says(reg):
    import registry_tool as wandb

    with wandb.init(project="training", job_type="eval") as run:
        run.use_artifact("training/clf:v0")
    path = f"projects/training/runs/{run.id}.yaml"
    write(reg.root / path, dump({**doc(reg.root, path), "id": "elsewhere"}))
    collection = f"{CLF}/artifact.yaml"
    write(reg.root / collection, dump({**doc(reg.root, collection), "name": "other"}))
    assert tree(reg) == [
        Problem(collection, "$.name", "names training/other, not the collection its path says"),
        Problem(path, "$.id", "names run training/elsewhere, not the one its path says"),
        # A file that names another collection does not count as this one's.
        Problem(collection, "$", "missing: the collection has versions but no artifact.yaml"),
    ]


def test_only_a_registry_config_is_scanned_for_secrets(reg):
    token = "ghp_" + "a" * 36
    on_branch(reg.root, {f"{CLF}/aliases/best.yaml": f"alias: [{token}\n"})
    found = diff(reg)
    assert [(p.path, p.field) for p in found] == [(f"{CLF}/aliases/best.yaml", "$")]
    assert "secret" not in found[0].message
    on_branch(reg.root, {"registry.yaml": f"kind: [{token}\n"})
    found = diff(reg)
    assert [(p.path, p.field) for p in found][:1] == [("registry.yaml", "$")]
    assert "looks like a secret" in found[0].message


def test_a_key_named_like_a_credential_is_found_with_the_schema_problem(reg):
    on_branch(reg.root, {"registry.yaml": read(reg.root, "registry.yaml") + "password: hunter2\n"})
    found = diff(reg)
    assert [(p.path, p.field) for p in found] == [
        ("registry.yaml", "$.password"),
        ("registry.yaml", "$"),
    ]
    assert "looks like a secret" in found[0].message and "hunter2" not in found[0].message
    assert found[1].message == "Additional properties are not allowed ('password' was unexpected)"


def test_a_thousand_missing_versions_are_listed_one_more_is_summed_up(reg):
    far = f"{CLF}/versions/v1001.yaml"
    write(reg.root / far, as_version(reg.root, 1001))
    found = tree(reg)
    assert len(found) == rules.MAX_GAPS == 1000
    assert found[0] == Problem(V1, "$", rules.GAP)
    assert found[-1] == Problem(f"{CLF}/versions/v1000.yaml", "$", rules.GAP)
    (reg.root / far).unlink()
    farther = f"{CLF}/versions/v1002.yaml"
    write(reg.root / farther, as_version(reg.root, 1002))
    assert tree(reg) == [
        Problem(farther, "$", f"{rules.GAP} (1001 numbers are missing below v1002)")
    ]


def test_a_change_that_takes_the_root_config_away_is_no_storage_move(reg):
    committed_on_main(reg.root, {f"{CLF}/aliases/best.yaml": alias("best", 0)})
    on_branch(
        reg.root, {"registry.yaml": None, f"{CLF}/aliases/best.yaml": alias("best", 0) + "# x\n"}
    )
    assert not any(p.field == "$.storage" for p in diff(reg))


def test_a_tree_report_says_where_and_how_many_files(reg):
    from registry_tool._checks.tree import check_tree

    (reg.root / f"{CLF}/aliases/best.yaml").symlink_to("latest.yaml")
    report = check_tree(reg.root)
    regular = [
        p
        for top in ("projects", "registries")
        for p in (reg.root / top).rglob("*")
        if p.is_file() and not p.is_symlink()
    ]
    assert report.root == reg.root
    assert report.files == len(regular) + 2  # registry.yaml, and the symbolic link


def test_a_link_added_to_a_source_that_no_longer_parses_is_judged_without_a_crash(reg):
    # The version file broken by hand in the same change: its own problem is reported
    # where it is checked; the link's digest cannot be compared, and is not.
    on_branch(reg.root, {V0: "kind: [unclosed\n", f"{LINKS}/v1.yaml": link_doc(1, root=reg.root)})
    assert diff(reg) == [Problem(V0, "$", "versions are immutable: this file was modified")]
