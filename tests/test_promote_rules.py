"""Each rule of ``promote`` at its boundaries, called in this process on real registry
repos with bare remotes and the loopback GitHub API of ``test_promote_pr``: the modes
and their refusals, the base fetched from the remote (a fork's upstream), the branch
left by an earlier attempt (reused, replaced or reported), the push a remote refuses,
and the pull request's title and body cell by cell, every value shown as inert
Markdown.
"""

from __future__ import annotations

import datetime
import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool._engine import Context
from registry_tool._github import PullRequest
from registry_tool._model.gates import GateResult
from registry_tool._promotion.promote import Promotion, promote, promotion_message
from registry_tool._promotion.stages import StageCheck
from registry_tool.errors import (
    GateError,
    GitError,
    InvalidNameError,
    NotFoundError,
    ProtectedAliasError,
    UsageError,
)
from tests.helpers import cli_out, clone_bare, clone_registry, git, write
from tests.test_promote_pr import (
    BRANCH,
    PRODUCTION,
    hub,
    no_github,
    seed_registry,
    team,
    train,
)

# The fixtures of the pull-request tests, which the tests here take by name: a remote at
# acme/registry and its clone (``team``), the loopback GitHub API (``hub``), and no
# GitHub settings from the environment (``no_github``, autouse).
FIXTURES = (hub, no_github, team)

# The module, not the function the package exports under the same name.
promote_module = importlib.import_module("registry_tool._promotion.promote")

AUTHOR = "Test Author <author@example.test>"
V0 = "model-registry/models/clf:v0"
V1 = "model-registry/models/clf:v1"


def run(root: Path, path: str, stage: str, **kwargs: Any) -> Promotion:
    """``promote`` on a freshly opened registry, as one command does it."""
    return promote(Context.open(root), path, stage, **kwargs)


def commit_file(root: Path, name: str, content: str) -> None:
    """Commit ``name`` with ``content`` on the current branch of ``root``."""
    write(root / name, content)
    git(root, "add", name)
    git(root, "commit", "--quiet", "-m", f"add {name}")


def log(content: str, metadata: str) -> None:
    """A version of training/clf logged without a run (as ``registry-tool log`` does)."""
    write("model.bin", content)
    cli_out("log", "model.bin", "--name", "training/clf", "--type", "model", "--metadata", metadata)


def push_branch(mate: Path, start: str, files: dict[str, str], message: str) -> str:
    """In a teammate's clone: ``BRANCH`` made a commit on ``start`` changing ``files``,
    force-pushed to the remote; returns the commit."""
    git(mate, "checkout", "--quiet", "-B", BRANCH, start)
    for name, content in files.items():
        write(mate / name, content)
    git(mate, "add", "--all")
    git(mate, "commit", "--quiet", "--allow-empty", "-m", message)
    git(mate, "push", "--quiet", "--force", "origin", BRANCH)
    return git(mate, "rev-parse", "HEAD")


# -- values shown in the pull request: one visible line, inert ---------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain text", "plain text"),
        ("a\r\nb\rc\nd", "a↵b↵c↵d"),
        ({"k": "é", "n": [1, None, True]}, '{"k": "é", "n": [1, null, true]}'),
        (0.5, "0.5"),
        (None, "null"),
        (False, "false"),
        (datetime.date(2024, 1, 2), '"2024-01-02"'),
        ("tab\there", "tab\\u0009here"),
    ],
)
def test_a_value_is_one_line_of_visible_text(value, shown):
    assert promote_module._text(value) == shown


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x09", "\x0b", "\x1f", "\x7f", "\x9f", "\u200b", "\u200f", "\u2028", "\u202e",
     "\u2060", "\u2069", "\ufeff"],
)  # fmt: skip
def test_each_hidden_character_is_shown_as_its_escape(char):
    escape = f"\\u{ord(char):04x}"
    assert promote_module._text(f"a{char}b") == f"a{escape}b"
    if not f"a{char}b".splitlines()[1:]:  # a line break splits the reason's block instead
        assert promote_module._fenced(f"a{char}b") == f"```text\na{escape}b\n```"


@pytest.mark.parametrize("char", [" ", "~", "\xa0", "\u200a", "\u202f", "\u2070"])
def test_characters_next_to_the_hidden_ranges_are_kept(char):
    assert promote_module._text(f"a{char}b") == f"a{char}b"


@pytest.mark.parametrize(
    ("value", "cell", "code"),
    [
        ("", True, "*(empty)*"),
        ("a|b", True, "`a\\|b`"),
        ("a|b", False, "`a|b`"),
        ("a`b", True, "``a`b``"),
        ("a``b`", True, "``` a``b` ```"),
        ("`a", True, "`` `a ``"),
        ("a`", True, "`` a` ``"),
        (" a ", True, "`  a  `"),
        (" a", True, "` a`"),
        ("a ", True, "`a `"),
        ("  ", True, "`  `"),
        (" X ", True, "`  X  `"),
        (" \u3000 ", True, "`  \u3000  `"),
        ("x\ny", False, "`x↵y`"),
        (3, True, "`3`"),
    ],
)
def test_a_code_span_is_fenced_past_every_backtick_run_and_padded_only_when_needed(
    value, cell, code
):
    assert promote_module._code(value, cell=cell) == code


def test_a_code_span_is_a_table_cell_by_default():
    assert promote_module._code("|") == "`\\|`"


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("why", "```text\nwhy\n```"),
        ("one\ntwo", "```text\none\ntwo\n```"),
        ("``", "```text\n``\n```"),
        ("a ``` b", "````text\na ``` b\n````"),
        ("a ```` b ``", "`````text\na ```` b ``\n`````"),
    ],
)
def test_a_reason_is_a_fenced_block_longer_than_any_backtick_run(text, block):
    assert promote_module._fenced(text) == block


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (GateResult("f1 >= 0.9", True, 0.94, "f1 is 0.94"), "f1 0.94 ≥ 0.9"),
        (GateResult("metadata.loss <= 1", True, 0, "loss is 0"), "loss 0 ≤ 1"),
        (GateResult("tag == 'ok'", True, "ok", "tag is 'ok'"), "tag ok = ok"),
        (GateResult("tag != 'ok'", True, "no", "tag is 'no'"), "tag no ≠ ok"),
        (GateResult("n > 2", False, 2, "n is 2, needs > 2"), "n 2 > 2"),
        (GateResult("n < 2", True, 1, "n is 1"), "n 1 < 2"),
        (GateResult("a.b > 0.5", False, None, "a.b is not in the metadata"), "a.b (missing) > 0.5"),
        (GateResult("x == null", True, None, "x is None"), "x null = null"),
        (GateResult("x > 1", False, "a\nb", "x is 'a\\nb', which cannot be compared with 1"),
         "x a↵b > 1"),
    ],
)  # fmt: skip
def test_a_gate_verdict_reads_value_operator_threshold(result, verdict):
    assert promote_module._verdict(result) == verdict


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (promote_module._NONE, "*(none)*"),
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (0.25, "0.25"),
        ("x|y", "`x\\|y`"),
        ([1, "a"], '`[1, "a"]`'),
        ("", "*(empty)*"),
    ],
)
def test_a_metadata_value_is_shown_bare_only_when_nothing_in_it_renders(value, shown):
    assert promote_module._shown(value) == shown


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (b"", "no output"),
        (b"\n  \n", "no output"),
        (b"To remote\n  last words  \n\n", "last words"),
        (b"hint: a\nerror: refused\nfatal: gone\n", "error: refused"),
        (b"hint: a\n  fatal: gone\n", "fatal: gone"),
        (b"fatal: gone\nhint: retry\n", "fatal: gone"),
        (b"error: refused\nhint: retry\n", "error: refused"),
        (b"! [rejected]\nhint: retry\n", "! [rejected]"),
        (b"To remote\n!\trefs/heads/x\t[remote rejected]\nDone\n", "!\trefs/heads/x\t[remote rejected]"),
        (b"remote: GH013: rules\nDone\n", "remote: GH013: rules"),
        (b"remote: GH1 rules\nDone\n", "Done"),
        (b"bad \xff byte", "bad \ufffd byte"),
    ],
)  # fmt: skip
def test_the_telling_line_of_git_output(output, line):
    assert promote_module._detail(output) == line


# -- the run's page on the published site ------------------------------------------------


@pytest.mark.parametrize(
    ("mkdocs", "page"),
    [
        (None, None),
        ("", None),
        ("site_url: https://r.example.test/\n", "https://r.example.test/runs/p%20q/r%2F1.html"),
        ("site_url: https://r.example.test\n", "https://r.example.test/runs/p%20q/r%2F1.html"),
        ("site_url: https://r.example.test:8443/a b//\n",
         "https://r.example.test:8443/a%20b/runs/p%20q/r%2F1.html"),
        ("site_url: https://r.example.test/X//\n", "https://r.example.test/X/runs/p%20q/r%2F1.html"),
        ("site_url: http://r.example.test/\n", None),
        ("site_url: https://r.example.test/?q=1\n", None),
        ("site_url: https://r.example.test/#top\n", None),
        ("site_url: https://me@r.example.test/\n", None),
        ("site_url: https:///nohost\n", None),
        ("site_url: 42\n", None),
        ("- site_url\n", None),
        ("site_url: [unclosed\n", None),
    ],
)  # fmt: skip
def test_the_run_page_needs_an_https_site_url_without_query_or_fragment(registry, mkdocs, page):
    root = registry.root
    if mkdocs is None:
        git(root, "rm", "--quiet", "--ignore-unmatch", "mkdocs.yml")
        git(root, "commit", "--quiet", "--allow-empty", "-m", "no site")
    else:
        commit_file(root, "mkdocs.yml", mkdocs)
    snap = Context.open(root).store.head()
    assert promote_module.run_page(snap, "p q", "r/1") == page


# -- the message a promotion commits -----------------------------------------------------


def test_the_commit_message_says_who_what_why_the_previous_holder_and_each_verdict(team):
    store, _ = team
    ctx = Context.open(store.root)
    found = ctx.resolve_ref(V0)
    assert found.link is not None
    verdict = StageCheck(
        "production",
        [
            GateResult("f1 >= 0.9", True, 0.95, "f1 is 0.95"),
            GateResult("loss < 1", False, 2, "loss is 2, needs < 1"),
        ],
        "staging",
        False,
    )
    digest = found.record.digest

    failed = promotion_message(ctx, found.link, found.record, "production", verdict, 3, None)
    held = replace(verdict, results=[], held_previous=True)
    passed = promotion_message(ctx, found.link, found.record, "production", held, 0, "ok")
    plain = replace(verdict, results=[], previous_stage=None, held_previous=None)
    bare = promotion_message(ctx, found.link, found.record, "production", plain, None, None)

    assert failed.splitlines() == [
        f"promote {V0} to production",
        "",
        f"Who: {AUTHOR}",
        f"What: training/clf:v0 (digest {digest[:12]})",
        "Why: (no reason given)",
        "Previous: v3",
        "Gate: f1 >= 0.9 -> pass (f1 is 0.95)",
        "Gate: loss < 1 -> FAIL (loss is 2, needs < 1)",
        "Gate: held staging -> FAIL",
        "Registry-Tool-Promotion: models/clf/production/v0",
    ]
    assert passed.splitlines()[4:] == [
        "Why: ok",
        "Previous: v0",
        "Gate: held staging -> pass",
        "Registry-Tool-Promotion: models/clf/production/v0",
    ]
    assert bare.splitlines()[5:] == [
        "Previous: none",
        "Registry-Tool-Promotion: models/clf/production/v0",
    ]


# -- a protected stage: a branch on the remote's main and a pull request -----------------


def first_body(digest: str, run_id: str, reason: str) -> str:
    return "\n".join(
        [
            "| | |",
            "|---|---|",
            "| Stage | `production` |",
            f"| Registry version | `{V0}` |",
            "| Source version | `training/clf:v0` |",
            f"| Digest | `{digest}` |",
            f"| Source run | `{run_id}` (job type `train`) |",
            f"| Promoted by | `{AUTHOR}` |",
            "",
            f"Lineage: none → run `{run_id}` (train) → `training/clf:v0`",
            "",
            "**Why**",
            "",
            "```text",
            reason,
            "```",
            "",
            "| Gate | Verdict | Result |",
            "|---|---|---|",
            "| `f1 >= 0.9` | `f1 0.95 ≥ 0.9` | pass |",
            "",
            "**`production` has no holder yet; this pull request gives it**",
            "",
            "| | |",
            "|---|---|",
            "| Registry version | `v0` |",
            "| Source version | `training/clf:v0` |",
            f"| Digest | `{digest}` |",
            "| metadata.f1 | 0.95 |",
            "",
            "Checked by `registry-tool check` in CI; merging this moves the stage.",
        ]
    )


def test_a_protected_stage_goes_by_a_branch_on_the_remote_main_and_a_pull_request(team, hub):
    store, bare = team
    root = store.root
    main = git(bare, "rev-parse", "main")
    # A ref whose name ends like the branch's is not the branch.
    git(bare, "update-ref", f"refs/tags/mirror/refs/heads/{BRANCH}", main)

    done = run(root, V0, "production", reason="offline eval passed")

    assert (done.mode, done.base, done.branch, done.previous, done.stage, done.reason) == (
        "pr", "origin/main", BRANCH, None, "production", "offline eval passed"
    )  # fmt: skip
    assert done.commit == git(bare, "rev-parse", BRANCH) == git(root, "rev-parse", BRANCH)
    assert git(bare, "rev-parse", f"{BRANCH}^") == main
    assert git(root, "rev-parse", "main") == main  # main itself is not touched
    assert git(root, "diff", "--name-only", f"main..{BRANCH}") == PRODUCTION
    assert git(root, "log", "-1", "--format=%B", BRANCH) == done.message
    assert git(root, "reflog", "--format=%gs", BRANCH) == f"promote: {BRANCH}"
    alias = yaml.safe_load(git(root, "show", f"{BRANCH}:{PRODUCTION}"))
    assert (alias["alias"], alias["version"], alias["reason"]) == ("production", 0, done.reason)
    assert "run" not in alias
    assert done.pull_request == PullRequest("api", "https://github.example/acme/registry/pull/7", 7)
    (post,) = hub.posts()
    assert post["path"] == "/repos/acme/registry/pulls"
    assert post["body"] == {
        "title": "Promote models/clf v0 to production",
        "head": BRANCH,
        "base": "main",
        "body": first_body(done.source.digest, str(done.source.run), "offline eval passed"),
    }

    # The same promotion again: the branch is this promotion on the current base.
    again = run(root, V0, "production", reason="offline eval passed")
    assert again.commit == done.commit == git(bare, "rev-parse", BRANCH)
    assert again.pull_request == replace(done.pull_request, existing=True)
    # The branch deleted here but not on the remote: the remote's is taken back.
    git(root, "branch", "--quiet", "-D", BRANCH)
    back = run(root, V0, "production", reason="offline eval passed")
    assert back.commit == done.commit == git(root, "rev-parse", BRANCH)
    # Another reason is another promotion on the same base: a new commit replaces it.
    other = run(root, V0, "production", reason="second look")
    assert other.commit != done.commit
    assert git(bare, "rev-parse", BRANCH) == other.commit == git(root, "rev-parse", BRANCH)
    assert git(bare, "rev-parse", f"{BRANCH}^") == main
    assert yaml.safe_load(git(bare, "show", f"{BRANCH}:{PRODUCTION}"))["reason"] == "second look"
    # Asked again without a reason: a reason of None matches no reason only.
    plain = run(root, V0, "production")
    assert plain.commit not in (done.commit, other.commit)
    assert "reason" not in yaml.safe_load(git(bare, "show", f"{BRANCH}:{PRODUCTION}"))
    assert run(root, V0, "production").commit == plain.commit


def test_the_body_shows_the_holder_diff_lineage_and_a_stage_without_gates(team, hub, monkeypatch):
    store, bare = team
    root = store.root
    write("model.bin", "weights 1")
    with wandb.init(project="training", job_type="train") as first:
        art = wandb.Artifact(
            "clf", type="model", metadata={"f1": 0.95, "gone": [1, 2], "kept": "same"}
        )
        art.add_file("model.bin")
        first.log_artifact(art)
    for name in ("data", "tok"):
        write(f"{name}.txt", name)
        with wandb.init(project="training", job_type="prep") as prep:
            made = wandb.Artifact(name, type="dataset")
            made.add_file(f"{name}.txt")
            prep.log_artifact(made)
    write("model.bin", "weights 2")
    with wandb.init(project="training", job_type="eval @ops|x", id="run-42") as second:
        second.use_artifact("training/data:v0")
        second.use_artifact("training/tok:v0")
        art = wandb.Artifact(
            "clf",
            type="model",
            metadata={"f1": 0.99, "kept": "same", "@k|x": "[a](b)", "nothing": None},
        )
        art.add_file("model.bin")
        second.log_artifact(art)
    cli_out("link", "training/clf:v1", "model-registry/models")
    cli_out("link", "training/clf:v2", "model-registry/models")
    held = run(root, V1, "staging")  # not protected: moved on main directly, and pushed
    assert (held.mode, held.branch, held.pull_request) == ("direct", None, None)
    assert held.commit == git(bare, "rev-parse", "main") == git(root, "rev-parse", "main")

    done = run(root, "model-registry/models/clf:v2", "staging", mode="pr")

    d1, d2 = held.source.digest, done.source.digest
    assert (done.mode, done.previous, done.branch) == ("pr", 1, "promote/models/clf/staging/v2")
    assert "Previous: v1" in done.message.splitlines()
    body = hub.posts()[-1]["body"]
    assert body["title"] == "Promote models/clf v2 to staging"
    assert body["body"].split("\n\n")[1:] == [
        "Lineage: `training/data:v0`, `training/tok:v0` → run `run-42` (`eval @ops|x`) → "
        "`training/clf:v2`",
        "**Why**",
        "```text\n(no reason given)\n```",
        "`staging` has no gates.",
        "**`staging` now (v1) → with this pull request**",
        "\n".join(
            [
                "| | |",
                "|---|---|",
                "| Registry version | `v1` → `v2` |",
                "| Source version | `training/clf:v1` → `training/clf:v2` |",
                f"| Digest | `{d1}` → `{d2}` |",
                "| `metadata.@k\\|x` | *(none)* → `[a](b)` |",
                "| metadata.f1 | 0.95 → 0.99 |",
                "| metadata.gone | `[1, 2]` → *(none)* |",
                "| metadata.nothing | *(none)* → null |",
            ]
        ),
        "Checked by `registry-tool check` in CI; merging this moves the stage.",
    ]
    assert "| Source run | `run-42` (job type `eval @ops\\|x`) |" in body["body"].splitlines()
    # Read on the current branch by default, which here is the base.
    ctx = Context.open(root)
    assert promote_module.pull_request_body(done, ctx) == body["body"]


# -- without a remote: the branch alone, no pull request ---------------------------------


@pytest.fixture
def solo(tmp_path, monkeypatch) -> Path:
    """The registry of ``seed_registry`` with no remote."""
    seed_registry(tmp_path / "solo", tmp_path, monkeypatch)
    return tmp_path / "solo"


def test_without_a_remote_each_mode_acts_on_this_clone_alone(solo, hub):
    main = git(solo, "rev-parse", "main")
    done = run(solo, V0, "production")
    assert (done.mode, done.base, done.branch, done.pull_request) == ("pr", "main", BRANCH, None)
    assert done.commit == git(solo, "rev-parse", BRANCH)
    assert git(solo, "rev-parse", f"{BRANCH}^") == main == git(solo, "rev-parse", "main")
    assert run(solo, V0, "production").commit == done.commit  # this promotion: reused

    staged = run(solo, V0, "staging", reason="smoke passed")  # auto, not protected: direct
    assert (staged.mode, staged.branch, staged.base) == ("direct", None, "main")
    staging = yaml.safe_load(git(solo, "show", "main:registries/models/clf/aliases/staging.yaml"))
    assert (staging["version"], staging["reason"]) == (0, "smoke passed")
    assert staged.commit == git(solo, "rev-parse", "main") != main
    assert git(solo, "log", "-1", "--format=%B", "main") == staged.message
    # The stage already names the version: nothing is written, in any mode.
    for mode, chosen in (("auto", "direct"), ("pr", "pr"), ("direct", "direct")):
        same = run(solo, V0, "staging", mode=mode, reason="again")
        assert (same.commit, same.mode, same.previous, same.reason) == (None, chosen, 0, "again")
    assert git(solo, "rev-parse", "main") == staged.commit
    assert git(solo, "branch", "--list", "promote/models/clf/staging/*") == ""
    assert hub.requests == []

    git(solo, "branch", "--quiet", "-f", BRANCH, "main")  # not a promotion's commit
    with pytest.raises(UsageError) as caught:
        run(solo, V0, "production")
    assert str(caught.value) == (
        f"branch {BRANCH!r} in this clone holds commits other than this promotion "
        f"({staged.commit[:12]}): merge or close its pull request, or delete it and promote "
        f"again: git -C {solo} branch -D {BRANCH}"
    )


def test_a_source_version_is_linked_first_into_the_only_registry_or_the_one_named(solo):
    train("weights 1", f1=0.97)
    done = run(solo, "training/clf:v1", "production")
    assert (done.link.path, done.branch) == (V1, "promote/models/clf/production/v1")
    assert git(solo, "rev-parse", f"{done.branch}^") == git(solo, "rev-parse", "main")
    assert git(solo, "show", "main:registries/models/clf/links/v1.yaml").startswith("kind: link")
    # Linked already: the source path names that link.
    assert run(solo, "training/clf:v1", "production").commit == done.commit

    cli_out("registry", "create", "other")
    train("weights 2", f1=0.97)
    with pytest.raises(UsageError) as caught:
        run(solo, "training/clf:v2", "production")
    assert str(caught.value) == (
        "say which model registry to promote in (--registry NAME); there are models, other"
    )
    plain = run(solo, "training/clf:v2", "anything", registry="other")  # no stages: any
    assert (plain.link.path, plain.mode) == ("model-registry/other/clf:v0", "direct")
    assert plain.verdict == StageCheck("anything")


def test_a_source_version_is_never_linked_into_a_registry_that_does_not_exist(solo):
    train("weights 1", f1=0.97)
    main = git(solo, "rev-parse", "main")
    with pytest.raises(NotFoundError) as caught:
        run(solo, "training/clf:v1", "production", registry="modles")
    assert str(caught.value) == "there is no model registry 'modles' on main"
    assert git(solo, "rev-parse", "main") == main
    assert not (solo / "registries" / "modles").exists()


def test_with_no_model_registry_a_source_version_has_nowhere_to_go(registry):
    train("weights 0", f1=0.95)
    with pytest.raises(UsageError) as caught:
        run(registry.root, "training/clf:v0", "production")
    assert str(caught.value) == (
        "say which model registry to promote in (--registry NAME); there is none yet"
    )


def test_refusals_come_before_anything_is_written(solo):
    train("weights 1", f1=0.5)
    main = git(solo, "rev-parse", "main")
    with pytest.raises(UsageError) as caught:
        run(solo, V0, "production", mode="sideways")
    assert str(caught.value) == "promotion mode 'sideways': use pr, direct or auto"
    with pytest.raises(InvalidNameError, match="invalid alias 'v1'"):
        run(solo, V0, "v1")
    with pytest.raises(UsageError) as caught:
        run(solo, "training/clf:v1", "staging", reason="ok\nReviewed-by: boss")
    assert str(caught.value) == "$.reason: may not contain a line break or control character"
    with pytest.raises(UsageError) as caught:
        run(solo, V0, "archive")
    assert str(caught.value) == (
        "'archive' is not a stage of model-registry/models (stages: staging, production)"
    )
    with pytest.raises(ProtectedAliasError) as caught:
        run(solo, V0, "production", mode="direct")
    assert str(caught.value) == (
        "'production' is protected in model-registry/models: promote through a pull request: "
        f"registry-tool promote {V0} --to production --pr"
    )
    assert git(solo, "rev-parse", "main") == main
    assert git(solo, "branch", "--list", "promote/*") == ""
    with pytest.raises(GateError) as caught:
        run(solo, "training/clf:v1", "production")
    assert str(caught.value) == (
        f"{V1} (training/clf:v1) cannot take 'production': f1 >= 0.9: f1 is 0.5, needs >= 0.9"
    )
    with pytest.raises(NotFoundError) as missing:
        run(solo, "training/clf:v9", "staging")
    with pytest.raises(NotFoundError) as resolved:
        Context.open(solo).resolve_ref("training/clf:v9")
    assert str(missing.value) == str(resolved.value)


def test_a_body_without_a_run_or_a_job_type_says_so(solo, monkeypatch):
    log("weights 1", '{"f1": 0.9}')
    cli_out("link", "training/clf:v1", "model-registry/models")
    ctx = Context.open(solo)
    done = run(solo, V1, "staging", reason="tried")
    body = promote_module.pull_request_body(done, ctx)
    assert body.split("\n\n")[:3] == [
        "\n".join(
            [
                "| | |",
                "|---|---|",
                "| Stage | `staging` |",
                f"| Registry version | `{V1}` |",
                "| Source version | `training/clf:v1` |",
                f"| Digest | `{done.source.digest}` |",
                f"| Promoted by | `{AUTHOR}` |",
            ]
        ),
        "**Why**",
        "```text\ntried\n```",
    ]
    # A verdict as ``check_stage`` gives it, failed or passed: each row says which.
    for passed, word in ((False, "FAIL"), (True, "pass")):
        verdict = StageCheck(
            "staging", [GateResult("f1 >= 0.95", passed, 0.9, "f1 is 0.9")], "dev", passed
        )
        lines = promote_module.pull_request_body(replace(done, verdict=verdict), ctx).splitlines()
        start = lines.index("| Gate | Verdict | Result |")
        assert lines[start : start + 5] == [
            "| Gate | Verdict | Result |",
            "|---|---|---|",
            f"| `f1 >= 0.95` | `f1 0.9 ≥ 0.95` | {word} |",
            f"| held `dev` first | | {word} |",
            "",
        ]
    held = replace(done, verdict=StageCheck("staging", [], "dev", True))
    lines = promote_module.pull_request_body(held, ctx).splitlines()
    start = lines.index("| Gate | Verdict | Result |")
    assert lines[start + 2 : start + 4] == ["| held `dev` first | | pass |", ""]
    # "|" is escaped in a table cell only: elsewhere the backslash would show.
    piped = replace(done, stage="x|y", verdict=StageCheck("x|y"))
    lines = promote_module.pull_request_body(piped, ctx).splitlines()
    assert lines[2] == "| Stage | `x\\|y` |"
    assert "`x|y` has no gates." in lines
    assert "**`x|y` has no holder yet; this pull request gives it**" in lines
    write("model.bin", "weights 2")
    with wandb.init(project="training", id="untyped") as untyped:
        art = wandb.Artifact("clf", type="model")
        art.add_file("model.bin")
        untyped.log_artifact(art)
    cli_out("link", "training/clf:v2", "model-registry/models")
    done = run(solo, "model-registry/models/clf:v2", "staging")
    lines = promote_module.pull_request_body(done, Context.open(solo)).splitlines()
    assert "| Source run | `untyped` (job type `none`) |" in lines
    assert "Lineage: none → run `untyped` (run) → `training/clf:v2`" in lines
    assert "| metadata.f1 | 0.9 → *(none)* |" in lines


# -- the base: the remote's branch, fetched now ------------------------------------------


def test_the_base_must_be_a_branch_the_remote_has_and_can_give(team, tmp_path):
    store, bare = team
    root = store.root
    git(root, "checkout", "--quiet", "--detach")
    with pytest.raises(UsageError) as caught:
        run(root, V0, "staging")
    assert str(caught.value) == (
        f"{root} has a detached HEAD: check out the main branch to promote"
    )
    git(root, "checkout", "--quiet", "-b", "work")
    with pytest.raises(UsageError) as caught:
        run(root, V0, "staging")
    assert str(caught.value) == (
        "'origin' has no branch 'work' for a promotion to merge into: push it first: "
        f"git -C {root} push origin work"
    )
    git(root, "checkout", "--quiet", "main")
    gone = tmp_path / "gone.git"
    git(root, "remote", "set-url", "origin", str(gone))
    with pytest.raises(GitError) as caught:
        run(root, V0, "staging")
    assert str(caught.value) == (
        "could not fetch 'main' from 'origin', which a promotion is judged against: "
        f"fatal: '{gone}' does not appear to be a git repository"
    )
    assert git(bare, "branch", "--list", "promote/*") == ""


def test_a_direct_move_from_a_clone_behind_the_remote_is_refused(team, tmp_path, monkeypatch, hub):
    store, bare = team
    mate = clone_registry(bare, tmp_path / "mate")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(mate.root))
    train("weights 1", f1=0.97)
    cli_out("link", "training/clf:v1", "model-registry/models")
    git(bare, "tag", "release", "main")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    with pytest.raises(UsageError) as caught:
        run(store.root, V1, "staging", mode="direct")
    assert str(caught.value) == (
        f"this clone is behind origin/main, where {V1} is: "
        f"git -C {store.root} pull --ff-only, then promote again"
    )
    # By pull request, the clone's own copy does not matter: the body is read on the base,
    # where v1 and its run are.
    proposed = run(store.root, V1, "production")
    run_row = f"| Source run | `{proposed.source.run}` (job type `train`) |"
    assert run_row in hub.posts()[-1]["body"]["body"].splitlines()
    assert git(store.root, "tag", "--list") == ""  # main is fetched without its tags
    git(store.root, "pull", "--quiet", "--ff-only")
    done = run(store.root, V1, "staging", mode="direct")
    assert (done.base, done.commit) == ("origin/main", git(bare, "rev-parse", "main"))


def test_a_clone_whose_only_remote_is_upstream_pushes_there(team, hub):
    store, bare = team
    git(store.root, "remote", "rename", "origin", "upstream")
    done = run(store.root, V0, "production")
    assert (done.base, done.commit) == ("upstream/main", git(bare, "rev-parse", BRANCH))
    (post,) = hub.posts()
    assert (post["path"], post["body"]["head"]) == ("/repos/acme/registry/pulls", BRANCH)


def test_what_is_only_in_this_clone_is_refused_with_the_push_that_fixes_it(team, tmp_path):
    store, bare = team
    root = store.root
    train("weights 1", f1=0.97)  # logged and pushed
    away = bare.rename(tmp_path / "away.git")
    cli_out("link", "training/clf:v1", "model-registry/models", code=1)  # the link stays here
    with pytest.raises(GitError):
        train("weights 2", f1=0.97)  # and so does v2
    away.rename(bare)
    fix = f"push it first: git -C {root} push origin main"
    for path, what in (
        ("training/clf:v1", V1),
        (V1, V1),
        ("training/clf:v2", "training/clf:v2"),
    ):
        with pytest.raises(UsageError) as caught:
            run(root, path, "production")
        assert str(caught.value) == (
            f"{what} is in this clone but not on origin/main, the base a promotion is "
            "judged against and merges into (a promotion only moves the stage to a version "
            f"already linked there): {fix}"
        )
    with pytest.raises(NotFoundError) as caught:
        run(root, "training/clf:v9", "production")
    assert str(caught.value) == "training/clf has no version v9"
    assert git(bare, "branch", "--list", "promote/*") == ""


# -- a promotion branch already on the remote --------------------------------------------

ALIAS_DOC = "kind: alias\nalias: production\nversion: {version}\nset_at: '2026-01-01T00:00:00Z'\nset_by: a teammate\n"
TRAILER = "Registry-Tool-Promotion: models/clf/production/v0"


def test_a_remote_branch_is_ours_only_as_one_alias_commit_with_the_trailer_on_main(team, tmp_path):
    store, bare = team
    root = store.root
    mate = tmp_path / "mate"
    git(tmp_path, "clone", "--quiet", str(bare), str(mate))
    # A commit of main whose message holds the trailer: only the tip's own message counts.
    write(mate / "NOTES.md", "notes")
    git(mate, "add", "NOTES.md")
    git(mate, "commit", "--quiet", "-m", f"notes\n\n{TRAILER}")
    git(mate, "push", "--quiet", "origin", "main")
    main = git(mate, "rev-parse", "main")
    ours = {PRODUCTION: ALIAS_DOC.format(version=0)}
    git(mate, "checkout", "--quiet", "-b", "side", main)
    side = push_branch(mate, main, {"side.txt": "x"}, "side work")
    git(mate, "checkout", "--quiet", "-b", "other", main)
    write(mate / "other.txt", "y")
    git(mate, "add", "other.txt")
    git(mate, "commit", "--quiet", "-m", "other work")
    git(mate, "checkout", "--quiet", BRANCH)
    git(mate, "merge", "--quiet", "--no-ff", "other", "-m", f"merge\n\n{TRAILER}")
    git(mate, "push", "--quiet", "--force", "origin", BRANCH)
    merge = git(mate, "rev-parse", "HEAD")
    theirs = [
        merge,  # two parents
        push_branch(mate, side, ours, f"promote\n\n{TRAILER}"),  # not on main's history
        push_branch(mate, main, {**ours, "x.txt": "x"}, f"promote\n\n{TRAILER}"),  # more files
        push_branch(mate, main, {"x.txt": "x"}, f"promote\n\n{TRAILER}"),  # another file
        push_branch(mate, main, ours, f"promote\n\nsee {TRAILER}"),  # no trailer line
        push_branch(
            mate, main, ours, "promote\n\nRegistry-Tool-Promotion: models/clf/production/v1"
        ),
    ]
    git(bare, "tag", "reviewed", theirs[0])  # a tag on the branch is not fetched with it,
    git(mate, "push", "--quiet", "origin", "side")  # nor another branch
    for tip in theirs:
        git(mate, "push", "--quiet", "--force", "origin", f"{tip}:refs/heads/{BRANCH}")
        with pytest.raises(UsageError) as caught:
            run(root, V0, "production")
        assert str(caught.value) == (
            f"branch {BRANCH!r} on 'origin' holds commits other than this promotion "
            f"({tip[:12]}): merge or close its pull request, or delete it and promote "
            f"again: git -C {root} push origin --delete {BRANCH}"
        )
        assert git(bare, "rev-parse", BRANCH) == tip
        assert git(root, "rev-parse", f"refs/remotes/origin/{BRANCH}") == tip
    # The remote's branch is fetched to its remote-tracking ref alone: no branch here.
    assert git(root, "for-each-ref", "--format=%(refname)", "refs/heads/") == "refs/heads/main"
    assert git(root, "tag", "--list") == ""
    assert "refs/remotes/origin/side" not in git(root, "for-each-ref", "--format=%(refname)")

    # One alias commit with the trailer on main: this promotion's, reused as it is.
    current = push_branch(mate, main, ours, f"promote\n\n{TRAILER}\n")
    assert run(root, V0, "production").commit == current == git(root, "rev-parse", BRANCH)
    # On main, but naming another version, or on an older commit of main: replaced.
    for stale in (
        push_branch(mate, main, {PRODUCTION: ALIAS_DOC.format(version=1)}, TRAILER),
        push_branch(mate, f"{main}^", ours, TRAILER),
    ):
        git(root, "branch", "--quiet", "-D", BRANCH)
        done = run(root, V0, "production")
        assert done.commit not in (stale, current)
        assert git(bare, "rev-parse", f"{BRANCH}^") == main
        assert git(bare, "rev-parse", BRANCH) == done.commit == git(root, "rev-parse", BRANCH)
    # Stale on the remote, current here: this clone's is pushed over it.
    push_branch(mate, f"{main}^", ours, TRAILER)
    assert run(root, V0, "production").commit == done.commit == git(bare, "rev-parse", BRANCH)


# Another writer moves the local promotion branch while the remote's is fetched.
MOVE_WHILE_FETCHING = """#!/bin/sh
[ "$1" = committed ] || exit 0
while read old new ref; do
  if [ "$ref" = "refs/remotes/origin/{branch}" ]; then
    git update-ref "refs/heads/{branch}" "{other}"
  fi
done
"""


def test_the_local_branch_moves_only_from_the_commit_it_was_judged_at(team):
    store, bare = team
    root = store.root
    first = run(root, V0, "production").commit
    train("weights 1", f1=0.2)  # main moves on: the branch is stale
    main = git(root, "rev-parse", "main")
    git(root, "update-ref", "-d", f"refs/remotes/origin/{BRANCH}")
    hook = MOVE_WHILE_FETCHING.format(branch=BRANCH, other=main)
    write(root / ".git" / "hooks" / "reference-transaction", hook).chmod(0o755)

    with pytest.raises(GitError, match=BRANCH):
        run(root, V0, "production")

    assert git(root, "rev-parse", BRANCH) == main  # the other writer's, not overwritten
    assert git(bare, "rev-parse", BRANCH) == first  # nothing pushed


PROTECT_PROMOTE = """#!/bin/sh
while read old new ref; do
  case "$ref" in refs/heads/promote/*)
    echo "error: GH013: Repository rule violations found for $ref." >&2; exit 1;;
  esac
done
"""


def test_a_branch_the_remote_refuses_is_one_error_naming_the_commit_kept_here(team, hub):
    store, bare = team
    write(bare / "hooks" / "pre-receive", PROTECT_PROMOTE).chmod(0o755)
    with pytest.raises(GitError) as caught:
        run(store.root, V0, "production")
    commit = git(store.root, "rev-parse", BRANCH)
    assert str(caught.value) == (
        f"committed {commit[:12]} on branch {BRANCH!r} but 'origin' did not take it "
        f"(!\t{commit}:refs/heads/{BRANCH}\t[remote rejected] (pre-receive hook declined)); "
        "run the promotion again"
    )
    assert git(bare, "branch", "--list", "promote/*") == ""
    assert hub.requests == []


def test_a_promotion_needs_the_registry_on_the_base(team, tmp_path):
    store, bare = team
    mate = tmp_path / "mate"
    git(tmp_path, "clone", "--quiet", str(bare), str(mate))
    git(mate, "rm", "--quiet", "registries/models/registry.yaml")
    git(mate, "commit", "--quiet", "-m", "drop the registry")
    git(mate, "push", "--quiet", "origin", "main")
    with pytest.raises(NotFoundError) as caught:
        run(store.root, "training/clf:v0", "production", registry="models")
    assert str(caught.value) == "there is no model registry 'models' on origin/main"


# -- a fork: judged against upstream, pushed to origin -----------------------------------


def fork_clone(tmp_path: Path, monkeypatch, fork_at: Path) -> tuple[Path, Path, Path]:
    """The seed registry as upstream (acme/registry), a fork of it at ``fork_at`` and a
    clone of the fork with ``upstream`` added: (clone, upstream, fork)."""
    seed_registry(tmp_path / "seed", tmp_path, monkeypatch)
    upstream = clone_bare(tmp_path / "seed", tmp_path / "github.com" / "acme" / "registry.git")
    fork = clone_bare(upstream, fork_at)
    root = clone_registry(fork, tmp_path / "clone").root
    git(root, "remote", "add", "upstream", str(upstream))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))
    return root, upstream, fork


def test_a_fork_not_on_github_gets_its_branch_but_no_pull_request(tmp_path, monkeypatch, hub):
    root, upstream, fork = fork_clone(tmp_path, monkeypatch, tmp_path / "elsewhere" / "r.git")
    done = run(root, V0, "production")
    assert (done.base, done.pull_request) == ("upstream/main", PullRequest("compare", None))
    assert git(fork, "rev-parse", BRANCH) == done.commit
    assert git(upstream, "branch", "--list", BRANCH) == ""
    assert hub.requests == []


def test_a_fork_promotes_only_what_upstream_has_linked(tmp_path, monkeypatch, hub):
    fork_at = tmp_path / "github.com" / "alice" / "registry.git"
    root, upstream, _ = fork_clone(tmp_path, monkeypatch, fork_at)
    train("weights 1", f1=0.97)  # pushed to the fork, not upstream
    with pytest.raises(UsageError) as caught:
        run(root, "training/clf:v1", "production")
    assert str(caught.value) == (
        "training/clf:v1 is in this clone but not on upstream/main, the base a promotion is "
        "judged against and merges into (a promotion only moves the stage to a version "
        "already linked there): get it there first: push main to 'origin' and merge a pull "
        "request of it into upstream/main"
    )
    git(root, "push", "--quiet", "upstream", "main")  # upstream has the version, no link
    with pytest.raises(UsageError) as caught:
        run(root, "training/clf:v1", "production")
    assert str(caught.value) == (
        "training/clf:v1 is not linked into model-registry/models on upstream/main: link it "
        "there first (registry-tool link training/clf:v1 model-registry/models, by a pull "
        "request into upstream/main), then promote"
    )
    assert git(upstream, "ls-tree", "--name-only", "main", "registries/models/clf/links/") == (
        "registries/models/clf/links/v0.yaml"
    )
    gone = tmp_path / "gone.git"
    git(root, "remote", "set-url", "origin", str(gone))
    with pytest.raises(GitError) as caught:
        run(root, V0, "production")
    assert str(caught.value) == (
        f"could not ask 'origin' for branch {BRANCH!r}: "
        f"fatal: '{gone}' does not appear to be a git repository"
    )
    assert hub.requests == []
    # Back on the fork: the pull request goes to upstream, from the fork's owner, even
    # where GITHUB_REPOSITORY names upstream (as it does in Actions).
    git(root, "remote", "set-url", "origin", str(fork_at))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/registry")
    done = run(root, "training/clf:v0", "production")  # linked upstream: that link
    assert done.link.path == V0
    (post,) = hub.posts()
    assert (post["path"], post["body"]["head"]) == ("/repos/acme/registry/pulls", f"alice:{BRANCH}")
    assert git(fork_at, "rev-parse", BRANCH) == done.commit
