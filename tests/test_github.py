"""What `init --github` scaffolds, and this project's own workflows: actionlint and
zizmor (offline) find nothing, actions are pinned by SHA, event values reach shell
steps only through env:, permissions are explicit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from registry_tool._scaffold import runtime_distributions
from tests.helpers import cli_out, git
from tests.test_github_setup import make_wheel

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def lint(*files: Path) -> None:
    for tool, args in (("actionlint", []), ("zizmor", ["--offline"])):
        proc = subprocess.run([str(BIN / tool), *args, *map(str, files)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{tool}: {proc.stdout}{proc.stderr}"


def properties(path: Path) -> None:
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert "permissions" in doc, f"{path.name}: no top-level permissions"
    for line in text.splitlines():
        used = re.search(r"uses:\s*(\S+)", line)
        if used:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", used.group(1)), line
        if "run:" in line:
            assert "${{" not in line, f"{path.name}: an expression inlined in a shell step: {line}"
    for job in doc["jobs"].values():
        assert "timeout-minutes" in job
    triggers = doc[True] if True in doc else doc["on"]  # PyYAML reads `on:` as True
    for trigger in (triggers or {}).values() if isinstance(triggers, dict) else []:
        assert not (isinstance(trigger, dict) and "paths" in trigger)


@pytest.fixture
def scaffolded(tmp_path):
    root = tmp_path / "reg"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for pin in runtime_distributions():
        make_wheel(wheels, pin.name, pin.version)
    cli_out("init", str(root), "--github", "--owners", "@acme/ml-admins", "--wheelhouse", str(wheels))
    return root


def test_init_github_writes_linted_workflows_and_codeowners(scaffolded):
    workflows = scaffolded / ".github" / "workflows"
    files = sorted(workflows.glob("*.yml"))
    assert [f.name for f in files] == ["publish-site.yml", "registry-check.yml"]
    lint(*files)
    for f in files:
        properties(f)
    check = yaml.safe_load((workflows / "registry-check.yml").read_text())
    assert set(check[True]) == {"pull_request", "merge_group", "push"}
    assert check["permissions"] == {}
    assert check["jobs"]["check"]["permissions"] == {"contents": "read", "pull-requests": "read"}
    steps = check["jobs"]["check"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[-1]["run"] == "registry-tool check --ci"
    committed = git(scaffolded, "ls-files", ".github").split()
    assert committed == [
        ".github/CODEOWNERS",
        ".github/registry-tool-requirements.txt",
        ".github/workflows/publish-site.yml",
        ".github/workflows/registry-check.yml",
    ]


def test_registry_create_keeps_codeowners_naming_protected_aliases(scaffolded, monkeypatch):
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(scaffolded))
    cli_out("registry", "create", "prod", "--stages", "staging,production", "--protected", "production")
    owners = (scaffolded / ".github" / "CODEOWNERS").read_text()
    assert "/.github/ @acme/ml-admins" in owners
    assert "/registries/prod/*/aliases/production.yaml @acme/ml-admins" in owners
    assert "/registries/prod/*/links/* @acme/ml-admins" in owners
    assert "staging.yaml" not in owners


def test_this_projects_workflows_pass_the_same_checks():
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert files
    lint(*files)
    for f in files:
        properties(f)
