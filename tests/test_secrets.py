"""Credentials stay out of everything the tool writes: a whole flow on SeaweedFS with
AWS and GitHub credentials in the environment leaves none in the registry's git
objects, its working tree, the site or the output; and `check` refuses a registry.yaml
that holds one, wherever it is put."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest
import yaml

from registry_tool._scaffold import runtime_distributions
from tests.helpers import FakeGitHub, cli_out, clone_bare, git, write
from tests.s3server import ACCESS_KEY, SECRET_KEY
from tests.test_github_setup import make_wheel

# Built from pieces, so no scanner takes this file for a leak.
GITHUB_TOKEN = "gh" + "p_" + "LeakCanary" + "7Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz"
WRONG_SECRET = "Wrong" + "SecretCanary/9f8e7d6c5b4a3210ZyXwVuTs"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
CANARIES = [ACCESS_KEY, SECRET_KEY, GITHUB_TOKEN, WRONG_SECRET]


class Outputs:
    """Every CLI invocation's stdout and stderr, kept for the leak search."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def __call__(self, *args: str, code: int = 0) -> str:
        out = cli_out(*args, code=code)
        self.text.append(out)
        return out


def test_no_credential_is_written_anywhere(tmp_path, s3_env, bucket, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="registry_tool")
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("REGISTRY_TOOL_NO_GH", "1")
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    cli_run = Outputs()
    root = tmp_path / "registry"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for pin in runtime_distributions():
        make_wheel(wheels, pin.name, pin.version)
    cli_run("init", str(root), "--name", "acme", "--storage", f"s3://{bucket}/blobs",
            "--endpoint-url", s3_env.endpoint, "--region", "us-east-1", "--github",
            "--owners", "@acme/ml-admins", "--wheelhouse", str(wheels))
    bare = clone_bare(root, tmp_path / "remote.git")
    git(root, "remote", "add", "origin", str(bare))
    git(root, "fetch", "--quiet", "origin")
    git(root, "branch", "--quiet", "--set-upstream-to=origin/main", "main")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))

    cli_run("registry", "create", "models", "--stages", "staging,production",
            "--protected", "staging,production", "--gate", "production: f1 >= 0.9")
    write("model/weights.bin", "weights")
    write("model/config.json", '{"layers": 2}')
    cli_run("log", "model", "--name", "training/clf", "--type", "model",
            "--metadata", '{"f1": 0.95}', "--description", "first model")
    cli_run("link", "training/clf:v0", "model-registry/models", "--alias", "candidate")

    # The compare-URL path: a token, but no GitHub repository to send it to.
    out = cli_run("promote", "model-registry/models/clf:v0", "--to", "staging", "--pr",
                  "--reason", "offline eval passed")
    assert "Open the pull request at your git host" in out
    branch = "promote/models/clf/staging/v0"
    cli_run("check", "--base", "main", "--head", branch, "--verify-blobs", "--deep")
    git(root, "merge", "--quiet", "--no-ff", branch, "-m", f"Merge pull request #6 from {branch}")
    git(root, "push", "--quiet", "origin", "main")

    # The API path: the token goes in a header, to the API only.
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/registry")
        cli_run("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")
    (request,) = github.requests
    assert request["auth"] == f"Bearer {GITHUB_TOKEN}"

    cli_run("verify", "--all")
    cli_run("get", "training/clf:v0", "--root", str(tmp_path / "download"))
    cli_run("history", "model-registry/models/clf", "--json")
    cli_run("site", "build", "--out", str(tmp_path / "site"))
    assert (tmp_path / "site/index.html").is_file()
    # A failure that concerns credentials names none.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
    monkeypatch.setenv("REGISTRY_TOOL_CACHE_DIR", str(tmp_path / "empty-cache"))
    out = cli_run("verify", "--all", code=1)
    assert "access denied" in out

    searched = [*cli_run.text, caplog.text, request["raw"].decode()]
    for repo in (root, bare):
        searched.append(git(repo, "log", "-p", "--all", "--format=fuller"))
        objects = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--batch"],
            capture_output=True, check=True,
        ).stdout
        searched.append(objects.decode("utf-8", "replace"))
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix == ".html" for p in files) and any(p.name == "config" for p in files)
    for path in files:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary!r} written to {path}"
    for text in searched:
        for canary in CANARIES:
            assert canary not in text, f"{canary!r} in:\n{text[:2000]}"


# -- check refuses a registry.yaml holding a secret ----------------------------------------

ROOT_CASES = {
    "token-in-description": (
        {"description": f"deploy with {GITHUB_TOKEN}"}, "$.description"),
    "keys-in-s3-url": (
        {"storage": {"url": f"s3://{AWS_KEY_ID}:{AWS_SECRET}@bucket/prefix"}}, "$.storage.url"),
    "userinfo-in-endpoint": (
        {"storage": {"url": "s3://bucket/p", "endpoint_url": "https://admin:hunter2@s3.example.test"}},
        "$.storage.endpoint_url"),
    "signed-endpoint-query": (
        {"storage": {"url": "s3://bucket/p",
                     "endpoint_url": "https://s3.example.test/?X-Amz-Credential=abc&X-Amz-Signature=def"}},
        "$.storage.endpoint_url"),
    "secret-key-field": (
        {"storage": {"url": "s3://bucket/p", "aws_secret_access_key": AWS_SECRET}},
        "$.storage.aws_secret_access_key"),
    "old-storage-password": (
        {"previous_storage": {"url": "/data/blobs", "password": "hunter2"}},
        "$.previous_storage.password"),
}


def set_fields(doc: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            set_fields(doc[key], value)
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize("case", sorted(ROOT_CASES))
def test_check_refuses_a_secret_in_registry_yaml(registry, case):
    changes, field = ROOT_CASES[case]
    path = registry.root / "registry.yaml"
    original = path.read_text()
    path.write_text(yaml.safe_dump(set_fields(yaml.safe_load(original), changes)))
    output = cli_out("check", "--json", code=1)
    problems = json.loads(output)["problems"]
    assert {"path": "registry.yaml", "field": field} in [
        {"path": p["path"], "field": p["field"]} for p in problems
    ], problems
    (found,) = [p for p in problems if p["field"] == field and "secret" in p["message"]]
    assert found["message"].startswith("looks like a secret; credentials never go in registry files")
    for text in (AWS_SECRET, GITHUB_TOKEN, "hunter2"):
        assert text not in output


def test_check_refuses_a_secret_in_a_model_registry_and_in_a_comment(registry, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    run = Outputs()
    run("registry", "create", "models", "--stages", "production", "--gate", "production: f1 >= 0.9")
    config = registry.root / "registries/models/registry.yaml"
    clean = config.read_text()
    doc = yaml.safe_load(clean)
    doc["description"] = f"pushes with {AWS_KEY_ID} / {AWS_SECRET}"
    doc["gates"]["production"]["conditions"].append(f"token != '{GITHUB_TOKEN}'")
    text = yaml.safe_dump(doc) + "# api: github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop\n"
    git(registry.root, "checkout", "--quiet", "-b", "change")
    config.write_text(text)
    git(registry.root, "commit", "--quiet", "-am", "oops")
    git(registry.root, "checkout", "--quiet", "main")
    expected = [
        ("registries/models/registry.yaml", "$.description"),
        ("registries/models/registry.yaml", "$.gates.production.conditions[1]"),
        ("registries/models/registry.yaml", "$"),
    ]
    found = json.loads(run("check", "--base", "main", "--head", "change", "--json", code=1))
    assert [(p["path"], p["field"]) for p in found["problems"]] == expected
    assert "in a comment on line" in found["problems"][2]["message"]
    config.write_text(text)
    found = json.loads(run("check", "--json", code=1))
    assert [(p["path"], p["field"]) for p in found["problems"]] == expected
    for out in run.text:
        assert AWS_SECRET not in out and GITHUB_TOKEN not in out


def test_ordinary_configs_are_not_taken_for_secrets(registry):
    path = registry.root / "registry.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["description"] = (
        "Tokenizer and max_tokens live in run configs; fixed in commit "
        "0123456789abcdef0123456789abcdef01234567; see https://docs.example.test/a?page=2"
    )
    doc["storage"] = {"url": "s3://ml-artifacts/Team1/Models2024/registry", "region": "eu-west-1",
                      "endpoint_url": "https://s3.eu-west-1.amazonaws.com", "profile": "ml-team"}
    path.write_text(yaml.safe_dump(doc))
    cli_out("check", "--json")
