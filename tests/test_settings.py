"""Every ``REGISTRY_TOOL_*`` variable is read in ``_settings`` and documented in the
README's and ARCHITECTURE.md's settings tables."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import registry_tool
from registry_tool import _settings
from registry_tool.errors import UsageError

PACKAGE = Path(registry_tool.__file__).parent
ROOT = PACKAGE.parent


def _env_reads(tree: ast.Module) -> list[tuple[int, str]]:
    """``os.environ.get(NAME)``, ``os.getenv(NAME)``, ``os.environ[NAME]`` and click's
    ``envvar=NAME`` where NAME is (or is a constant holding) ``REGISTRY_TOOL_...``."""
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def value(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    found = []
    for node in ast.walk(tree):
        keys: list[ast.AST] = []
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if func in ("os.environ.get", "os.getenv", "environ.get", "getenv") and node.args:
                keys.append(node.args[0])
            keys += [k.value for k in node.keywords if k.arg == "envvar"]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
            "os.environ",
            "environ",
        ):
            keys.append(node.slice)
        for key in keys:
            name = value(key)
            if name and name.startswith("REGISTRY_TOOL_"):
                found.append((node.lineno, name))
    return found


def test_registry_tool_variables_are_read_only_in_settings():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_settings.py":
            continue
        for line, name in _env_reads(ast.parse(path.read_text())):
            wrong.append(f"{path.relative_to(ROOT)}:{line} reads ${name}")
    assert not wrong, "\n".join(wrong)


def test_settings_reads_every_variable_it_lists():
    source = (PACKAGE / "_settings.py").read_text()
    for name in _settings.SETTINGS:
        assert source.count(f'"{name}"') >= 2, f"{name} is listed but never read"


@pytest.mark.parametrize("doc", ["README.md", "ARCHITECTURE.md"])
def test_every_setting_is_in_the_docs_tables(doc):
    text = (ROOT / doc).read_text()
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in text.splitlines()
        if line.startswith("| `REGISTRY_TOOL_")
    }
    assert rows == set(_settings.SETTINGS), (
        f"{doc}: the settings table differs from _settings.SETTINGS"
    )


def test_workers_refuses_what_is_not_a_count(monkeypatch):
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "4")
    assert _settings.workers() == 4
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", " ")
    assert _settings.workers() is None
    for bad in ("abc", "0", "-2", "1.5"):
        monkeypatch.setenv("REGISTRY_TOOL_WORKERS", bad)
        with pytest.raises(UsageError, match=r"\$REGISTRY_TOOL_WORKERS: .* 1 or more"):
            _settings.workers()


def test_git_timeout_falls_back_and_has_a_floor(monkeypatch):
    monkeypatch.delenv("REGISTRY_TOOL_GIT_TIMEOUT", raising=False)
    assert _settings.git_timeout() == 60.0
    monkeypatch.setenv("REGISTRY_TOOL_GIT_TIMEOUT", "0.2")
    assert _settings.git_timeout() == 1.0
    monkeypatch.setenv("REGISTRY_TOOL_GIT_TIMEOUT", "soon")
    assert _settings.git_timeout() == 60.0


def test_s3_switches(monkeypatch):
    monkeypatch.delenv("REGISTRY_TOOL_S3_FAST", raising=False)
    assert _settings.s3_fast()
    for off in ("0", "false", "NO", "off"):
        monkeypatch.setenv("REGISTRY_TOOL_S3_FAST", off)
        assert not _settings.s3_fast()
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "many")
    with pytest.raises(UsageError, match="REGISTRY_TOOL_S3_MAX_ATTEMPTS"):
        _settings.s3_max_attempts()
    monkeypatch.setenv("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "3")
    assert _settings.s3_max_attempts() == 3
    monkeypatch.delenv("REGISTRY_TOOL_S3_RETRY_MODE", raising=False)
    assert _settings.s3_retry_mode() == "standard"
