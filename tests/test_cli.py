"""The CLI, in-process, with exit codes asserted."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from registry_tool.cli.main import cli
from registry_tool.errors import RegistryError
from tests.helpers import cli_error, cli_out, git, invoke, write


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in sorted(group.commands.items()):
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out += _commands(command, (*prefix, name))
    return out


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_and_option_has_help(path):
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help, f"{' '.join(path)} has no help"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
    assert "Usage:" in cli_out(*path, "--help")


def test_init_log_show_ls_get_verify(tmp_path, monkeypatch):
    reg = tmp_path / "reg"
    out = json.loads(cli_out("init", str(reg), "--name", "team", "--json"))
    assert out["name"] == "team"
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg))
    write("d/a.txt", "alpha")
    write("d/sub/b.txt", "beta")
    logged = json.loads(
        cli_out(
            "log",
            "d",
            "--name",
            "proj/data",
            "--type",
            "dataset",
            "--alias",
            "best",
            "--metadata",
            '{"rows": 2}',
            "--json",
        )
    )
    assert logged["path"] == "proj/data:v0" and logged["created"] is True
    assert logged["aliases"] == ["best", "latest"]
    again = json.loads(cli_out("log", "d", "--name", "proj/data", "--type", "dataset", "--json"))
    assert again["created"] is False and again["path"] == "proj/data:v0"
    assert "Unchanged" in cli_out("log", "d", "--name", "proj/data", "--type", "dataset")

    shown = json.loads(cli_out("show", "proj/data:best", "--json"))
    assert shown["metadata"] == {"rows": 2}
    assert [f["path"] for f in shown["files"]] == ["a.txt", "sub/b.txt"]
    assert "team/proj/data:v0" in cli_out("show", "proj/data")

    listed = json.loads(cli_out("ls", "--json"))
    assert listed == [
        {
            "path": "proj/data",
            "type": "dataset",
            "versions": 1,
            "latest": "v0",
            "aliases": {"best": "v0", "latest": "v0"},
            "description": None,
        }
    ]
    assert "proj/data" in cli_out("ls", "proj")

    got = json.loads(cli_out("get", "proj/data:v0", "--root", "out", "--json"))
    assert Path(got["root"], "sub/b.txt").read_text() == "beta"
    assert json.loads(cli_out("verify", "proj/data:v0", "--root", "out", "--json"))["ok"] is True
    Path("out/a.txt").write_text("changed")
    Path("out/extra.txt").write_text("new")
    report = json.loads(cli_out("verify", "proj/data:v0", "--root", "out", "--json", code=1))
    assert (report["changed"], report["extra"], report["missing"]) == (["a.txt"], ["extra.txt"], [])
    Path("out/sub/b.txt").unlink()
    err = cli_error("verify", "proj/data:v0", "--root", "out", code=1)
    assert "1 missing: sub/b.txt" in err and "1 changed: a.txt" in err


def test_alias_history_and_check(registry):
    write("a.txt", "one")
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    write("a.txt", "two")
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    assert "production -> p/m:v0" in cli_out(
        "alias", "set", "p/m:v0", "production", "--reason", "passed eval"
    )
    cli_out("alias", "set", "p/m:v1", "production")
    assert "removed production (was v1)" in cli_out("alias", "rm", "p/m", "production")
    events = json.loads(cli_out("history", "p/m", "--alias", "production", "--json"))
    assert [(e["previous"], e["version"]) for e in events] == [(None, 0), (0, 1), (1, None)]
    assert events[0]["reason"] == "passed eval"
    assert events[0]["author"] == "Test Author"
    assert "production" in cli_out("history", "p/m")
    report = json.loads(cli_out("check", "--json"))
    assert report["ok"] is True and report["files"] == 5


def test_check_reports_each_problem_with_file_and_field(registry):
    write("a.txt", "one")
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    alias = registry.root / "projects/p/m/aliases/latest.yaml"
    alias.write_text(alias.read_text().replace("version: 0", "version: 7"))
    (registry.root / "projects/p/m/versions/v3.yaml").write_text("kind: version\n")
    result = invoke("check")
    assert result.exit_code == 1
    assert (
        "projects/p/m/aliases/latest.yaml: $.version: alias 'latest' names v7, which does not exist"
        in result.stderr
    )
    assert "projects/p/m/versions/v3.yaml: $: 'project' is a required property" in result.stderr


def test_errors_are_one_line_with_exit_1_and_usage_errors_exit_2(registry):
    err = cli_error("show", "p/nothing:v0", code=1)
    assert err.strip().splitlines() == [
        "error: artifact p/nothing does not exist in 'test-registry'"
    ]
    write("a.txt", "x")
    err = cli_error("log", "a.txt", "--name", "p/bad name", "--type", "t", code=1)
    assert "invalid artifact name 'bad name'" in err
    err = cli_error("log", "a.txt", "--name", "p/x", "--type", "t", "--metadata", "[1]", code=1)
    assert "--metadata must be a JSON object" in err
    err = cli_error(
        "log", "a.txt", "--name", "p/x", "--type", "t", "--metadata", '{"a": NaN}', code=1
    )
    assert "NaN is not allowed" in err
    err = cli_error("log", "a.txt", "--name", "p/x", "--type", "t", "--alias", "v3", code=1)
    assert "'v<digits>' names a version" in err
    # Usage errors: click's usage line, a hint and the error, exit 2.
    for args in (
        ("log", "a.txt"),
        ("no-such-command",),
        ("log", "missing.txt", "--name", "p/x", "--type", "t"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "Error:" in result.stderr
    # Nothing was written by the failed commands.
    assert not (registry.root / "projects" / "p" / "x").exists()


def test_traceback_flag_shows_the_exception(registry):
    with pytest.raises(RegistryError):
        CliRunner().invoke(cli, ["--traceback", "show", "p/none"], catch_exceptions=False)


def test_registry_option_and_version(tmp_path):
    reg = tmp_path / "elsewhere"
    cli_out("init", str(reg))
    write("a.txt", "x")
    cli_out("--registry", str(reg), "log", "a.txt", "--name", "p/a", "--type", "t")
    assert (reg / "projects/p/a/versions/v0.yaml").is_file()
    assert "registry-tool, version" in cli_out("--version")
    err = cli_error("--registry", str(tmp_path / "nope"), "ls", code=1)
    assert "is not a registry" in err


def test_walks_up_to_the_nearest_registry(tmp_path, monkeypatch):
    reg = tmp_path / "walk"
    cli_out("init", str(reg))
    (reg / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(reg / "deep" / "er")
    Path("f.txt").write_text("x")
    cli_out("log", "f.txt", "--name", "p/f", "--type", "t")
    assert (reg / "projects/p/f/versions/v0.yaml").is_file()


def test_embedded_default_registry_is_created_on_first_use(caplog):
    import os

    write("a.txt", "x")
    cli_out("log", "a.txt", "--name", "p/a", "--type", "t")
    default = Path(os.environ["XDG_DATA_HOME"]) / "registry-tool" / "default"
    assert (default / "projects/p/a/versions/v0.yaml").is_file()
    assert "created the default registry at" in caplog.text


def test_ls_of_a_collection_lists_its_versions(tmp_path, monkeypatch):
    reg = tmp_path / "reg"
    cli_out("init", str(reg))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg))
    for text in ("one", "two"):
        write("f.txt", text)
        cli_out("log", "f.txt", "--name", "proj/data", "--type", "dataset")
    cli_out("alias", "set", "proj/data:v0", "best")
    rows = json.loads(cli_out("ls", "proj/data", "--json"))
    assert [(r["version"], r["aliases"], r["files"]) for r in rows] == [
        ("v0", ["best"], 1),
        ("v1", ["latest"], 1),
    ]
    assert all(r["deleted"] is None and len(r["digest"]) == 64 for r in rows)
    cli_out("delete", "proj/data:v0", "--delete-aliases")
    text = cli_out("ls", "proj/data")
    assert "v0 (deleted)" in text and "latest" in text
    assert cli_error("ls", "proj/nothing", code=1).strip() == (
        "error: artifact proj/nothing does not exist in 'reg'"
    )


def test_show_and_get_resolve_model_registry_paths(tmp_path, monkeypatch):
    """`show` and `get` take the same model-registry/... paths the Python API does."""
    reg = tmp_path / "reg"
    cli_out("init", str(reg), "--name", "team")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg))
    write("m/weights.bin", "w1")
    cli_out("log", "m", "--name", "vision/clf", "--type", "model")
    write("m/weights.bin", "w2")
    cli_out("log", "m", "--name", "vision/clf", "--type", "model")
    cli_out("registry", "create", "prod", "--stages", "staging,production")
    cli_out("link", "vision/clf:v1", "model-registry/prod", "--alias", "staging")

    shown = json.loads(cli_out("show", "model-registry/prod/clf:staging", "--json"))
    assert shown["path"] == "vision/clf:v1"
    assert shown["link"] == "model-registry/prod/clf:v0"
    assert "staging" in shown["aliases"]
    assert "links: vision/clf:v1" in cli_out("show", "model-registry/prod/clf:v0")

    cli_out("get", "model-registry/prod/clf:staging", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "weights.bin").read_text() == "w2"

    err = cli_error("show", "model-registry/prod/clf:production", code=1)
    assert "model-registry/prod/clf has no alias 'production'" in err
    err = cli_error("get", "model-registry/nope/clf:v0", code=1)
    assert "there is no model registry 'nope'" in err


def test_alias_set_refuses_a_registry_path_and_not_found_names_the_version(tmp_path, monkeypatch):
    import registry_tool as wandb
    from registry_tool.errors import NotFoundError

    reg = tmp_path / "reg"
    cli_out("init", str(reg))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(reg))
    write("m/w.bin", "w")
    cli_out("log", "m", "--name", "vision/clf", "--type", "model")
    cli_out("link", "vision/clf:v0", "model-registry/prod")
    head = git(reg, "rev-parse", "HEAD")
    err = cli_error("alias", "set", "model-registry/prod/clf:v0", "best")
    assert "a model registry's aliases are its stages" in err
    assert "registry-tool promote model-registry/prod/clf:v0 --to best" in err
    assert git(reg, "rev-parse", "HEAD") == head
    with pytest.raises(NotFoundError) as missing:
        wandb.Api().artifact("vision/clf:v7")
    assert missing.value.version == "vision/clf:v7"
    with pytest.raises(NotFoundError) as missing:
        wandb.Api().artifact("model-registry/prod/clf:production")
    assert missing.value.version == "model-registry/prod/clf:production"
