"""Reads that notice what is wrong instead of answering wrongly or crashing.

- ``check`` reads the working tree, every reader reads git objects: a full check also
  reads the objects of HEAD's registry files and reports each one that is missing or
  corrupt, with its path.
- A shallow clone has a cut history: ``history`` and ``check --ci`` (whose stage-order
  rule and push judgement read history) refuse it, saying how to get the rest.
- Text from the registry (descriptions, metadata, reasons, git identities, file names
  of a hand edit) and from the command line is shown inert on the terminal.
- A setting with a value it cannot take is one usage error naming the variable (exit
  2); a version numbered far past a gap is one problem, not a billion.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import zlib
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._model.governance import StageGate
from registry_tool._store import RegistryStore
from tests.helpers import GIT_ENV, cli_process, git, invoke, write

VERSION = "projects/p/data/versions/v0.yaml"
ACTING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _log(content: str, **kwargs: object) -> None:
    write("f.txt", content)
    with wandb.init(project="p", id="r1") as run:
        art = wandb.Artifact("data", type="dataset", **kwargs)  # type: ignore[arg-type]
        art.add_file("f.txt")
        run.log_artifact(art)


def _object(root: Path, sha: str) -> Path:
    """The loose object file of ``sha`` (registry writes leave objects loose)."""
    path = root / ".git" / "objects" / sha[:2] / sha[2:]
    assert path.is_file(), f"{sha} is not a loose object"
    path.chmod(0o644)
    return path


def _check(*args: str) -> tuple[int, list[str], str]:
    result = invoke("check", *args)
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.strip().splitlines(), result.stdout


# -- 1. check reads the git objects readers read ----------------------------------------


def test_check_reports_a_committed_file_whose_object_is_missing(registry):
    _log("a")
    sha = git(registry.root, "rev-parse", f"HEAD:{VERSION}")
    _object(registry.root, sha).unlink()
    code, problems, out = _check()
    assert code == 1
    assert problems == [
        f"{VERSION}: $: git object {sha} of the committed file is missing: every reader "
        "fails on it (fetch it again from a clone that has it)"
    ]
    assert "1 problems" in out


def test_check_reports_a_committed_file_whose_object_is_corrupt(registry):
    _log("a")
    alias = "projects/p/data/aliases/latest.yaml"
    sha = git(registry.root, "rev-parse", f"HEAD:{alias}")
    path = _object(registry.root, sha)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the zlib stream no longer inflates
    path.write_bytes(bytes(data))
    code, problems, _ = _check()
    assert code == 1
    assert problems == [
        f"{alias}: $: git object {sha} of the committed file is corrupt: every reader "
        "fails on it (fetch it again from a clone that has it)"
    ]


def test_check_reports_an_object_whose_bytes_are_not_its_id(registry):
    """A well-formed object of other bytes under the id: git reads it without a word."""
    _log("a")
    sha = git(registry.root, "rev-parse", f"HEAD:{VERSION}")
    path = _object(registry.root, sha)
    other = b"kind: version\n"
    path.write_bytes(zlib.compress(b"blob %d\0" % len(other) + other))
    code, problems, _ = _check()
    assert code == 1
    assert problems == [
        f"{VERSION}: $: git object {sha} of the committed file is corrupt: every reader "
        "fails on it (fetch it again from a clone that has it)"
    ]


def test_check_reports_a_missing_folder_tree_and_reads_no_further(registry):
    _log("a")
    folder = "projects/p/data/aliases"
    sha = git(registry.root, "rev-parse", f"HEAD:{folder}")
    _object(registry.root, sha).unlink()
    code, problems, _ = _check()
    assert code == 1
    assert problems == [
        f"{folder}: $: git object {sha} of the committed folder is missing: every reader "
        "fails on it (fetch it again from a clone that has it)"
    ]


def test_check_reads_packed_objects_and_reports_a_corrupt_one(registry):
    _log("a")
    _log("b")
    git(registry.root, "repack", "-a", "-d", "-q")
    git(registry.root, "prune-packed")
    assert invoke("check").exit_code == 0  # packed and intact: nothing to say
    sha = git(registry.root, "rev-parse", f"HEAD:{VERSION}")
    pack = next((registry.root / ".git/objects/pack").glob("*.pack"))
    index = pack.with_suffix(".idx")
    listing = git(registry.root, "verify-pack", "-v", str(index))
    offset = next(int(f.split()[4]) for f in listing.splitlines() if f.startswith(sha))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    data[offset + 8] ^= 0xFF  # inside the object's deflated bytes
    pack.write_bytes(bytes(data))
    code, problems, _ = _check()
    assert code == 1
    assert [p.split(": $: ")[0] for p in problems] == [VERSION], problems
    assert "is corrupt" in problems[0] or "is missing" in problems[0]


def test_an_uncommitted_edit_is_not_a_broken_object(registry):
    _log("a")
    text = (registry.root / VERSION).read_text()
    write(registry.root / VERSION, text.replace("kind: version", "kind:  version"))
    assert invoke("check").exit_code == 0


# -- 2. a shallow clone's history is cut short -------------------------------------------


def _moves() -> None:
    """p/data v0..v2, alias best moved v0 -> v1 -> v2 (and latest with it)."""
    for i in range(3):
        _log(f"content {i}")
        version = wandb.Api().artifact(f"p/data:v{i}")
        version.aliases = [*version.aliases, "best"]
        version.save()


def _shallow(source: Path, target: Path) -> Path:
    git(target.parent, "clone", "--quiet", "--depth", "1", source.as_uri(), str(target))
    assert git(target, "rev-parse", "--is-shallow-repository") == "true"
    return target


def test_history_refuses_a_shallow_clone(registry, tmp_path, monkeypatch):
    _moves()
    full = invoke("history", "p/data", "--json")
    assert full.exit_code == 0 and len(json.loads(full.output)) == 6
    clone = _shallow(registry.root, tmp_path / "shallow")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(clone))
    for args in (["history", "p/data"], ["history", "p/data", "--json", "--alias", "best"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.strip() == (
            f"error: {clone} is a shallow clone: its git history is cut short, so the "
            "history of aliases and stages read from it would be wrong; fetch the rest "
            f"with 'git -C {clone} fetch --unshallow' (in GitHub Actions: actions/checkout "
            "with fetch-depth: 0)"
        )


def _needs_history(registry: RegistryStore) -> None:
    """production (protected, after staging) held by link v0, which held staging before
    staging moved on to v1: only the stage history tells that v0 may hold production."""
    _log("zero")
    _log("one")
    promotion.create_registry(
        Context.open(registry.root),
        "prod",
        stages=["staging", "production"],
        protected=["production"],
        gates={"production": StageGate((), True)},
    )
    api = wandb.Api()
    api.artifact("p/data:v0").link("model-registry/prod", aliases=["staging"])
    api.artifact("p/data:v1").link("model-registry/prod", aliases=["staging"])
    write(
        registry.root / "registries/prod/data/aliases/production.yaml",
        "kind: alias\nalias: production\nversion: 0\nset_at: '2024-01-01T00:00:00Z'\n",
    )
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-q", "-m", "production: v0")


def _ci(clone: Path, tmp_path: Path, event_name: str = "push") -> subprocess.CompletedProcess[str]:
    event = tmp_path / "event.json"
    head = git(clone, "rev-parse", "HEAD")
    payload = {"ref": "refs/heads/main", "before": "0" * 40, "after": head}
    if event_name == "pull_request":
        payload = {"pull_request": {"number": 7, "head": {"sha": head}, "base": {"ref": "main"}}}
    event.write_text(json.dumps(payload))
    env = {"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event), **GIT_ENV}
    env.pop("GITHUB_ACTIONS", None)
    return cli_process("--registry", str(clone), "check", "--ci", env=env, cwd=clone)


def test_check_ci_refuses_a_shallow_checkout(registry, tmp_path):
    _needs_history(registry)
    full = tmp_path / "full"
    git(tmp_path, "clone", "--quiet", registry.root.as_uri(), str(full))
    ok = _ci(full, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    clone = _shallow(registry.root, tmp_path / "shallow")
    refused = _ci(clone, tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"error: {clone} is a shallow clone: its git history is cut short, so the "
        "history of aliases and stages read from it would be wrong; fetch the rest "
        f"with 'git -C {clone} fetch --unshallow' (in GitHub Actions: actions/checkout "
        "with fetch-depth: 0)"
    ]


def test_check_ci_refuses_a_shallow_pull_request_checkout_before_judging_it(registry, tmp_path):
    """actions/checkout's default depth of 1: GitHub's merge commit without its parents.
    Said as what it is, not as a checkout of the wrong commit."""
    _log("a")
    clone = _shallow(registry.root, tmp_path / "shallow")
    refused = _ci(clone, tmp_path, "pull_request")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error: {clone} is a shallow clone: its git history is cut short, so the "
        "history of aliases and stages read from it would be wrong; fetch the rest "
        f"with 'git -C {clone} fetch --unshallow' (in GitHub Actions: actions/checkout "
        "with fetch-depth: 0)"
    )


def test_a_full_check_of_a_shallow_clone_says_why_it_cannot_judge_the_stage_order(
    registry, tmp_path, monkeypatch
):
    _needs_history(registry)
    clone = _shallow(registry.root, tmp_path / "shallow")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(clone))
    result = invoke("check")
    assert result.exit_code == 1
    assert "is a shallow clone" in result.stderr and "fetch-depth: 0" in result.stderr
    assert "must hold 'staging'" not in result.output  # no verdict from half a history


# -- 3. terminal output is inert -----------------------------------------------------------

EVIL = "x\x1b]0;pwned\x07y\x1b[2J\x9b31m\u202eevil\x07"
SHOWN = "x\\x1b]0;pwned\\x07y\\x1b[2J\\x9b31m\\u202eevil\\x07"


def _inert(text: str) -> None:
    assert not ACTING.search(text), repr(text)


def _hand_edit(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text()
    assert old in text
    (root / rel).write_text(text.replace(old, new))
    git(root, "commit", "-q", "-am", "hand edit")


@pytest.mark.parametrize(
    "args", [["show", "p/data:v0"], ["show", "p/data:best", "--json"], ["ls", "p/data"], ["ls"]]
)
def test_descriptions_and_metadata_print_inert(registry, args):
    write("f.txt", "a")
    with wandb.init(project="p", id="r1") as run:
        art = wandb.Artifact(
            "data",
            type="dataset",
            description=EVIL,
            metadata={"k": EVIL, "nested": {"inner": EVIL}, "list": [EVIL]},
        )
        art.add_file("f.txt")
        run.log_artifact(art, aliases=["best"])
    result = invoke(*args)
    assert result.exit_code == 0
    _inert(result.output)
    if args == ["show", "p/data:v0"]:
        assert f"description: {SHOWN}" in result.output
        assert f"k: {SHOWN}" in result.output


def test_reasons_identities_and_hand_named_aliases_print_inert(registry):
    _log("a")
    reason = "ok \u202eevil\u2066"
    api = wandb.Api()
    art = api.artifact("p/data:v0")
    art.aliases = [*art.aliases, "best"]
    art.save()
    from registry_tool import _verbs

    _verbs.set_alias("p/data:v0", "good", reason=reason)
    # A hand-committed alias file whose name and author carry escapes.
    write(
        registry.root / "projects/p/data/aliases/e\x1b]0;x\x07.yaml",
        "kind: alias\nalias: e\nversion: 0\nset_at: '2024-01-01T00:00:00Z'\n",
    )
    git(registry.root, "add", "-A")
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_NAME": "Mal\x1b[2Jlory\u202e"}
    subprocess.run(
        ["git", "-C", str(registry.root), "commit", "-q", "-m", "x"], env=env, check=True
    )
    for args in (
        ["history", "p/data"],
        ["history", "p/data", "--json"],
        ["ls"],
        ["show", "p/data:v0"],
    ):
        result = invoke(*args)
        _inert(result.output)
    assert '"reason": "ok \\u202eevil\\u2066"' in invoke("history", "p/data", "--json").output


def test_click_usage_errors_quote_the_command_line_inert(registry):
    _log("a")
    for args in (
        ["show", "p/data:v0", "extra\x1b]0;pwned\x07"],
        ["log", "no-such-file\x1b]0;pwned\x07", "--name", "p/d", "--type", "t"],
        ["nonsense\x1b]0;pwned\x07"],
        ["--nonsense\x1b]0;pwned\x07"],
        ["show", "--json\x1b]0;pwned\x07"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        _inert(result.output)
        assert "\\x1b]0;pwned\\x07" in result.stderr, result.stderr


# -- 4. settings and numbers past what a reader can handle --------------------------------

BAD_SETTINGS = [
    ("REGISTRY_TOOL_WORKERS", "abc", "'abc' is not a whole number of 1 or more, up to 1024"),
    ("REGISTRY_TOOL_WORKERS", "0", "'0' is not a whole number of 1 or more, up to 1024"),
    (
        "REGISTRY_TOOL_WORKERS",
        "99999999999",
        "'99999999999' is not a whole number of 1 or more, up to 1024",
    ),
    (
        "REGISTRY_TOOL_WORKERS",
        "9" * 5000,
        f"'{'9' * 40}...' is not a whole number of 1 or more, up to 1024",
    ),
    ("REGISTRY_TOOL_S3_FAST", "maybe", "'maybe' is not 1 or 0 (true/false, yes/no, on/off)"),
    ("REGISTRY_TOOL_NO_GH", "maybe", "'maybe' is not 1 or 0 (true/false, yes/no, on/off)"),
    (
        "REGISTRY_TOOL_S3_PATH_STYLE",
        "virtual",
        "'virtual' is not 1 or 0 (true/false, yes/no, on/off)",
    ),
    (
        "REGISTRY_TOOL_S3_CHECKSUM",
        "sometimes",
        "'sometimes' is not one of when_supported, when_required",
    ),
    ("REGISTRY_TOOL_S3_RETRY_MODE", "eager", "'eager' is not one of legacy, standard, adaptive"),
    ("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "many", "'many' is not a whole number from 0 to 100"),
    ("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "-1", "'-1' is not a whole number from 0 to 100"),
    (
        "REGISTRY_TOOL_CACHE_MAX_SIZE",
        "9" * 5000,
        f"'{'9' * 40}...' is not a size (plain bytes, or a number with a unit: KB, MB, GB, "
        "TB or KiB, MiB, GiB, TiB, e.g. 20GB or 512MiB)",
    ),
    (
        "REGISTRY_TOOL_CACHE_MAX_SIZE",
        "lots",
        "'lots' is not a size (plain bytes, or a number with a unit: KB, MB, GB, "
        "TB or KiB, MiB, GiB, TiB, e.g. 20GB or 512MiB)",
    ),
]


@pytest.mark.parametrize("name,value,message", BAD_SETTINGS, ids=lambda v: str(v)[:24])
@pytest.mark.parametrize(
    "command", [["ls"], ["get", "p/data:v0", "--root", "out"], ["cache", "info"]]
)
def test_a_bad_setting_is_one_usage_error_naming_it(
    registry, monkeypatch, name, value, message, command
):
    _log("a")
    monkeypatch.setenv(name, value)
    result = invoke(*command)
    assert (result.exit_code, result.stderr.strip()) == (2, f"error: ${name}: {message}")
    assert not Path("out").exists()


@pytest.mark.parametrize(
    "name,value",
    [
        ("REGISTRY_TOOL_WORKERS", " 4 "),
        ("REGISTRY_TOOL_S3_FAST", "Off"),
        ("REGISTRY_TOOL_NO_GH", "yes"),
        ("REGISTRY_TOOL_S3_PATH_STYLE", "true"),
        ("REGISTRY_TOOL_S3_CHECKSUM", "WHEN_REQUIRED"),
        ("REGISTRY_TOOL_S3_RETRY_MODE", "adaptive"),
        ("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "0"),
        ("REGISTRY_TOOL_CACHE_MAX_SIZE", "1.5 GiB"),
        ("REGISTRY_TOOL_GIT_TIMEOUT", "soon"),
    ],
)
def test_good_settings_pass(registry, monkeypatch, name, value):
    _log("a")
    monkeypatch.setenv(name, value)
    assert invoke("get", "p/data:v0", "--root", "out").exit_code == 0


@pytest.mark.parametrize("value", ["inf", "1e300", "nan"])
def test_a_git_timeout_past_any_clock_still_pushes(registry, tmp_path, monkeypatch, value):
    """An infinite or astronomical stall limit overflowed the watchdog: a day is the most."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    git(registry.root, "push", "--quiet", "-u", "origin", "main")
    monkeypatch.setenv("REGISTRY_TOOL_GIT_TIMEOUT", value)
    write("f.txt", "pushed")
    result = invoke("log", "f.txt", "--name", "p/data", "--type", "dataset")
    assert result.exit_code == 0, result.output
    assert "Exception in thread" not in result.output
    assert git(bare, "rev-parse", "main") == git(registry.root, "rev-parse", "HEAD")


def test_a_version_numbered_far_past_a_gap_is_one_problem(registry):
    """v999,999,999 by hand: one problem on that file, not a billion, and no hang."""
    _log("a")
    text = (registry.root / VERSION).read_text().replace("version: 0", "version: 999999999")
    write(registry.root / "projects/p/data/versions/v999999999.yaml", text)
    git(registry.root, "add", "-A")
    git(registry.root, "commit", "-q", "-m", "far")
    code, problems, _ = _check()
    assert code == 1
    assert problems == [
        "projects/p/data/versions/v999999999.yaml: $: missing: versions must be numbered "
        "from v0 with no gap (999999998 numbers are missing below v999999999)"
    ]
