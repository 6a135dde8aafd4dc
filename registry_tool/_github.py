"""Opening a pull request for a promotion branch: ``gh`` when it is installed and
logged in, else the GitHub REST API with ``GITHUB_TOKEN`` (``GITHUB_API_URL``
honoured, as in GitHub Actions), else the compare URL for a person to open.

The token is sent in a header and never printed, logged or written anywhere.
``REGISTRY_TOOL_NO_GH=1`` skips ``gh`` even when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from registry_tool import _settings
from registry_tool.errors import RegistryError

_SLUG = re.compile(r"(?:github\.com[:/]|^)([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class PullRequest:
    how: str  # "gh", "api" or "compare"
    url: str | None
    number: int | None = None


def repo_slug(remote_url: str | None) -> str | None:
    """``owner/repo`` from ``GITHUB_REPOSITORY`` or a GitHub remote URL."""
    explicit = os.environ.get("GITHUB_REPOSITORY")
    if explicit:
        return explicit
    if not remote_url or "github" not in remote_url:
        return None
    match = _SLUG.search(remote_url.split("@")[-1] if "://" not in remote_url else remote_url)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _gh_ready(root: Path) -> bool:
    if not _settings.use_gh() or shutil.which("gh") is None:
        return False
    proc = subprocess.run(["gh", "auth", "status"], cwd=root, capture_output=True, check=False)
    return proc.returncode == 0


def open_pull_request(
    root: Path, *, slug: str | None, base: str, branch: str, title: str, body: str
) -> PullRequest:
    if _gh_ready(root):
        proc = subprocess.run(
            [
                "gh",
                "pr",
                "create",
                "--base",
                base,
                "--head",
                branch,
                "--title",
                title,
                "--body-file",
                "-",
            ],
            cwd=root,
            input=body.encode(),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RegistryError(f"gh pr create failed: {proc.stderr.decode().strip()[-300:]}")
        url = proc.stdout.decode().strip().splitlines()[-1]
        number = re.search(r"/pull/(\d+)", url)
        return PullRequest("gh", url, int(number.group(1)) if number else None)
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if token and slug:
        api = (os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
        request = urllib.request.Request(
            f"{api}/repos/{slug}/pulls",
            data=json.dumps({"title": title, "head": branch, "base": base, "body": body}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "registry-tool",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise RegistryError(f"GitHub refused the pull request ({exc.code}): {detail}") from None
        except OSError as exc:
            raise RegistryError(f"could not reach the GitHub API at {api}: {exc}") from None
        return PullRequest("api", answer.get("html_url"), answer.get("number"))
    if slug:
        return PullRequest(
            "compare", f"https://github.com/{slug}/compare/{base}...{branch}?expand=1"
        )
    return PullRequest("compare", None)
