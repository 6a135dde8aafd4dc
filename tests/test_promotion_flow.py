"""The promotion flow as a team runs it: a registry repo with a bare remote, a
pull request sent to a loopback stand-in for the GitHub API, `check` in between, and
a negative corpus of changes `check --base/--head` must refuse, each with its message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _checks as checks
from registry_tool._store import RegistryStore, init_registry
from tests.helpers import FakeGitHub, cli_out, git, team_clone, write


@pytest.fixture
def github(monkeypatch):
    fake = FakeGitHub()
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token-123")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/model-registry")
    monkeypatch.setenv("REGISTRY_TOOL_NO_GH", "1")  # the REST API, even where gh is installed
    yield fake
    fake.close()


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A registry clone whose remote is a bare repo, as on GitHub."""
    seed = init_registry(tmp_path / "seed", name="acme", storage=str(tmp_path / "blobs"))
    store, bare = team_clone(seed, tmp_path)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store, bare


def train(content: str, f1: float) -> str:
    write("model.pth", content)
    with wandb.init(project="training", job_type="train") as run:
        data = wandb.Artifact("sentiment-classifier", type="model", metadata={"f1": f1})
        data.add_file("model.pth")
        run.log_artifact(data)
    return data.version


def test_the_whole_flow(team, github, monkeypatch):
    store, bare = team
    cli_out(
        "registry",
        "create",
        "production-models",
        "--stages",
        "development,staging,production",
        "--protected",
        "staging,production",
        "--types",
        "model",
        "--gate",
        "production: f1 >= 0.9",
    )
    version = train("first weights", 0.85)
    cli_out(
        "link",
        f"training/sentiment-classifier:{version}",
        "model-registry/production-models",
        "--alias",
        "candidate",
    )

    # Staging is protected: a direct move is refused, a --pr one opens a pull request.
    out = cli_out(
        "promote",
        "model-registry/production-models/sentiment-classifier:v0",
        "--to",
        "staging",
        "--direct",
        code=1,
    )
    assert "'staging' is protected" in out and "--pr" in out
    out = json.loads(
        cli_out(
            "promote",
            "model-registry/production-models/sentiment-classifier:candidate",
            "--to",
            "staging",
            "--pr",
            "--reason",
            "offline eval passed",
            "--json",
        )
    )
    branch = "promote/production-models/sentiment-classifier/staging/v0"
    assert out["branch"] == branch and out["pull_request"]["number"] == 7
    assert git(bare, "rev-parse", branch) == out["commit"]
    (request,) = github.requests
    assert request["path"] == "/repos/acme/model-registry/pulls"
    assert request["auth"] == "Bearer test-token-123"
    assert request["body"]["head"] == branch and request["body"]["base"] == "main"
    body = request["body"]["body"]
    assert "| Stage | `staging` |" in body and "metadata.f1 | 0.85" in body
    assert "→ run" in body and "test-token" not in body
    assert not (
        store.root / "registries/production-models/sentiment-classifier/aliases/staging.yaml"
    ).exists()

    # CI: the pull request's change passes check.
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    report = json.loads(
        cli_out("check", "--base", "main", "--head", branch, "--verify-blobs", "--json")
    )
    assert report["ok"] is True
    monkeypatch.delenv("GITHUB_EVENT_NAME")

    # Merge it, as GitHub would.
    git(
        store.root,
        "merge",
        "--quiet",
        "--no-ff",
        branch,
        "-m",
        f"Merge pull request #7 from acme/{branch}",
    )
    git(store.root, "push", "--quiet", "origin", "main")
    staged = wandb.Api().artifact("model-registry/production-models/sentiment-classifier:staging")
    assert staged.source_name == "training/sentiment-classifier:v0"

    # Production is gated on f1: refused with the reason, then passes with a better model.
    out = cli_out(
        "promote",
        "model-registry/production-models/sentiment-classifier:v0",
        "--to",
        "production",
        code=1,
    )
    assert "f1 >= 0.9: f1 is 0.85, needs >= 0.9" in out
    better = train("better weights", 0.93)
    cli_out("link", f"training/sentiment-classifier:{better}", "model-registry/production-models")
    out = json.loads(
        cli_out(
            "promote",
            "model-registry/production-models/sentiment-classifier:v1",
            "--to",
            "production",
            "--json",
        )
    )
    assert out["mode"] == "pr" and out["gates"] == [
        {"condition": "f1 >= 0.9", "passed": True, "detail": "f1 is 0.93"}
    ]
    assert len(github.requests) == 2

    # The audit trail: who moved staging, when, by which pull request, and why.
    events = json.loads(
        cli_out(
            "history",
            "model-registry/production-models/sentiment-classifier",
            "--stage",
            "staging",
            "--json",
        )
    )
    assert [(e["version"], e["pull_request"], e["reason"]) for e in events] == [
        (0, 7, "offline eval passed")
    ]
    assert events[0]["author"] == "Test Author"


# -- check --base/--head: each violation on its own -------------------------------------


@pytest.fixture
def governed(registry, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    cli_out(
        "registry",
        "create",
        "models",
        "--stages",
        "staging,production",
        "--protected",
        "production",
        "--gate",
        "production: f1 >= 0.9",
        "--requires-previous",
        "production",
    )
    train("weights", 0.95)
    cli_out("link", "training/sentiment-classifier:v0", "model-registry/models")
    return registry


def change_on_branch(root: Path, edits: dict[str, str | None]) -> None:
    git(root, "checkout", "--quiet", "-b", "change")
    for path, text in edits.items():
        target = root / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "hand edit")


def problems(store: RegistryStore, **kwargs) -> list[str]:
    return [str(p) for p in checks.run_checks(store, base="main", head="change", **kwargs).problems]


VERSION = "projects/training/sentiment-classifier/versions/v0.yaml"
LINK = "registries/models/sentiment-classifier/links/v0.yaml"
ALIASES = "registries/models/sentiment-classifier/aliases"
STAMP = "'2026-11-26T00:00:00Z'"


def alias_doc(alias: str, version: int) -> str:
    return f"kind: alias\nalias: {alias}\nversion: {version}\nset_at: {STAMP}\n"


CASES = {
    "version-modified": (
        {VERSION: "MODIFY"},
        f"{VERSION}: $: versions are immutable: this file was modified",
    ),
    "version-deleted": (
        {VERSION: None},
        f"{VERSION}: $: versions are immutable: this file was deleted",
    ),
    "link-modified": ({LINK: "MODIFY"}, f"{LINK}: $: links are immutable: this file was modified"),
    "alias-to-missing-version": (
        {"projects/training/sentiment-classifier/aliases/best.yaml": alias_doc("best", 9)},
        "projects/training/sentiment-classifier/aliases/best.yaml: $.version: alias 'best' names v9, which does not exist",
    ),
    "registry-alias-to-missing-link": (
        {f"{ALIASES}/staging.yaml": alias_doc("staging", 4)},
        f"{ALIASES}/staging.yaml: $.version: alias 'staging' names v4, which does not exist",
    ),
    "stage-order": (
        {f"{ALIASES}/production.yaml": alias_doc("production", 0)},
        f"{ALIASES}/production.yaml: $.version: model-registry/models/sentiment-classifier:v0 cannot take 'production': the version must hold 'staging' before 'production'",
    ),
    "schema-invalid": (
        {
            f"{ALIASES}/staging.yaml": "kind: alias\nalias: staging\nversion: zero\nset_at: "
            + STAMP
            + "\n"
        },
        f"{ALIASES}/staging.yaml: $.version: 'zero' is not of type 'integer'",
    ),
    "unexpected-file": (
        {"projects/training/notes.txt": "hello"},
        "projects/training/notes.txt: $: not a registry file (unexpected path)",
    ),
    "link-with-wrong-digest": (
        {
            "registries/models/other/links/v0.yaml": (
                "kind: link\nregistry: models\ncollection: other\nversion: 0\nsource:\n"
                "  artifact: training/sentiment-classifier\n  version: 0\n  digest: "
                + "f" * 64
                + f"\nlinked_at: {STAMP}\n"
            )
        },
        "registries/models/other/links/v0.yaml: $.source.digest: does not match the digest of training/sentiment-classifier:v0",
    ),
    "version-gap": (
        {"projects/training/sentiment-classifier/versions/v5.yaml": "COPY"},
        "projects/training/sentiment-classifier/versions/v5.yaml: $.version: is 0, but the file is named v5.yaml",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_refuses(governed, case):
    edits, expected = CASES[case]
    root = governed.root
    resolved: dict[str, str | None] = {}
    for path, text in edits.items():
        if text == "MODIFY":
            text = (root / path).read_text() + "\n# edited by hand\n"
        elif text == "COPY":
            text = (root / VERSION).read_text()
        resolved[path] = text
    change_on_branch(root, resolved)
    found = problems(governed)
    assert expected in found, found


def test_check_refuses_a_failing_gate(governed):
    train("weak weights", 0.5)
    cli_out("link", "training/sentiment-classifier:v1", "model-registry/models")
    change_on_branch(
        governed.root,
        {
            f"{ALIASES}/staging.yaml": alias_doc("staging", 1),
        },
    )
    git(governed.root, "checkout", "--quiet", "main")
    git(governed.root, "merge", "--quiet", "change")
    git(governed.root, "branch", "-D", "change")
    change_on_branch(governed.root, {f"{ALIASES}/production.yaml": alias_doc("production", 1)})
    assert problems(governed) == [
        f"{ALIASES}/production.yaml: $.version: model-registry/models/sentiment-classifier:v1 cannot take 'production': f1 >= 0.9: f1 is 0.5, needs >= 0.9"
    ]


def test_check_refuses_a_protected_alias_moved_on_main(governed, monkeypatch):
    monkeypatch.delenv("GITHUB_EVENT_NAME")
    git(governed.root, "checkout", "--quiet", "-b", "staging-move")
    write(governed.root / f"{ALIASES}/staging.yaml", alias_doc("staging", 0))
    git(governed.root, "add", "-A")
    git(governed.root, "commit", "--quiet", "-m", "stage")
    git(governed.root, "checkout", "--quiet", "main")
    git(governed.root, "merge", "--quiet", "staging-move")
    base = git(governed.root, "rev-parse", "HEAD")
    write(governed.root / f"{ALIASES}/production.yaml", alias_doc("production", 0))
    git(governed.root, "add", "-A")
    git(governed.root, "commit", "--quiet", "-m", "straight to production")
    found = [str(p) for p in checks.run_checks(governed, base=base, head="main").problems]
    assert found == [
        f"{ALIASES}/production.yaml: $.alias: protected alias 'production' was moved outside a pull request"
    ]
    # The same change on a branch is a pull request's, and passes.
    git(governed.root, "branch", "pr", "main")
    git(governed.root, "reset", "--quiet", "--hard", base)
    assert checks.run_checks(governed, base=base, head="pr").ok


def test_verify_blobs_reports_a_missing_blob(governed):
    base = git(governed.root, "rev-parse", "HEAD")
    train("fresh weights", 0.91)
    digest = wandb.Api().artifact("training/sentiment-classifier:v1").files()[0].digest[7:]
    blob = governed.root / ".blobs/sha256" / digest[:2] / digest
    blob.chmod(0o644)
    blob.unlink()
    report = json.loads(
        cli_out("check", "--base", base, "--head", "HEAD", "--verify-blobs", "--json", code=1)
    )
    assert report["problems"] == [
        {
            "path": "projects/training/sentiment-classifier/versions/v1.yaml",
            "field": "$.entries",
            "message": f"blob sha256:{digest} is not in storage with that digest",
        }
    ]


def test_github_actions_annotations_and_summary(governed, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    change_on_branch(governed.root, {f"{ALIASES}/staging.yaml": alias_doc("staging", 4)})
    output = cli_out("check", "--base", "main", "--head", "change", code=1)
    assert (
        f"::error file={ALIASES}/staging.yaml,line=3::$.version: alias 'staging' names v4, which does not exist"
        in output
    )
    text = summary.read_text()
    assert "## registry-tool check" in text and "names v4" in text


def test_verify_blobs_reports_a_tampered_blob(governed):
    base = git(governed.root, "rev-parse", "HEAD")
    train("other weights", 0.92)
    digest = wandb.Api().artifact("training/sentiment-classifier:v1").files()[0].digest[7:]
    blob = governed.root / ".blobs/sha256" / digest[:2] / digest
    blob.chmod(0o644)
    blob.write_text("tampered")
    report = json.loads(
        cli_out("check", "--base", base, "--head", "HEAD", "--verify-blobs", "--json", code=1)
    )
    assert [p["message"] for p in report["problems"]] == [
        f"blob sha256:{digest} is not in storage with that digest"
    ]
