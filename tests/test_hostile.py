"""Hostile input, driven by the case files in ``tests/data/hostile/`` (one test per file).

Each case feeds one piece of hostile input through a real path into the library or the
CLI (file names, directory trees, hand-edited registry files, metadata, names and
aliases), asserts the exact error it must produce, and then that nothing was written:
the registry's HEAD, refs and working tree are unchanged, the blob store holds no new
blob, and no temp file is left anywhere under the test's directory.
``tests/data/hostile/README.md`` describes the case format.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool import errors
from registry_tool._store import init_registry
from tests.helpers import GIT_ENV, create_prod_registry, git, invoke

CASES = Path(__file__).parent / "data" / "hostile"
KINDS = ("add_file_name", "add_dir", "registry_file", "metadata", "name", "alias", "cli")
TEMP_NAME = re.compile(r"^\.incoming-|\.part-|\.tmp-|^registry-tool-staging-|^tmp[a-z0-9_]{6,}$")


class WroteSomething(AssertionError):
    """The case's input was refused, but something had been written first."""


def _load(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(case, dict), path
    assert case.get("kind") in KINDS, f"{path.name}: kind must be one of {KINDS}"
    assert case.get("why"), f"{path.name}: say why the input is hostile ('why:')"
    return case


def _params() -> list[Any]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        case = _load(path)
        marks = []
        if "xfail" in case:
            xfail = case["xfail"]
            marks.append(
                pytest.mark.xfail(
                    strict=True,
                    reason=xfail["reason"],
                    raises=WroteSomething if xfail.get("fails") == "wrote" else AssertionError,
                    run=xfail.get("run", True),
                )
            )
        out.append(pytest.param(path.name, id=path.stem, marks=marks))
    return out


PARAMS = _params()


# --- the registry every case starts from ------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small registry built once per module and copied for every case (building one
    costs a quarter of a second): p/data v0 (a.txt, sub/b.txt; aliases best) and v1
    (latest), run ``train1`` that logged both, ``model-registry/models`` with v0 linked
    as ``candidate``, and ``model-registry/prod`` whose ``production`` is protected."""
    base = tmp_path_factory.mktemp("hostile-template")
    with pytest.MonkeyPatch.context() as mp:
        home = base / "home"
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        for key, value in GIT_ENV.items():
            mp.setenv(key, value)
        store = init_registry(base / "registry", name="test-registry")
        mp.setenv("REGISTRY_TOOL_DIR", str(store.root))
        work = base / "work"
        (work / "sub").mkdir(parents=True)
        mp.chdir(work)
        Path("a.txt").write_text("alpha\n")
        Path("sub/b.txt").write_text("beta\n")
        with wandb.init(project="p", id="train1") as run:
            v0 = wandb.Artifact("data", type="dataset", metadata={"rows": 2})
            v0.add_file("a.txt")
            v0.add_dir("sub", name="sub")
            run.log_artifact(v0, aliases=["best"])
            Path("a.txt").write_text("alpha2\n")
            v1 = wandb.Artifact("data", type="dataset")
            v1.add_file("a.txt")
            run.log_artifact(v1)
            v0.link("model-registry/models", aliases=["candidate"])
        create_prod_registry()
    return store.root


@pytest.fixture
def reg(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the template registry, selected through REGISTRY_TOOL_DIR; temp
    files of the library go to ``tmp_path/tmp`` so that leftovers can be seen."""
    root = tmp_path / "registry"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return root


# --- "nothing was written" -----------------------------------------------------------------


def _files(folder: Path) -> set[str]:
    if not folder.exists():
        return set()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


@dataclass(frozen=True)
class State:
    refs: str
    status: str
    blobs: frozenset[str]
    work: frozenset[str]
    scratch: frozenset[str]


def _state(root: Path, tmp_path: Path) -> State:
    return State(
        refs=git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        status=git(root, "status", "--porcelain", "--untracked-files=all"),
        blobs=frozenset(_files(root / ".blobs")),
        work=frozenset(_files(tmp_path / "work")),
        scratch=frozenset(_files(tmp_path / "tmp")),
    )


def _assert_nothing_written(before: State, root: Path, tmp_path: Path) -> None:
    gc.collect()  # an artifact's staging directory goes with the artifact
    after = _state(root, tmp_path)
    problems = []
    if after.refs != before.refs:
        problems.append(f"refs moved:\n{before.refs}->\n{after.refs}")
    if after.status != before.status:
        problems.append(f"working tree changed:\n{before.status!r} -> {after.status!r}")
    if after.blobs != before.blobs:
        problems.append(f"blob store changed: {sorted(after.blobs ^ before.blobs)}")
    if after.work != before.work:
        problems.append(f"files appeared in the work dir: {sorted(after.work ^ before.work)}")
    if after.scratch != before.scratch:
        problems.append(f"temp files left: {sorted(after.scratch ^ before.scratch)}")
    left = [p for p in tmp_path.rglob("*") if TEMP_NAME.search(p.name) and ".git" not in p.parts]
    if left:
        problems.append(f"temp files left: {left}")
    if problems:
        raise WroteSomething("\n".join(problems))


# --- expectations -------------------------------------------------------------------------


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _expect_error(spec: dict[str, Any], action: Callable[[], Any], values: dict[str, str]) -> None:
    """Run ``action``; it must raise ``spec["type"]`` with exactly ``spec["message"]``
    (or a message matching ``spec["match"]``)."""
    kind = getattr(errors, spec["type"], None) or getattr(promotion, spec["type"])
    try:
        action()
    except errors.RegistryError as exc:
        assert isinstance(exc, kind), f"raised {type(exc).__name__}: {exc}"
        got = str(exc)
    else:
        raise AssertionError(f"accepted: expected {spec['type']}")
    assert "\n" not in got, f"the message spans lines: {got!r}"
    if "message" in spec:
        assert got == _fill(spec["message"], values)
    else:
        assert re.fullmatch(_fill(spec["match"], values), got), got


def _run_cli(step: dict[str, Any], values: dict[str, str]) -> None:
    args = [_fill(str(a), values) for a in step["args"]]
    result = invoke(*args)
    assert "Traceback" not in result.output + result.stderr
    assert result.exit_code == step.get("exit", 1), (args, result.output, result.stderr)
    stderr = result.stderr.strip()
    if "stderr" in step:
        assert stderr == _fill(step["stderr"].strip(), values), args
    if "stderr_match" in step:
        assert re.fullmatch(_fill(step["stderr_match"], values), stderr, re.S), stderr
    if "stdout_match" in step:
        assert re.fullmatch(step["stdout_match"], result.output.strip(), re.S), result.output


# --- inputs ---------------------------------------------------------------------------------


def _unescape(text: str) -> bytes:
    """``\\xff``-style escapes in a case file's text, as the bytes they name."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


def _content(case: dict[str, Any]) -> bytes:
    if "content" in case:
        return str(case["content"]).encode("utf-8")
    if "content_escaped" in case:
        return _unescape(case["content_escaped"])
    # Big inputs are generated, never committed: ``parts`` of text, each repeated.
    parts = case["generate"]["parts"]
    return b"".join(p["text"].encode("utf-8") * p.get("times", 1) for p in parts)


def _make_tree(tree: list[dict[str, Any]], work: Path) -> None:
    for item in tree:
        target = work / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        if "symlink" in item:
            os.symlink(item["symlink"], target)
        elif "fifo" in item:
            os.mkfifo(target)
        else:
            target.write_text(item.get("content", item["path"]))


def _eval_value(expr: str) -> Any:
    """A Python value YAML cannot spell (sets, bytes, objects, surrogates, huge strings)."""
    import datetime
    import decimal

    names = {
        "datetime": datetime,
        "Decimal": decimal.Decimal,
        "object": object,
        "set": set,
        "float": float,
        "bytes": bytes,
        "chr": chr,
    }
    return eval(expr, {"__builtins__": {}}, names)  # our own test data, never user input


# --- drivers: each runs one case against the registry copy --------------------------------


@dataclass
class Case:
    spec: dict[str, Any]
    root: Path  # the registry copy
    tmp_path: Path
    work: Path  # the working directory
    values: dict[str, str]  # {placeholders} in expected messages and CLI arguments

    def snapshot(self) -> State:
        return _state(self.root, self.tmp_path)

    def nothing_written(self, before: State) -> None:
        _assert_nothing_written(before, self.root, self.tmp_path)

    def expect_error(self, action: Callable[[], Any]) -> None:
        _expect_error(self.spec["error"], action, self.values)


def drive_add_file_name(case: Case) -> None:
    """Add files under hostile names (``via``: add_file, new_file, add_dir or
    add_reference), then log them: a name must be refused before anything is stored."""
    via = case.spec.get("via", "add_file")
    names = (
        _eval_value(case.spec["names_expr"]) if "names_expr" in case.spec else case.spec["names"]
    )
    for i in range(len(names)):
        (case.work / f"in{i}").mkdir()
        (case.work / f"in{i}" / "f.txt").write_text(f"{case.values['case']} {i}\n")
    before = case.snapshot()

    def action() -> None:
        art = wandb.Artifact("hostile", type="dataset")
        for i, name in enumerate(names):
            local = case.work / f"in{i}" / "f.txt"
            if via == "add_file":
                art.add_file(local, name=name)
            elif via == "new_file":
                with art.new_file(name) as f:
                    f.write("new")
            elif via == "add_dir":
                art.add_dir(local.parent, name=name)
            elif via == "add_reference":
                art.add_reference(local.as_uri(), name=name)
            else:
                raise AssertionError(f"unknown via {via!r}")
        with wandb.init(project="p") as run:
            run.log_artifact(art)

    case.expect_error(action)
    case.nothing_written(before)


def drive_add_dir(case: Case) -> None:
    """Build ``tree`` (files, symlinks, fifos) in the work dir, add ``dir`` and log it."""
    _make_tree(case.spec["tree"], case.work)
    before = case.snapshot()

    def action() -> None:
        art = wandb.Artifact("hostile", type="dataset")
        art.add_dir(case.work / case.spec["dir"])
        with wandb.init(project="p") as run:
            run.log_artifact(art)

    case.expect_error(action)
    case.nothing_written(before)


def drive_registry_file(case: Case) -> None:
    """Edit one registry file by hand (and commit it, as a pull request would), then run
    each CLI step: every one must fail with its message, and none may write."""
    spec = case.spec
    target = case.root / spec["path"]
    if spec.get("delete"):
        target.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_content(spec))
    if spec.get("commit", True):
        git(case.root, "add", "-A", "--", ".")
        git(case.root, "commit", "-q", "-m", f"hand edit: {case.values['case']}")
    before = case.snapshot()
    for step in spec["cli"]:
        _run_cli(step, case.values)
    case.nothing_written(before)


def drive_cli(case: Case) -> None:
    """Run CLI steps against the untouched template registry."""
    _make_tree(case.spec.get("tree", []), case.work)
    before = case.snapshot()
    for step in case.spec["cli"]:
        _run_cli(step, case.values)
    case.nothing_written(before)


def _metadata(spec: dict[str, Any]) -> Any:
    return _eval_value(spec["metadata_expr"]) if "metadata_expr" in spec else spec["metadata"]


def drive_metadata(case: Case) -> None:
    """Log a new artifact whose metadata (``via: sdk``) or ``--metadata`` JSON
    (``via: cli``) is hostile."""
    (case.work / "f.txt").write_text(f"{case.values['case']}\n")
    before = case.snapshot()
    if case.spec.get("via", "sdk") == "cli":
        for step in case.spec["cli"]:
            _run_cli(step, case.values)
    else:

        def action() -> None:
            art = wandb.Artifact("hostile", type="dataset", metadata=_metadata(case.spec))
            art.add_file(case.work / "f.txt")
            with wandb.init(project="p") as run:
                run.log_artifact(art)

        case.expect_error(action)
    case.nothing_written(before)


def drive_name(case: Case) -> None:
    """A hostile artifact name, type, project or artifact path, given to the SDK."""
    value = case.spec["value"]
    where = case.spec["call"]
    (case.work / "f.txt").write_text(f"{case.values['case']}\n")
    before = case.snapshot()

    def action() -> None:
        if where == "artifact":
            wandb.Artifact(value, type="dataset")
        elif where == "artifact_type":
            wandb.Artifact("hostile", type=value)
        elif where == "project":
            with wandb.init(project=value) as run:
                art = wandb.Artifact("hostile", type="dataset")
                art.add_file(case.work / "f.txt")
                run.log_artifact(art)
        elif where == "api_artifact":
            wandb.Api().artifact(value)
        elif where == "use_artifact":
            with wandb.init(project="p") as run:
                run.use_artifact(value)
        else:
            raise AssertionError(f"unknown call {where!r}")

    case.expect_error(action)
    case.nothing_written(before)


def drive_alias(case: Case) -> None:
    """A hostile alias, set through the SDK (``via``: log_artifact, save or link)."""
    alias = case.spec["alias"]
    via = case.spec["via"]
    (case.work / "f.txt").write_text(f"{case.values['case']}\n")
    before = case.snapshot()

    def action() -> None:
        if via == "log_artifact":
            art = wandb.Artifact("data", type="dataset")
            art.add_file(case.work / "f.txt")
            with wandb.init(project="p") as run:
                run.log_artifact(art, aliases=[alias])
        elif via == "save":
            art = wandb.Api().artifact(case.spec.get("target", "p/data:v0"))
            art.aliases = [*art.aliases, alias]
            art.save()
        elif via == "link":
            art = wandb.Api().artifact("p/data:v1")
            art.link(case.spec.get("target", "model-registry/models"), aliases=[alias])
        else:
            raise AssertionError(f"unknown via {via!r}")

    case.expect_error(action)
    case.nothing_written(before)


DRIVERS: dict[str, Callable[[Case], None]] = {
    "add_file_name": drive_add_file_name,
    "add_dir": drive_add_dir,
    "registry_file": drive_registry_file,
    "cli": drive_cli,
    "metadata": drive_metadata,
    "name": drive_name,
    "alias": drive_alias,
}


# --- the tests ------------------------------------------------------------------------------


def test_the_corpus_is_large_and_covers_every_driver() -> None:
    kinds = [_load(path)["kind"] for path in CASES.glob("*.yaml")]
    assert len(kinds) >= 60
    assert set(kinds) == set(KINDS) == set(DRIVERS)


@pytest.mark.parametrize("name", PARAMS)
def test_hostile(name: str, reg: Path, tmp_path: Path, isolated_env: Path) -> None:
    spec = _load(CASES / name)
    values = {
        "case": name,
        "work": str(isolated_env),
        "realwork": os.path.realpath(isolated_env),
        "tmp": os.path.realpath(tmp_path),
        "base": git(reg, "rev-parse", "HEAD"),
    }
    case = Case(spec, reg, tmp_path, isolated_env, values)
    DRIVERS[spec["kind"]](case)
