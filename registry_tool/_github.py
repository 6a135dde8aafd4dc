"""Opening a pull request for a promotion branch: ``gh`` when it is installed and
logged in, else the GitHub REST API with ``GITHUB_TOKEN`` (or ``GH_TOKEN``;
``GITHUB_API_URL`` honoured, as in GitHub Actions), else the compare URL for a person
to open.

The token is a credential: it is sent in a header, only to an ``https://`` API URL
(``http://`` only to 127.0.0.1, localhost or [::1], where tests run a stand-in), never
along a redirect, and never printed, logged or written anywhere, the API's own error
text included. A promotion from a fork (``origin`` the fork, ``upstream`` the base
repository) asks the base repository for a pull request from ``owner:branch``.
``REGISTRY_TOOL_NO_GH=1`` skips ``gh`` even when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tool import _settings
from registry_tool.errors import RegistryError, UsageError

_SLUG = re.compile(r"(?:github\.com[:/]|^)([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_PR_URL = re.compile(r"https://\S+/pull/(\d+)")


@dataclass(frozen=True)
class PullRequest:
    """An opened pull request: ``how`` is "gh", "api" or "compare" (a URL for a person
    to open, or None when the host is not GitHub); ``existing`` when one was already
    open for the branch (it now shows the branch as pushed)."""

    how: str
    url: str | None
    number: int | None = None
    existing: bool = False


def repo_slug(remote_url: str | None, *, explicit: bool = True) -> str | None:
    """``owner/repo`` from ``GITHUB_REPOSITORY`` (unless ``explicit`` is False: a
    fork's own repository is never the one Actions names) or a GitHub remote URL."""
    named = os.environ.get("GITHUB_REPOSITORY") if explicit else None
    if named:
        return named
    if not remote_url or "github" not in remote_url:
        return None
    match = _SLUG.search(remote_url.split("@")[-1] if "://" not in remote_url else remote_url)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


def api_url() -> str:
    """``GITHUB_API_URL`` (default https://api.github.com) if the token may go there.

    Only https keeps the token from anyone on the path; plain http is allowed to the
    loopback names alone, where a local stand-in of the API listens. A look-alike host
    (``127.1``, ``localhost.example``) is refused: it is not the name that was checked.
    """
    raw = (os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    parts = urllib.parse.urlsplit(raw)
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here, before anything is sent
    except ValueError:
        host = None
    scheme = parts.scheme.lower()
    plain = parts.username is None and parts.password is None
    if host and plain and (scheme == "https" or (scheme == "http" and host in _LOOPBACK)):
        return raw
    shown = f"{parts.scheme}://{host}" if host else "that value"
    raise UsageError(
        f"GITHUB_API_URL ({shown}) is not an https:// URL: the token is sent only over "
        "https (plain http only to 127.0.0.1, localhost or [::1]); fix GITHUB_API_URL or "
        "unset it for https://api.github.com"
    )


def _gh_ready(root: Path) -> bool:
    if not _settings.use_gh() or shutil.which("gh") is None:
        return False
    proc = subprocess.run(["gh", "auth", "status"], cwd=root, capture_output=True, check=False)
    return proc.returncode == 0


def check_route(root: Path, *, slug: str | None) -> None:
    """Refuse, before anything is pushed, a pull request the API could not be asked
    for safely (a token with an API URL it must not go to)."""
    if _token() and slug and not _gh_ready(root):
        api_url()


def _redact(text: str) -> str:
    """``text`` with every credential of the environment blotted out: an API or a
    proxy may echo what it was sent."""
    for key in ("GITHUB_TOKEN", "GH_TOKEN"):
        secret = os.environ.get(key)
        if secret and len(secret) >= 6:  # shorter, it would blot out ordinary words
            text = text.replace(secret, "***")
    return text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib would resend the Authorization header to
    wherever the Location points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
            "User-Agent": "registry-tool",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


def _by_api(token: str, *, slug: str, base: str, head: str, title: str, body: str) -> PullRequest:
    """POST the pull request; when GitHub says one is open for the branch already, the
    answer is that one (it shows the branch as just pushed)."""
    api = api_url()
    try:
        answer = _call(
            "POST",
            f"{api}/repos/{slug}/pulls",
            token,
            {"title": title, "head": head, "base": base, "body": body},
        )
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        if exc.code == 422 and "already exists" in detail:
            owner = slug.split("/")[0]
            qualified = head if ":" in head else f"{owner}:{head}"
            return _existing(token, api, slug=slug, base=base, head=qualified)
        if 300 <= exc.code < 400:
            raise RegistryError(
                f"the GitHub API at {api} answered with a redirect ({exc.code}), which is not "
                "followed with the token: set GITHUB_API_URL to the API's own address"
            ) from None
        raise RegistryError(
            f"GitHub refused the pull request ({exc.code}): {_redact(detail)}"
        ) from None
    except OSError as exc:
        raise RegistryError(
            f"could not reach the GitHub API at {api}: {_redact(str(exc))}"
        ) from None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RegistryError(f"the GitHub API at {api} did not answer with a pull request")
    return PullRequest("api", answer.get("html_url"), answer.get("number"))


def _existing(token: str, api: str, *, slug: str, base: str, head: str) -> PullRequest:
    """The open pull request of ``head`` into ``base`` (GitHub allows one)."""
    query = urllib.parse.urlencode({"head": head, "base": base, "state": "open"})
    try:
        found = _call("GET", f"{api}/repos/{slug}/pulls?{query}", token)
    except (OSError, ValueError):
        found = []
    first = found[0] if isinstance(found, list) and found else {}
    return PullRequest("api", first.get("html_url"), first.get("number"), existing=True)


def _by_gh(
    root: Path, *, slug: str | None, base: str, head: str, title: str, body: str
) -> PullRequest:
    args = ["gh", "pr", "create", "--base", base, "--head", head, "--title", title]
    if slug:
        args += ["--repo", slug]
    proc = subprocess.run(
        [*args, "--body-file", "-"],
        cwd=root,
        input=body.encode(),
        capture_output=True,
        check=False,
    )
    out = _redact(proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace"))
    found = _PR_URL.search(out)
    if proc.returncode != 0:
        if "already exists" in out and found:
            return PullRequest("gh", found.group(0), int(found.group(1)), existing=True)
        raise RegistryError(f"gh pr create failed: {out.strip()[-300:]}")
    url = proc.stdout.decode().strip().splitlines()[-1]
    number = re.search(r"/pull/(\d+)", url)
    return PullRequest("gh", url, int(number.group(1)) if number else None)


def open_pull_request(
    root: Path,
    *,
    slug: str | None,
    base: str,
    branch: str,
    title: str,
    body: str,
    fork_owner: str | None = None,
) -> PullRequest:
    """Ask for a pull request of ``branch`` into ``base`` of ``slug``; with
    ``fork_owner``, the branch is in that owner's fork (``head`` is ``owner:branch``)."""
    head = f"{fork_owner}:{branch}" if fork_owner else branch
    if _gh_ready(root):
        return _by_gh(root, slug=slug, base=base, head=head, title=title, body=body)
    token = _token()
    if token and slug:
        return _by_api(token, slug=slug, base=base, head=head, title=title, body=body)
    if slug:
        return PullRequest("compare", f"https://github.com/{slug}/compare/{base}...{head}?expand=1")
    return PullRequest("compare", None)


def merged_pulls_lookup(base_branch: str = "main") -> Callable[[str], list[tuple[int, str]]] | None:
    """In GitHub Actions (a token and ``GITHUB_REPOSITORY``): a function that asks GitHub
    which merged pull requests into ``base_branch`` a commit belongs to, as (number,
    merge commit) pairs; None without a token or repository.

    A merge commit is its pull request's ``merge_commit_sha``; a squash commit too; a
    rebase merge makes several commits, the last of which is the ``merge_commit_sha``.
    """
    token, slug = _token(), os.environ.get("GITHUB_REPOSITORY")
    if not token or not slug:
        return None
    api = api_url()

    def lookup(commit: str) -> list[tuple[int, str]]:
        url = f"{api}/repos/{slug}/commits/{commit}/pulls"
        try:
            pulls = _call("GET", url, token)
        except urllib.error.HTTPError as exc:
            detail = _redact(exc.read().decode("utf-8", "replace"))[:300]
            raise RegistryError(
                f"GitHub could not say which pull request brought {commit[:12]} "
                f"({exc.code}): {detail}; the check job needs 'pull-requests: read'"
            ) from None
        except OSError as exc:
            raise RegistryError(f"could not reach the GitHub API at {api}: {exc}") from None
        found = []
        for pull in pulls if isinstance(pulls, list) else []:
            merged = pull.get("merged_at") and (pull.get("base") or {}).get("ref") == base_branch
            number, sha = pull.get("number"), pull.get("merge_commit_sha")
            if merged and isinstance(number, int) and isinstance(sha, str):
                found.append((number, sha))
        return found

    return lookup
