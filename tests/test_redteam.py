"""Attacks on the promotion flow, each run through the check workflow as GitHub runs
it (``tests/ghsim.py``): a bare repo as GitHub, GitHub's merge commit, the event
payload, the generated workflow's own check step. Each asserts the specific problem
``check`` reports, and that the honest path next to it passes.

The registry: model-registry ``models`` with stages staging → production, production
protected, gated on ``f1 >= 0.9`` and on holding staging first; ``training/clf`` v0
(f1 0.95) linked as v0 and holding staging and production; v1 (f1 0.5) linked as v1.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

import registry_tool as wandb
from registry_tool._model import layout
from registry_tool._model.governance import ModelRegistryConfig
from registry_tool._store import init_registry
from tests.ghsim import TOKEN, GitHub
from tests.helpers import cli_out, git, write

ALIASES = "registries/models/clf/aliases"
PRODUCTION = f"{ALIASES}/production.yaml"
STAGING = f"{ALIASES}/staging.yaml"
CONFIG = "registries/models/registry.yaml"
STAMP = "'2026-12-05T00:00:00Z'"


def alias_doc(alias: str, version: int, reason: str = "looks good") -> str:
    return f"kind: alias\nalias: {alias}\nversion: {version}\nset_at: {STAMP}\nreason: {reason}\n"


def train(content: str, f1: float) -> None:
    write("model.pth", content)
    with wandb.init(project="training", job_type="train") as run:
        model = wandb.Artifact("clf", type="model", metadata={"f1": f1})
        model.add_file("model.pth")
        run.log_artifact(model)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    seed = init_registry(tmp_path / "seed", name="acme", storage=str(tmp_path / "blobs"))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(seed.root))
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
    train("good weights", 0.95)
    train("weak weights", 0.5)
    cli_out("link", "training/clf:v0", "model-registry/models", "--alias", "staging")
    cli_out("link", "training/clf:v1", "model-registry/models")
    # The first production holder, committed as the set-up of the story.
    write(seed.root / PRODUCTION, alias_doc("production", 0))
    git(seed.root, "add", "-A")
    git(seed.root, "commit", "--quiet", "-m", "Merge pull request #0 from acme/first")
    monkeypatch.delenv("REGISTRY_TOOL_DIR")
    hub = GitHub(tmp_path, seed.root)
    yield hub
    hub.close()


def branch(
    hub: GitHub, name: str, edits: dict[str, str | None], *, clone: Path | None = None
) -> str:
    """``edits`` committed on branch ``name`` of a clone and pushed to its origin."""
    root = clone or hub.clone(f"clone-{name}")
    git(root, "checkout", "--quiet", "-B", name, "origin/main")
    for path, text in edits.items():
        target = root / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"{name}")
    git(root, "push", "--quiet", "--force", "origin", name)
    return name


def problems(job) -> str:
    return job.output


def promote_branch(hub: GitHub, name: str, version: int, **extra: str | None) -> str:
    branch(hub, name, {PRODUCTION: alias_doc("production", version), **extra})
    return name


def assert_reports(job, *expected: str) -> None:
    """The job failed, and said each ``expected`` in its log and (the message, after
    any ``path: $.field:``) in its step summary."""
    assert not job.ok, job.output
    summary = html.unescape(job.summary.replace("\\", "").replace("\u200d", ""))
    for text in expected:
        assert text in job.output, job.output
        message = re.sub(r"^\S+: \$\S*: ", "", text)
        assert message in summary, summary


@pytest.fixture
def trainer(hub, monkeypatch):
    """A team member's clone, where the SDK and CLI write (and push to main)."""
    root = hub.clone("trainer")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))
    return root


def better_model(hub: GitHub) -> tuple[str, str]:
    """v2 (f1 0.97) logged and linked (as model-registry/models/clf:v2, staging) by its
    own pushes to main: the push event's (before, after)."""
    before = hub.main()
    train("better weights", 0.97)
    cli_out("link", "training/clf:v2", "model-registry/models", "--alias", "staging")
    return before, hub.main()


# -- the honest path, through each way of merging ----------------------------------------


@pytest.mark.parametrize("how", ["merge", "squash", "rebase"])
def test_a_reviewed_promotion_passes_as_a_pull_request_and_as_the_push_it_becomes(
    hub, trainer, how
):
    job = hub.check_push(*better_model(hub))
    assert job.ok, job.output  # staging is not protected: a direct write is fine
    pr = hub.open_pull_request(promote_branch(hub, "promote", 2))
    job = hub.check_pull_request(pr)
    assert job.ok, job.output
    assert hub.check_merge_group(pr).ok
    job = hub.check_push(*hub.merge(pr, how))
    assert job.ok, job.output
    # GitHub was asked, with the job's token, which pull request the commit merged.
    assert hub.api.requests and {r["auth"] for r in hub.api.requests} == {f"Bearer {TOKEN}"}


def test_the_check_step_run_by_bash_as_the_runner_runs_it(hub, trainer):
    # The other tests run the step's one registry-tool command in-process; here the
    # console script runs under bash, in the job's environment alone.
    hub.in_process = False
    assert hub.check_push(*better_model(hub)).ok
    pr = hub.open_pull_request(promote_branch(hub, "promote", 2))
    job = hub.check_pull_request(pr)
    assert job.ok, job.output
    forged = hub.open_pull_request(branch(hub, "forged", {PRODUCTION: alias_doc("staging", 1)}))
    assert_reports(
        hub.check_pull_request(forged), "is 'staging', but the file is named production.yaml"
    )


# -- every file is what its path says ----------------------------------------------------


def test_an_alias_file_whose_field_names_another_alias(hub):
    # production.yaml says it is staging: gates would be judged for staging, readers
    # resolve production by the file's name.
    pr = hub.open_pull_request(branch(hub, "forged", {PRODUCTION: alias_doc("staging", 1)}))
    assert_reports(
        hub.check_pull_request(pr), "is 'staging', but the file is named production.yaml"
    )


def test_a_model_registry_renamed_in_its_file(hub):
    config = yaml.safe_load((hub.clone("peek") / CONFIG).read_text())
    config["name"] = "other"
    pr = hub.open_pull_request(branch(hub, "rename", {CONFIG: yaml.safe_dump(config)}))
    assert_reports(hub.check_pull_request(pr), "is 'other', but the registry's folder is models")


# -- introduce and promote are separate reviews ------------------------------------------


def test_one_change_that_adds_a_version_links_it_and_promotes_it(hub):
    # The bytes of the failing model (v1's manifest), with invented metrics, as v2.
    root = hub.clone("forger")
    v1 = yaml.safe_load((root / layout.version_file("training", "clf", 1)).read_text())
    v2 = {**v1, "version": 2, "metadata": {"f1": 0.99}}
    link = yaml.safe_load((root / layout.link_file("models", "clf", 1)).read_text())
    link2 = {**link, "version": 2, "source": {**link["source"], "version": 2}}
    edits = {
        layout.version_file("training", "clf", 2): yaml.safe_dump(v2),
        layout.link_file("models", "clf", 2): yaml.safe_dump(link2),
        STAGING: alias_doc("staging", 2),
        PRODUCTION: alias_doc("production", 2),
    }
    pr = hub.open_pull_request(branch(hub, "smuggle", edits, clone=root))
    assert_reports(
        hub.check_pull_request(pr),
        "model-registry/models/clf:v2 is new in this change, which also moves the "
        "protected stage 'production' to it",
    )


def test_a_link_of_a_type_the_registry_does_not_take(hub, trainer):
    config = yaml.safe_load((trainer / CONFIG).read_text())
    config["types"] = ["model"]
    before = hub.main()
    write(trainer / CONFIG, yaml.safe_dump(config))
    git(trainer, "commit", "--quiet", "-am", "Merge pull request #3 from acme/types")
    git(trainer, "push", "--quiet", "origin", "HEAD:main")
    assert hub.check_push(before, hub.main()).ok
    write("data.csv", "a,b\n")
    with wandb.init(project="training") as run:
        data = wandb.Artifact("data", type="dataset")
        data.add_file("data.csv")
        run.log_artifact(data)
    root = hub.clone("linker")
    v0 = yaml.safe_load((root / layout.version_file("training", "data", 0)).read_text())
    link = yaml.safe_load((root / layout.link_file("models", "clf", 1)).read_text())
    source = {"artifact": "training/data", "version": 0, "digest": v0["digest"]}
    link2 = {**link, "version": 2, "source": source}
    pr = hub.open_pull_request(
        branch(
            hub, "typed", {layout.link_file("models", "clf", 2): yaml.safe_dump(link2)}, clone=root
        )
    )
    assert_reports(hub.check_pull_request(pr), "takes model")


# -- CI judges what merges ---------------------------------------------------------------


def raise_gate(hub: GitHub, threshold: float) -> tuple[str, str]:
    """The gate raised on main by a change of its own, merged as a pull request (red:
    the current holder fails it, which the pull request's check says)."""
    root = hub.clone(f"gatekeeper-{threshold}")
    config = yaml.safe_load((root / CONFIG).read_text())
    config["gates"]["production"]["conditions"] = [f"f1 >= {threshold}"]
    pr = hub.open_pull_request(branch(hub, "gate", {CONFIG: yaml.safe_dump(config)}, clone=root))
    assert_reports(hub.check_pull_request(pr), "clf:v0 cannot hold 'production'")
    return hub.merge(pr)


def test_a_gate_raised_on_main_while_a_promotion_is_open(hub, trainer):
    hub.check_push(*better_model(hub))  # v2, f1 0.97, holds staging
    pr = hub.open_pull_request(promote_branch(hub, "promote", 2))
    assert hub.check_pull_request(pr).ok
    # The gate is raised above every model's score by a change of its own. Its pull
    # request is red, and so is main once it merges anyway: production's holder (v0,
    # f1 0.95) no longer meets the gate of main.
    job = hub.check_push(*raise_gate(hub, 0.98))
    assert_reports(job, "clf:v0 cannot hold 'production': f1 >= 0.98: f1 is 0.95, needs >= 0.98")
    # The open promotion is judged again as it would merge now: against the raised gate.
    assert_reports(hub.check_pull_request(pr), "f1 >= 0.98: f1 is 0.97, needs >= 0.98")
    # Merged anyway (no up-to-date rule): the push to main is red, and so is main.
    assert_reports(hub.check_push(*hub.merge(pr)), "f1 is 0.97, needs >= 0.98")
    job = hub.run_check("push", {"before": "0" * 40, "after": hub.main()}, checkout=hub.main())
    assert_reports(job, "clf:v2 cannot hold 'production': f1 >= 0.98: f1 is 0.97, needs >= 0.98")


def test_a_pull_request_checkout_that_is_not_the_merge_commit_is_refused(hub):
    pr = hub.open_pull_request(promote_branch(hub, "promote", 1))
    payload = {"pull_request": {"number": 1, "head": {"sha": pr.head}, "base": {"sha": hub.main()}}}
    job = hub.run_check("pull_request", payload, checkout=pr.head)
    assert not job.ok and "is not GitHub's merge commit of this pull request" in job.output


# -- nothing unreviewed takes production down ---------------------------------------------


def test_soft_deleting_the_version_production_holds(hub):
    root = hub.clone("deleter")
    path = layout.version_file("training", "clf", 0)
    doc = yaml.safe_load((root / path).read_text())
    doc["deleted"] = {"at": "2026-12-05T00:00:00Z", "by": "mallory", "reason": "cleanup"}
    pr = hub.open_pull_request(branch(hub, "delete", {path: yaml.safe_dump(doc)}, clone=root))
    assert_reports(
        hub.check_pull_request(pr),
        "training/clf:v0 is soft-deleted while it holds the protected stage 'production'",
    )


def test_unlinking_the_link_production_holds(hub):
    mark = {
        "kind": "unlink",
        "registry": "models",
        "collection": "clf",
        "version": 0,
        "unlinked_at": "2026-12-05T00:00:00Z",
    }
    path = layout.unlink_file("models", "clf", 0)
    pr = hub.open_pull_request(branch(hub, "unlink", {path: yaml.safe_dump(mark)}))
    assert_reports(
        hub.check_pull_request(pr),
        "model-registry/models/clf:v0 is unlinked while it holds the protected stage",
    )


# -- a push to main: how each protected stage arrived -------------------------------------


def test_a_direct_push_that_moves_production(hub, trainer):
    hub.check_push(*better_model(hub))
    write(trainer / PRODUCTION, alias_doc("production", 2))
    git(trainer, "commit", "--quiet", "-am", "hotfix")
    assert_reports(
        hub.check_push(*hub.push(trainer)),
        "protected alias 'production' was moved outside a pull request",
    )


@pytest.mark.parametrize(
    "subject", ["Merge pull request #42 from acme/promote", "Promote clf v2 (#42)"]
)
def test_a_direct_push_titled_as_a_pull_request(hub, trainer, subject):
    hub.check_push(*better_model(hub))
    git(trainer, "checkout", "--quiet", "-b", "promote")
    write(trainer / PRODUCTION, alias_doc("production", 2))
    git(trainer, "commit", "--quiet", "-am", "promote")
    git(trainer, "checkout", "--quiet", "main")
    if subject.startswith("Merge"):
        git(trainer, "merge", "--quiet", "--no-ff", "-m", subject, "promote")
    else:
        git(trainer, "merge", "--quiet", "--squash", "promote")
        git(trainer, "commit", "--quiet", "-m", subject)
    assert_reports(
        hub.check_push(*hub.push(trainer)),
        "protected alias 'production' was moved outside a pull request",
    )


def test_a_force_push_to_main(hub, trainer):
    hub.check_push(*better_model(hub))
    git(trainer, "reset", "--quiet", "--hard", "HEAD~1")
    before, after = hub.push(trainer, force=True)
    assert_reports(hub.check_push(before, after, forced=True), "main was force-pushed")


# -- forks ---------------------------------------------------------------------------------


def test_a_promotion_from_a_fork(hub, trainer):
    hub.check_push(*better_model(hub))
    fork = hub.fork("contributor")
    root = hub.clone("contributor-clone")
    git(root, "remote", "set-url", "origin", str(fork))
    git(root, "fetch", "--quiet", "origin")
    forged = branch(hub, "forged", {PRODUCTION: alias_doc("production", 1)}, clone=root)
    pr = hub.open_pull_request(forged, source=fork)
    assert_reports(hub.check_pull_request(pr), "f1 >= 0.9: f1 is 0.5, needs >= 0.9")
    honest = branch(hub, "promote", {PRODUCTION: alias_doc("production", 2)}, clone=root)
    pr = hub.open_pull_request(honest, source=fork)
    job = hub.check_pull_request(pr)
    assert job.ok, job.output
    assert hub.check_push(*hub.merge(pr)).ok


# -- storage and gates move alone ---------------------------------------------------------


def test_the_storage_url_changed_with_other_files(hub):
    root = hub.clone("mover")
    config = yaml.safe_load((root / "registry.yaml").read_text())
    config["storage"] = {"url": "s3://attacker-bucket/blobs", "endpoint_url": "https://evil.test"}
    edits = {"registry.yaml": yaml.safe_dump(config), STAGING: alias_doc("staging", 1)}
    pr = hub.open_pull_request(branch(hub, "storage", edits, clone=root))
    assert_reports(hub.check_pull_request(pr), "a storage change merges alone")
    alone = hub.open_pull_request(
        branch(hub, "storage-alone", {"registry.yaml": yaml.safe_dump(config)}, clone=root)
    )
    job = hub.check_pull_request(alone)
    assert job.ok, job.output


def test_a_promotion_that_lowers_its_own_gate(hub):
    root = hub.clone("lowerer")
    config = yaml.safe_load((root / CONFIG).read_text())
    config["gates"]["production"]["conditions"] = ["f1 >= 0.1"]
    config["gates"]["production"]["requires_previous_stage"] = False
    edits = {CONFIG: yaml.safe_dump(config), PRODUCTION: alias_doc("production", 1)}
    pr = hub.open_pull_request(branch(hub, "lower", edits, clone=root))
    assert_reports(hub.check_pull_request(pr), "a gate or protection change needs its own review")


def test_a_full_check_reports_a_link_of_a_type_the_registry_does_not_take(hub):
    root = hub.clone("typed-tree")
    config = yaml.safe_load((root / CONFIG).read_text())
    config["types"] = ["dataset"]
    write(root / CONFIG, yaml.safe_dump(config))
    from registry_tool._checks import run_checks

    found = [str(p) for p in run_checks(root).problems]
    assert (
        f"{layout.link_file('models', 'clf', 1)}: $.source: training/clf:v1 is of type "
        "'model'; model-registry/models takes dataset"
    ) in found


# -- the site runs no code from the registry repo ------------------------------------------


def test_a_mkdocs_yml_with_hooks_or_a_linked_template(hub):
    root = hub.clone("site")
    edits = {"mkdocs.yml": "site_name: ours\nhooks:\n  - evil.py\n", "evil.py": "import os\n"}
    pr = hub.open_pull_request(branch(hub, "hooks", edits, clone=root))
    assert_reports(hub.check_pull_request(pr), "mkdocs.yml: $.hooks: not allowed")
    git(root, "checkout", "--quiet", "-B", "linked", "origin/main")
    (root / "site_templates").mkdir()
    (root / "site_templates/home.md.j2").symlink_to("/etc/passwd")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "theme")
    git(root, "push", "--quiet", "origin", "linked")
    pr = hub.open_pull_request("linked")
    assert_reports(hub.check_pull_request(pr), "site_templates/home.md.j2: $: not a regular file")
    from registry_tool._checks import run_checks

    found = [str(p) for p in run_checks(root).problems]
    assert any(p.startswith("site_templates/home.md.j2: $: not a regular file") for p in found)


# -- CODEOWNERS follows the policy ---------------------------------------------------------


@pytest.fixture
def owned(hub, trainer):
    """The registry set up for GitHub: a CODEOWNERS covering what governs it."""
    from registry_tool._model import codeowners

    config = yaml.safe_load((trainer / CONFIG).read_text())
    required = codeowners.required_paths(None, [ModelRegistryConfig.from_doc(config)])
    write(trainer / ".github/CODEOWNERS", codeowners.with_paths("", required, ["@acme/approvers"]))
    git(trainer, "add", "-A")
    git(trainer, "commit", "--quiet", "-m", "Merge pull request #1 from acme/owners")
    assert hub.check_push(*hub.push(trainer)).ok
    return hub


def test_a_stage_made_protected_without_codeowners_following(owned, trainer):
    config = yaml.safe_load((trainer / CONFIG).read_text())
    config["protected"] = ["staging", "production"]
    pr = owned.open_pull_request(branch(owned, "protect", {CONFIG: yaml.safe_dump(config)}))
    assert_reports(
        owned.check_pull_request(pr),
        "/registries/models/*/aliases/staging.yaml has no owner here",
    )


def test_a_registry_created_with_a_protected_stage_updates_codeowners_in_the_same_commit(
    owned, trainer
):
    before = owned.main()
    cli_out("registry", "create", "vision", "--stages", "prod", "--protected", "prod")
    changed = git(trainer, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(changed) == [".github/CODEOWNERS", "registries/vision/registry.yaml"]
    assert "/registries/vision/*/aliases/prod.yaml" in (trainer / ".github/CODEOWNERS").read_text()
    job = owned.check_push(before, owned.main())
    assert job.ok, job.output


def test_codeowners_taken_off_what_governs_the_registry(owned, trainer):
    text = (trainer / ".github/CODEOWNERS").read_text()
    edits = {".github/CODEOWNERS": text + "/registries/models/registry.yaml\n"}
    pr = owned.open_pull_request(branch(owned, "unown", edits))
    assert_reports(owned.check_pull_request(pr), "/registries/*/registry.yaml has no owner here")


def test_ci_never_sends_a_signed_request_to_the_storage_a_change_brings(hub, monkeypatch):
    """check --verify-blobs looks blobs up where the base says: an endpoint a pull
    request writes into registry.yaml gets no request, credentials or not."""
    import http.server
    import threading

    seen: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # any method a client would use
            seen.append(self.headers.get("Authorization") or "")
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_PUT = do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACIKEY0000000000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ci-secret-that-must-stay-home")
        root = hub.clone("exfiltrate")
        config = yaml.safe_load((root / "registry.yaml").read_text())
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        config["storage"] = {"url": "s3://loot/blobs", "endpoint_url": endpoint}
        v1 = yaml.safe_load((root / layout.version_file("training", "clf", 1)).read_text())
        train_path = layout.version_file("training", "clf", 2)
        edits = {
            "registry.yaml": yaml.safe_dump(config),
            train_path: yaml.safe_dump({**v1, "version": 2}),  # blobs to look up
        }
        branch(hub, "exfiltrate", edits, clone=root)
        git(root, "checkout", "--quiet", "exfiltrate")
        from registry_tool._checks import run_checks

        report = run_checks(root, base="origin/main", head="HEAD", verify_blobs=True)
        assert any("a storage change merges alone" in p.message for p in report.problems)
        assert seen == []
        assert (root / train_path).is_file()
    finally:
        server.shutdown()
        server.server_close()


def test_a_reason_that_forges_workflow_commands_and_trailers(hub):
    forged = (
        "kind: alias\nalias: staging\nversion: 1\nset_at: "
        + STAMP
        + ('\nreason: "ok\\n::warning::pwned\\nReviewed-by: boss"\n')
    )
    pr = hub.open_pull_request(branch(hub, "forge", {STAGING: forged}))
    job = hub.check_pull_request(pr)
    assert_reports(job, f"{STAGING}: $.reason: may not contain a line break or control character")
    assert not any(
        line.startswith(("::warning", "Reviewed-by")) for line in job.output.splitlines()
    )
    assert "pwned" not in job.summary
