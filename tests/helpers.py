"""What the test modules share: files, real git, the CLI (in-process and in a process),
bare remotes and clones, an S3-backed registry, and a loopback stand-in for GitHub.

The isolation (fake HOME and XDG dirs, a fixed git author, ``GIT_CONFIG_NOSYSTEM=1``)
is the autouse ``isolated_env`` fixture of ``tests/conftest.py``; git here also gets
``GIT_ENV`` explicitly, so a helper called outside a test still commits as the test
author.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from click.testing import CliRunner, Result

from registry_tool import _verbs as ops
from registry_tool._store import RegistryStore, init_registry
from registry_tool.cli.main import cli

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
}

# The installed console script, as a user runs it.
CLI_SCRIPT = str(Path(sys.executable).parent / "registry-tool")


# -- files and git ---------------------------------------------------------------------


def write(path: Path | str, content: str | bytes) -> Path:
    """Write a file, creating parent directories; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    return target


def _git(args: Sequence[str], *, check: bool) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=check, env={**os.environ, **GIT_ENV}
    ).stdout


def git(root: Path | str, *args: str, check: bool = True) -> str:
    """``git -C root args...``; its stdout, stripped. ``check=False`` keeps a failure quiet."""
    return _git(["-C", str(root), *args], check=check).strip()


def commit(root: Path, edits: dict[str, str | None], message: str) -> str:
    """``edits`` (None removes the file) committed on the checked-out branch: its sha."""
    for path, text in edits.items():
        if text is None:
            (root / path).unlink()
        else:
            write(root / path, text)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def declare_entities(root: Path, *entities: str) -> str:
    """Commit ``registry.yaml`` answering to ``entities`` besides the registry's name
    (what ``registry-tool init --entity`` writes): its sha."""
    doc = yaml.safe_load((root / "registry.yaml").read_text())
    doc["entities"] = list(entities)
    return commit(root, {"registry.yaml": yaml.safe_dump(doc)}, "entities")


def git_log(root: Path | str) -> list[str]:
    """The subjects of ``root``'s commits, newest first."""
    return git(root, "log", "--format=%s").splitlines()


def clone_bare(source: Path | str, bare: Path) -> Path:
    """``git clone --bare source bare``: a remote as on a git host; returns ``bare``."""
    _git(["clone", "--quiet", "--bare", str(source), str(bare)], check=True)
    return bare


def clone_registry(remote: Path | str, path: Path) -> RegistryStore:
    """``git clone remote path``, opened as a registry."""
    _git(["clone", "--quiet", str(remote), str(path)], check=True)
    return RegistryStore.open(path)


def push_to_bare(root: Path | str, bare: Path) -> Path:
    """A new bare repo ``bare`` (branch ``main``) made ``root``'s ``origin``, with
    ``root``'s main pushed to it; returns ``bare``."""
    _git(["init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "--quiet", "-u", "origin", "main")
    return bare


def team_clone(seed: RegistryStore, tmp_path: Path) -> tuple[RegistryStore, Path]:
    """``seed`` pushed to a bare remote ``tmp_path/remote.git`` and cloned from it to
    ``tmp_path/clone``, as a team member has it: (the clone, the bare remote)."""
    bare = clone_bare(seed.root, tmp_path / "remote.git")
    return clone_registry(bare, tmp_path / "clone"), bare


def init_s3_registry(path: Path, *, name: str, bucket: str, endpoint: str) -> RegistryStore:
    """A fresh registry whose blobs live in ``s3://bucket/blobs`` at ``endpoint``."""
    return init_registry(
        path,
        name=name,
        storage=f"s3://{bucket}/blobs",
        storage_options={"endpoint_url": endpoint, "region": "us-east-1"},
    )


def create_prod_registry() -> None:
    """The model registry ``prod`` of the selected registry: stages ``staging`` and
    ``production``, ``production`` protected, no type restriction and no gate."""
    ops.create_model_registry(
        "prod",
        stages=["staging", "production"],
        protected=["production"],
        types=[],
        gates=[],
        requires_previous=[],
    )


# -- the CLI ---------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    """The CLI in-process. A crash (any exception but SystemExit) fails the test."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{list(args)}: crashed with {result.exception!r}") from (
            result.exception
        )
    return result


def cli_run(*args: str) -> tuple[int, str]:
    """The CLI in-process: (exit code, everything it printed, stdout and stderr)."""
    result = invoke(*args)
    return result.exit_code, result.output


def cli_out(*args: str, code: int = 0) -> str:
    """The CLI in-process, exiting with ``code``: everything it printed."""
    result = invoke(*args)
    assert result.exit_code == code, result.output
    return result.output


def cli_error(*args: str, code: int = 1) -> str:
    """A CLI command that must fail with ``code`` and one line on stderr: that line."""
    result = invoke(*args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def cli_process(
    *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """The ``registry-tool`` console script in a process of its own; ``env`` is added to
    this process's environment, ``kwargs`` go to ``subprocess.run``."""
    return subprocess.run(
        [CLI_SCRIPT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


# -- GitHub ----------------------------------------------------------------------------


class FakeGitHub:
    """Answers POST /repos/<owner>/<repo>/pulls on 127.0.0.1 as the GitHub API does
    (pull requests numbered from 7), and keeps each request: ``path``, ``auth`` (the
    Authorization header), ``body`` (parsed) and ``raw`` (the bytes)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": json.loads(raw),
                        "raw": raw,
                    }
                )
                number = len(owner.requests) + 6
                answer = json.dumps(
                    {"number": number, "html_url": f"https://example.test/pull/{number}"}
                )
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- the site in a browser -------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's, as make test installs
FLAGS = ("--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking")


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """``folder`` served by ``python -m http.server`` on 127.0.0.1 (a free port) while
    the block runs: its base URL. Stopped by its PID."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/index.html", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def launch_chromium(executable: str = CHROMIUM, flags: Sequence[str] = FLAGS) -> Iterator[Any]:
    """Debian's Chromium through Playwright while the block runs (the test is skipped
    without Playwright, and fails without Chromium, which ``make test`` installs)."""
    import pytest

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(executable).exists():
        pytest.fail("chromium is not installed (make test installs Debian's chromium)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=list(flags))
        yield launched
        launched.close()


@contextmanager
def isolated_registry(base: Path) -> Iterator[RegistryStore]:
    """A new registry under ``base``, for a fixture that sets one up for a whole module:
    while the block runs, it has what the conftest's ``isolated_env`` gives each test
    (its own home and XDG folders, a fixed git author, a work folder, no run left
    active after it), which a module-scoped fixture cannot ask for."""
    import pytest

    from registry_tool._sdk import run as run_module

    home = base / "home"
    work = base / "work"
    home.mkdir(parents=True)
    work.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        mp.delenv("REGISTRY_TOOL_CACHE_DIR", raising=False)
        for key, value in GIT_ENV.items():
            mp.setenv(key, value)
        store = init_registry(base / "registry", name="test-registry")
        mp.setenv("REGISTRY_TOOL_DIR", str(store.root))
        mp.chdir(work)
        try:
            yield store
        finally:
            run_module._active_runs.clear()
            run_module._current_run = None
