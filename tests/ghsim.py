"""GitHub, simulated as far as the registry's governance depends on it.

A bare repo stands in for the repository on GitHub. Pull requests get what GitHub
makes: ``refs/pull/N/head`` and the merge commit ``refs/pull/N/merge`` (remade against
the current base each time the check runs, as GitHub does when the base moves).
Merging does what the merge button does (a merge commit titled "Merge pull request #N
from owner/branch", a squash commit titled "title (#N)", or a rebase of the branch's
commits onto main) and answers, on a loopback API, which pull request each commit of
main came from (``GET /repos/{repo}/commits/{sha}/pulls``).

The check job runs exactly as the generated workflow says: the workflow file
``init --github`` writes is read, and its check step's ``run`` script is executed in a
fresh clone checked out at what actions/checkout would check out for the event, with
the step's ``env`` (its ``${{ ... }}`` expressions evaluated), the event payload at
``GITHUB_EVENT_PATH`` and a step summary file. A script that is one ``registry-tool``
command runs in this process by default, in that folder and that environment alone:
mutation testing can only see the check code a test runs in-process. ``GitHub(...,
in_process=False)`` runs it with bash as the runner does, console script and all.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from registry_tool import _scaffold
from tests.helpers import GIT_ENV, git

REPO = "acme/model-registry"
TOKEN = "ghs_simulated-token-0123456789"
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class PullRequest:
    number: int
    branch: str
    title: str
    head: str  # the head commit's sha
    source: Path  # the repository the branch is in (a fork's, or the base's)
    owner: str = "acme"
    merged: list[str] = field(default_factory=list)  # commits of main it became


@dataclass
class Job:
    """What the check job did: its exit code, output and step summary."""

    code: int
    output: str
    summary: str

    @property
    def ok(self) -> bool:
        return self.code == 0


class GitHub:
    """The base repository (a bare repo), its pull requests and the check workflow."""

    def __init__(self, work: Path, seed: Path, *, in_process: bool = True) -> None:
        self.work = work
        self.in_process = in_process
        self.bare = work / "github.git"
        subprocess.run(
            ["git", "clone", "--quiet", "--bare", str(seed), str(self.bare)],
            check=True,
            env={**os.environ, **GIT_ENV},
        )
        self.pulls: dict[int, PullRequest] = {}
        self.merged_by_commit: dict[str, int] = {}
        self.api = _PullsApi(self)
        self.scratch = work / "github-scratch"
        git(work, "clone", "--quiet", str(self.bare), str(self.scratch))

    def close(self) -> None:
        self.api.close()

    # -- the repository ------------------------------------------------------------------

    def main(self) -> str:
        return git(self.bare, "rev-parse", "refs/heads/main")

    def clone(self, name: str) -> Path:
        """A team member's clone (origin is the simulated GitHub)."""
        path = self.work / name
        git(self.work, "clone", "--quiet", str(self.bare), str(path))
        return path

    def fork(self, name: str) -> Path:
        """A fork: a bare copy of the repository under another owner."""
        path = self.work / f"{name}.git"
        git(self.work, "clone", "--quiet", "--bare", str(self.bare), str(path))
        return path

    # -- pull requests -------------------------------------------------------------------

    def open_pull_request(
        self, branch: str, *, title: str = "change", source: Path | None = None
    ) -> PullRequest:
        """Open a pull request from ``branch`` (of ``source``, a fork, or this repo)."""
        source = source or self.bare
        number = len(self.pulls) + 1
        git(
            self.bare,
            "fetch",
            "--quiet",
            str(source),
            f"+refs/heads/{branch}:refs/pull/{number}/head",
        )
        head = git(self.bare, "rev-parse", f"refs/pull/{number}/head")
        owner = "acme" if source == self.bare else source.stem
        pr = PullRequest(number, branch, title, head, source, owner)
        self.pulls[number] = pr
        return pr

    def update(self, pr: PullRequest) -> None:
        """The author pushed again (or force-pushed) to the pull request's branch."""
        git(
            self.bare,
            "fetch",
            "--quiet",
            str(pr.source),
            f"+refs/heads/{pr.branch}:refs/pull/{pr.number}/head",
        )
        pr.head = git(self.bare, "rev-parse", f"refs/pull/{pr.number}/head")

    def _merge_commit(self, pr: PullRequest) -> str:
        """GitHub's test merge of the pull request into the current main."""
        s = self.scratch
        git(s, "fetch", "--quiet", "origin", "+refs/heads/main:refs/remotes/origin/main")
        git(s, "fetch", "--quiet", "origin", f"+refs/pull/{pr.number}/head:refs/pr/{pr.number}")
        git(s, "checkout", "--quiet", "--detach", "refs/remotes/origin/main")
        git(
            s,
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            f"Merge {pr.head} into {self.main()}",
            f"refs/pr/{pr.number}",
        )
        merge = git(s, "rev-parse", "HEAD")
        git(s, "push", "--quiet", "origin", f"+{merge}:refs/pull/{pr.number}/merge")
        return merge

    def merge(self, pr: PullRequest, how: str = "merge") -> tuple[str, str]:
        """Press the merge button (``merge``, ``squash`` or ``rebase``); the push event's
        (before, after)."""
        s = self.scratch
        before = self.main()
        git(s, "fetch", "--quiet", "origin", "+refs/heads/main:refs/remotes/origin/main")
        git(s, "fetch", "--quiet", "origin", f"+refs/pull/{pr.number}/head:refs/pr/{pr.number}")
        git(s, "checkout", "--quiet", "-B", "main", "refs/remotes/origin/main")
        if how == "merge":
            message = f"Merge pull request #{pr.number} from {pr.owner}/{pr.branch}\n\n{pr.title}"
            git(s, "merge", "--quiet", "--no-ff", "-m", message, f"refs/pr/{pr.number}")
            new = [git(s, "rev-parse", "HEAD")]
        elif how == "squash":
            git(s, "merge", "--quiet", "--squash", f"refs/pr/{pr.number}")
            git(s, "commit", "--quiet", "-m", f"{pr.title} (#{pr.number})")
            new = [git(s, "rev-parse", "HEAD")]
        elif how == "rebase":
            picks = git(s, "rev-list", "--reverse", f"HEAD..refs/pr/{pr.number}").split()
            for commit in picks:
                git(s, "cherry-pick", "--quiet", "--allow-empty", commit)
            new = git(s, "rev-list", "--reverse", f"{before}..HEAD").split()
        else:
            raise ValueError(how)
        git(s, "push", "--quiet", "origin", "main")
        pr.merged = new
        for commit in new:
            self.merged_by_commit[commit] = pr.number
        return before, self.main()

    def push(self, clone: Path, *, force: bool = False) -> tuple[str, str]:
        """A push to main from a clone (a direct push, as an admin could)."""
        before = self.main()
        git(clone, "push", "--quiet", *(["--force"] if force else []), "origin", "HEAD:main")
        return before, self.main()

    # -- the check workflow --------------------------------------------------------------

    def check_pull_request(self, pr: PullRequest) -> Job:
        merge = self._merge_commit(pr)
        payload = {
            "number": pr.number,
            "pull_request": {
                "number": pr.number,
                "head": {"sha": pr.head, "ref": pr.branch},
                "base": {"sha": self.main(), "ref": "main"},
            },
        }
        return self.run_check("pull_request", payload, checkout=merge)

    def check_merge_group(self, pr: PullRequest) -> Job:
        merge = self._merge_commit(pr)
        payload = {"merge_group": {"base_sha": self.main(), "head_sha": merge}}
        return self.run_check("merge_group", payload, checkout=merge)

    def check_push(self, before: str, after: str, *, forced: bool = False) -> Job:
        payload = {"ref": "refs/heads/main", "before": before, "after": after, "forced": forced}
        return self.run_check("push", payload, checkout=after)

    def run_check(self, event: str, payload: dict[str, Any], *, checkout: str) -> Job:
        """The check job of the generated workflow, for one event."""
        job = self.work / f"job-{uuid.uuid4().hex[:8]}"
        git(self.work, "clone", "--quiet", "--no-checkout", str(self.bare), str(job))
        git(job, "fetch", "--quiet", "origin", "+refs/pull/*:refs/remotes/pull/*")
        git(job, "checkout", "--quiet", "--detach", checkout)
        event_path = job.parent / f"{job.name}-event.json"
        event_path.write_text(json.dumps(payload))
        summary = job.parent / f"{job.name}-summary.md"
        summary.write_text("")
        context = {
            "github": {
                "token": TOKEN,
                "event_name": event,
                "event": payload,
                "sha": checkout,
                "ref": f"refs/pull/{payload.get('number')}/merge"
                if event == "pull_request"
                else "refs/heads/main",
                "repository": REPO,
            }
        }
        step = check_step()
        env = {
            # The runner's environment: none of the test's registry or GitHub settings.
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "REGISTRY_TOOL_"))
            },
            **GIT_ENV,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.api.url,
            "GITHUB_SHA": checkout,
        }
        env.update({k: evaluate(str(v), context) for k, v in (step.get("env") or {}).items()})
        script = evaluate(step["run"], context)
        command = shlex.split(script)
        if self.in_process and command[:1] == ["registry-tool"] and "\n" not in script.strip():
            code, output = _run_in_process(command[1:], cwd=job, env=env)
            return Job(code, output, summary.read_text())
        proc = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=job,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return Job(proc.returncode, proc.stdout + proc.stderr, summary.read_text())


def _run_in_process(args: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``registry-tool ARGS`` run by click in this process, in ``cwd`` with exactly
    ``env`` as its environment (every other variable unset while it runs)."""
    from click.testing import CliRunner

    from registry_tool.cli.main import cli

    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    overrides.update(env)
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner(env=overrides).invoke(cli, args)
    finally:
        os.chdir(here)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"registry-tool {args}: crashed") from result.exception
    return result.exit_code, result.output


def check_step() -> dict[str, Any]:
    """The step of the generated check workflow that runs ``registry-tool check``."""
    workflow = yaml.safe_load(_scaffold.REGISTRY_CHECK)
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "registry-tool check" in step.get("run", ""):
                return dict(step)
    raise AssertionError("the generated workflow has no registry-tool check step")


def evaluate(text: str, context: dict[str, Any]) -> str:
    """``${{ a.b.c }}`` and ``${{ x || y }}`` expressions of a workflow, on ``context``."""

    def value(expression: str) -> str:
        for option in expression.split("||"):
            current: Any = context
            for part in option.strip().split("."):
                current = current.get(part) if isinstance(current, dict) else None
            if current:
                return str(current)
        return ""

    return _EXPR.sub(lambda m: value(m.group(1)), text)


class _PullsApi:
    """``GET /repos/{repo}/commits/{sha}/pulls`` on 127.0.0.1: the merged pull request
    whose merge a commit of main is (the requests are kept, with their Authorization)."""

    def __init__(self, hub: GitHub) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization")}
                )
                match = re.fullmatch(rf"/repos/{REPO}/commits/([0-9a-f]{{40}})/pulls", self.path)
                if match is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                number = hub.merged_by_commit.get(match.group(1))
                answer = []
                if number is not None:
                    pr = hub.pulls[number]
                    answer.append(
                        {
                            "number": number,
                            "state": "closed",
                            "merged_at": "2026-12-05T00:00:00Z",
                            "merge_commit_sha": pr.merged[-1],
                            "base": {"ref": "main"},
                        }
                    )
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
