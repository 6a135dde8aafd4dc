"""Promotion by pull request as a team meets it: judged against the remote's main (not a
stale clone), a branch left by an earlier attempt, a fork, the token's one destination,
a pull request body that hostile metadata cannot turn into links or mentions, and a
main branch the remote protects.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from markdown_it import MarkdownIt

import registry_tool as wandb
from registry_tool import _github
from registry_tool._store import init_registry
from registry_tool._store import registry as store_module
from tests.helpers import cli_error, cli_out, clone_bare, clone_registry, git, write

TOKEN = "ghp_secret-test-token-0123456789"
BRANCH = "promote/models/clf/production/v0"
PRODUCTION = "registries/models/clf/aliases/production.yaml"


class Hub:
    """The pull-request endpoints of the GitHub API on 127.0.0.1, as GitHub answers them:
    POST creates one (422 while an open one has the same head and base), GET lists the
    open ones by ``head=owner:branch``. ``reply`` makes every request get that answer
    instead (status, headers, body). Each request is kept: method, path, Authorization.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.pulls: list[dict[str, Any]] = []
        self.reply: tuple[int, dict[str, str], bytes] | None = None
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
                data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                self.send_response(status)
                for key, value in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body: Any) -> bool:
                hub.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                if hub.reply is not None:
                    self._answer(hub.reply[0], hub.reply[2], hub.reply[1])
                    return True
                return False

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._record(body):
                    return
                repo = self.path.split("/")[2:4]
                head = body["head"] if ":" in body["head"] else f"{repo[0]}:{body['head']}"
                if any(p["head"] == head and p["base"] == body["base"] for p in hub.pulls):
                    message = f"A pull request already exists for {head}."
                    self._answer(
                        422, {"message": "Validation Failed", "errors": [{"message": message}]}
                    )
                    return
                number = len(hub.pulls) + 7
                pull = {
                    "number": number,
                    "html_url": f"https://github.example/{'/'.join(repo)}/pull/{number}",
                    "head": head,
                    "base": body["base"],
                }
                hub.pulls.append(pull)
                self._answer(201, pull)

            def do_GET(self) -> None:
                if self._record(None):
                    return
                query = parse_qs(urlsplit(self.path).query)
                found = [
                    p
                    for p in hub.pulls
                    if p["head"] == query["head"][0]
                    and p["base"] == query.get("base", [p["base"]])[0]
                ]
                self._answer(200, found)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def no_github(monkeypatch):
    """No token, no API URL, no repository named: each test sets what it means."""
    for key in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("REGISTRY_TOOL_NO_GH", "1")


@pytest.fixture
def hub(monkeypatch) -> Iterator[Hub]:
    fake = Hub()
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    yield fake
    fake.close()


def train(content: str, **metadata: Any) -> str:
    write("model.bin", content)
    with wandb.init(project="training", job_type="train") as run:
        art = wandb.Artifact("clf", type="model", metadata=metadata)
        art.add_file("model.bin")
        run.log_artifact(art)
    return art.version


def seed_registry(path: Path, tmp_path: Path, monkeypatch) -> None:
    """A registry with model-registry/models (production protected, gated on f1) and
    training/clf:v0 linked as models/clf:v0."""
    init_registry(path, name="acme", storage=str(tmp_path / "blobs"))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(path))
    cli_out(
        "registry", "create", "models", "--stages", "staging,production",
        "--protected", "production", "--gate", "production: f1 >= 0.9",
    )  # fmt: skip
    train("weights 0", f1=0.95)
    cli_out("link", "training/clf:v0", "model-registry/models")


@pytest.fixture
def team(tmp_path, monkeypatch):
    """This clone and its remote, a bare repo at a GitHub-shaped path (acme/registry)."""
    seed_registry(tmp_path / "seed", tmp_path, monkeypatch)
    bare = clone_bare(tmp_path / "seed", tmp_path / "github.com" / "acme" / "registry.git")
    store = clone_registry(bare, tmp_path / "clone")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store, bare


def promote_json(*args: str) -> dict[str, Any]:
    return json.loads(cli_out("promote", *args, "--pr", "--json"))


def changed(repo: Path, branch: str) -> list[str]:
    """The files a pull request of ``branch`` into main changes."""
    return git(repo, "diff", "--name-only", f"main...{branch}").splitlines()


# -- judged against the remote's main ---------------------------------------------------


def test_a_stale_clone_promotes_against_the_remote_main(team, tmp_path):
    _, bare = team
    train("weights 1", f1=0.97)
    cli_out("link", "training/clf:v1", "model-registry/models")
    # A teammate's promotion of v0 merged on the remote; this clone has not pulled it.
    mate = clone_registry(bare, tmp_path / "mate")
    cli_out("--registry", str(mate.root), "promote", "model-registry/models/clf:v0",
            "--to", "production", "--pr")  # fmt: skip
    git(
        mate.root,
        "merge",
        "--quiet",
        "--no-ff",
        BRANCH,
        "-m",
        f"Merge pull request #3 from {BRANCH}",
    )
    git(mate.root, "push", "--quiet", "origin", "main")
    remote_main = git(bare, "rev-parse", "main")

    done = promote_json("model-registry/models/clf:v1", "--to", "production")

    branch = "promote/models/clf/production/v1"
    assert done["previous"] == "v0"  # the holder on the remote, not "none" as here
    assert git(bare, "rev-parse", f"{branch}^") == remote_main
    assert changed(bare, branch) == [PRODUCTION]


def test_a_link_only_in_this_clone_is_refused_with_the_command_that_fixes_it(team, tmp_path):
    store, bare = team
    train("weights 1", f1=0.97)
    away = bare.rename(tmp_path / "unreachable.git")  # the remote is out of reach...
    cli_error("link", "training/clf:v1", "model-registry/models")  # ...so the link stays here
    away.rename(bare)
    assert (store.root / "registries/models/clf/links/v1.yaml").is_file()

    err = cli_error("promote", "model-registry/models/clf:v1", "--to", "production", "--pr")

    assert err == (
        "error: model-registry/models/clf:v1 is in this clone but not on origin/main, the "
        "base a promotion is judged against and merges into (a promotion only moves the "
        "stage to a version already linked there): push it first: "
        f"git -C {store.root} push origin main"
    )
    assert git(store.root, "branch", "--list", "promote/*") == ""
    assert git(bare, "branch", "--list", "promote/*") == ""
    git(store.root, "push", "--quiet", "origin", "main")
    done = promote_json("model-registry/models/clf:v1", "--to", "production")
    assert changed(bare, done["branch"]) == [PRODUCTION]


def test_a_version_not_linked_yet_is_linked_on_main_and_the_branch_only_moves_the_stage(team):
    _, bare = team
    train("weights 1", f1=0.97)

    done = promote_json("training/clf:v1", "--to", "production")

    assert done["path"] == "model-registry/models/clf:v1"
    assert git(bare, "show", "main:registries/models/clf/links/v1.yaml").startswith("kind: link")
    assert changed(bare, done["branch"]) == [PRODUCTION]


# -- a branch from an earlier attempt ----------------------------------------------------


def test_our_branch_is_reused_when_current_and_updated_when_main_moved(team, hub):
    store, bare = team
    first = promote_json("model-registry/models/clf:v0", "--to", "production")
    again = promote_json("model-registry/models/clf:v0", "--to", "production")
    assert again["commit"] == first["commit"] == git(bare, "rev-parse", BRANCH)
    assert again["pull_request"]["number"] == first["pull_request"]["number"] == 7

    train("weights 1", f1=0.2)  # main moves on: the branch is stale
    main = git(bare, "rev-parse", "main")
    third = promote_json("model-registry/models/clf:v0", "--to", "production")

    assert third["commit"] != first["commit"]
    assert git(bare, "rev-parse", BRANCH) == third["commit"]
    assert git(bare, "rev-parse", f"{BRANCH}^") == main == git(bare, "rev-parse", "main")
    assert git(store.root, "rev-parse", BRANCH) == third["commit"]
    assert third["pull_request"] == {
        "how": "api",
        "url": "https://github.example/acme/registry/pull/7",
        "number": 7,
        "existing": True,
    }
    assert len(hub.posts()) == 3 and len(hub.pulls) == 1


def test_a_remote_branch_with_other_commits_is_reported_with_the_command(team, tmp_path):
    store, bare = team
    promote_json("model-registry/models/clf:v0", "--to", "production")
    mate = tmp_path / "mate"
    git(tmp_path, "clone", "--quiet", str(bare), str(mate))
    git(mate, "checkout", "--quiet", BRANCH)
    write(mate / "NOTES.md", "a reviewer's note")
    git(mate, "add", "NOTES.md")
    git(mate, "commit", "--quiet", "-m", "note")
    git(mate, "push", "--quiet", "origin", BRANCH)
    theirs = git(bare, "rev-parse", BRANCH)

    err = cli_error("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")

    assert err == (
        f"error: branch {BRANCH!r} on 'origin' holds commits other than this promotion "
        f"({theirs[:12]}): merge or close its pull request, or delete it and promote "
        f"again: git -C {store.root} push origin --delete {BRANCH}"
    )
    assert git(bare, "rev-parse", BRANCH) == theirs


def test_without_a_remote_the_local_branch_is_reused_or_reported(registry):
    cli_out(
        "registry", "create", "models", "--stages", "staging,production",
        "--protected", "production",
    )  # fmt: skip
    train("weights 0", f1=0.95)
    cli_out("link", "training/clf:v0", "model-registry/models")
    first = promote_json("model-registry/models/clf:v0", "--to", "production")
    again = promote_json("model-registry/models/clf:v0", "--to", "production")
    assert again["commit"] == first["commit"] and again["pull_request"] is None

    git(registry.root, "branch", "--quiet", "-f", BRANCH, "main")  # not a promotion's commit
    err = cli_error("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")
    assert err.endswith(f"git -C {registry.root} branch -D {BRANCH}")
    assert "holds commits other than this promotion" in err


# -- a fork ----------------------------------------------------------------------------


def test_a_fork_pushes_to_origin_and_opens_the_pull_request_upstream(tmp_path, monkeypatch, hub):
    seed_registry(tmp_path / "seed", tmp_path, monkeypatch)
    upstream = clone_bare(tmp_path / "seed", tmp_path / "github.com" / "acme" / "registry.git")
    fork = clone_bare(upstream, tmp_path / "github.com" / "alice" / "registry.git")
    store = clone_registry(fork, tmp_path / "clone")
    git(store.root, "remote", "add", "upstream", str(upstream))
    # Upstream's main moved on since the fork was made: the base is upstream's.
    train("weights 1", f1=0.2)
    git(tmp_path / "seed", "push", "--quiet", str(upstream), "main")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))

    done = promote_json("model-registry/models/clf:v0", "--to", "production")

    assert git(fork, "rev-parse", BRANCH) == done["commit"]
    assert git(upstream, "branch", "--list", BRANCH) == ""
    assert git(fork, "rev-parse", f"{BRANCH}^") == git(upstream, "rev-parse", "main")
    (post,) = hub.posts()
    assert post["path"] == "/repos/acme/registry/pulls"
    assert (post["body"]["head"], post["body"]["base"]) == (f"alice:{BRANCH}", "main")

    monkeypatch.delenv("GITHUB_TOKEN")
    again = promote_json("model-registry/models/clf:v0", "--to", "production")
    assert again["pull_request"]["url"] == (
        f"https://github.com/acme/registry/compare/main...alice:{BRANCH}?expand=1"
    )


# -- the token goes only to the API, over https ------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.github.com", True),
        ("https://ghe.example.test/api/v3/", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9", True),
        ("http://[::1]:9", True),
        ("http://api.github.com", False),
        ("http://127.1:8080", False),
        ("http://127.0.0.2", False),
        ("http://localhost.evil.test", False),
        ("http://127.0.0.1.evil.test", False),
        ("ftp://api.github.com", False),
        ("https://", False),
        ("api.github.com", False),
    ],
)
def test_which_api_urls_may_receive_the_token(url, allowed, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    if allowed:
        assert _github.api_url() == url.rstrip("/")
    else:
        with pytest.raises(wandb.errors.UsageError, match="GITHUB_API_URL") as caught:
            _github.api_url()
        assert TOKEN not in str(caught.value)


def test_an_api_url_not_https_gets_no_token_and_nothing_is_pushed(team, hub, monkeypatch):
    _, bare = team
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.1:{hub.port}")  # 127.0.0.1, unlisted

    err = cli_error("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")

    assert "GITHUB_API_URL" in err and "https://" in err and TOKEN not in err
    assert hub.requests == []
    assert git(bare, "branch", "--list", "promote/*") == ""
    monkeypatch.setenv("GITHUB_API_URL", f"http://localhost:{hub.port}")
    promote_json("model-registry/models/clf:v0", "--to", "production")
    assert [r["auth"] for r in hub.requests] == [f"Bearer {TOKEN}"]


def test_a_redirect_is_not_followed_with_the_token(team, hub):
    elsewhere = Hub()
    try:
        hub.reply = (302, {"Location": f"{elsewhere.url}/collect"}, b"")
        err = cli_error("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")
    finally:
        elsewhere.close()
    assert elsewhere.requests == []
    assert "redirect" in err and TOKEN not in err


def test_an_api_error_that_echoes_the_token_does_not_show_it(team, hub, monkeypatch):
    hub.reply = (401, {"Content-Type": "application/json"}, json.dumps(
        {"message": f"Bad credentials: {TOKEN}"}).encode())  # fmt: skip
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GH_TOKEN", TOKEN)

    err = cli_error("promote", "model-registry/models/clf:v0", "--to", "production", "--pr")

    assert "(401)" in err and "Bad credentials" in err and TOKEN not in err


# -- the pull request body ---------------------------------------------------------------

HOSTILE = "@team <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![i](https://evil.test/i.png) | cell\nrow `tick` www.evil.test #12"


def outside_code(html: str) -> str:
    """The rendered text that is not inside <code>...</code> (where GitHub makes no
    mentions, links or references)."""
    return re.sub(r"<code[^>]*>.*?</code>", "", html, flags=re.S)


def test_the_body_says_why_gates_source_run_and_diff_and_is_inert(team, hub, monkeypatch):
    store, _ = team
    # v0 holds production (its pull request merged).
    promote_json("model-registry/models/clf:v0", "--to", "production")
    git(
        store.root,
        "merge",
        "--quiet",
        "--no-ff",
        BRANCH,
        "-m",
        f"Merge pull request #7 from {BRANCH}",
    )
    git(store.root, "push", "--quiet", "origin", "main")
    write("model.bin", "weights 1")
    with wandb.init(project="training", job_type="eval @ops <b>x</b>", id="run-42") as run:
        art = wandb.Artifact(
            "clf", type="model", metadata={"f1": 0.94, "note": HOSTILE, "@owner|x": "[a](b)"}
        )
        art.add_file("model.bin")
        run.log_artifact(art)
    cli_out("link", "training/clf:v1", "model-registry/models")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "@boss <script>")

    reason = HOSTILE.replace("\n", " ")  # a reason is one line (its schema says so)
    promote_json("model-registry/models/clf:v1", "--to", "production", "--reason", reason)

    body = hub.posts()[-1]["body"]["body"]
    assert TOKEN not in body
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(body)
    text = outside_code(html)
    for bad in ("<img", "<a ", "<script", "<b>", "@", "javascript:", "evil.test", "#12"):
        assert bad not in text, (bad, body)
    # Every table row has the cells of its header: | and newlines cannot add any.
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        widths = {
            len(re.findall(r"<t[hd]", row))
            for row in re.findall(r"<tr>.*?</tr>", table, flags=re.S)
        }
        assert len(widths) == 1, table
    # What the reviewer needs, in plain words.
    assert "f1 0.94 ≥ 0.9" in html and "pass" in html
    assert "@team" in html  # the reason is shown, as inert text
    assert "run-42" in html and "eval @ops &lt;b&gt;x&lt;/b&gt;" in html
    assert "training/clf:v0" in html and "training/clf:v1" in html  # the holder, the candidate
    assert "| metadata.f1 | 0.95 → 0.94 |" in body  # old → new
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the hostile value, shown as text


def test_the_body_links_the_run_page_when_the_site_url_is_known(team, hub):
    store, _ = team
    write(store.root / "mkdocs.yml", "site_url: https://registry.example.test/\n")
    git(store.root, "add", "mkdocs.yml")
    git(store.root, "commit", "--quiet", "-m", "site url")
    git(store.root, "push", "--quiet", "origin", "main")
    run_id = yaml.safe_load(git(store.root, "show", "main:projects/training/clf/versions/v0.yaml"))[
        "run"
    ]

    promote_json("model-registry/models/clf:v0", "--to", "production")

    body = hub.posts()[-1]["body"]["body"]
    assert f"(https://registry.example.test/runs/training/{run_id}.html)" in body


# -- a main branch the remote protects ---------------------------------------------------

HOOK = """#!/bin/sh
echo push >> "{count}"
while read old new ref; do
  if [ "$ref" = "refs/heads/main" ]; then
    echo "error: GH006: Protected branch update failed for refs/heads/main." >&2
    exit 1
  fi
done
"""


def test_a_push_the_remote_protects_fails_at_once_with_the_way_forward(
    team, tmp_path, monkeypatch, hub
):
    store, bare = team
    count = tmp_path / "pushes"
    hook = write(bare / "hooks" / "pre-receive", HOOK.format(count=count))
    hook.chmod(0o755)
    monkeypatch.setattr(store_module, "PUSH_PATIENCE", 2.0)
    before = git(store.root, "rev-parse", "main")
    write("model.bin", "weights 1")

    err = cli_error("log", "model.bin", "--name", "training/clf", "--type", "model")

    assert err == (
        "error: main is protected on the remote 'origin' (GH006: Protected branch update "
        "failed for refs/heads/main.): nothing was written; changes to main go by pull "
        "request (a stage moves by: registry-tool promote PATH --to STAGE --pr)"
    )
    assert count.read_text().splitlines() == ["push"]  # one push, no retries
    assert git(store.root, "rev-parse", "main") == before
    # A promotion goes by a branch, which the remote takes.
    done = promote_json("model-registry/models/clf:v0", "--to", "production")
    assert git(bare, "rev-parse", BRANCH) == done["commit"]


@pytest.mark.parametrize(
    ("output", "final"),
    [
        (" ! [remote rejected] main -> main (protected branch hook declined)", True),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)", True),
        ("remote: error: GH006: Protected branch update failed for refs/heads/main.", True),
        ("remote: error: GH013: Repository rule violations found for refs/heads/main.", True),
        (" ! [remote rejected] main -> main (branch is currently checked out)", True),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (deletion prohibited)", True),
        (" ! [remote rejected] main -> main (cannot lock ref 'refs/heads/main')", False),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)", False),
        ("!\tHEAD:refs/heads/main\t[remote rejected] (incorrect old value provided)", False),
        (" ! [remote rejected] main -> main (stale info)", False),
        (" ! [rejected]        main -> main (fetch first)", False),
        ("!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)", False),
        ("fatal: unable to access 'https://github.com/acme/r.git/': Could not resolve host", False),
    ],
)
def test_which_push_refusals_are_final(output, final):
    # Final: reported at once. The others are other writers winning a race, or a remote
    # out of reach: a rebuild and another push get past them.
    found = store_module._protection(output) or store_module._refusal(output)
    assert (found is not None) is final


def test_a_remote_that_refuses_the_branch_for_another_reason_fails_at_once(
    registry, tmp_path, monkeypatch
):
    # A non-bare remote with main checked out refuses every push to main: no number of
    # retries gets past it, and it is not other writers winning.
    remote = tmp_path / "checked-out"
    git(tmp_path, "clone", "--quiet", str(registry.root), str(remote))
    git(registry.root, "remote", "add", "origin", str(remote))
    git(registry.root, "fetch", "--quiet", "origin")
    git(registry.root, "branch", "--quiet", "--set-upstream-to", "origin/main")
    monkeypatch.setattr(store_module, "PUSH_PATIENCE", 30.0)
    before = git(registry.root, "rev-parse", "main")
    write("model.bin", "weights")
    started = time.monotonic()
    err = cli_error("log", "model.bin", "--name", "training/clf", "--type", "model")
    assert time.monotonic() - started < 20  # not PUSH_PATIENCE of retries
    assert err == (
        "error: the remote 'origin' refused the push to main (branch is currently checked "
        "out): nothing was written"
    )
    assert git(registry.root, "rev-parse", "main") == before
