"""What ``registry-tool init --github`` writes into a registry repo: the workflow that
checks every pull request, the workflow that publishes the site, and CODEOWNERS.

Actions are pinned by commit SHA; values from the event reach shell steps through
``env:``, never inlined; permissions are the least each job needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from registry_tool._model.layout import model_registry_file, registry_alias_file
from registry_tool._version import __version__

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"
UPLOAD_PAGES = "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa # v3.0.1"
DEPLOY_PAGES = "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e # v4.0.5"
PLACEHOLDER_TEAM = "@your-org/model-approvers"

REGISTRY_CHECK = f"""\
# Checks every pull request to this registry with `registry-tool check`: schemas,
# immutable versions, aliases that resolve, stage gates and order, and protected
# aliases that move only by pull request. Make this a required status check.
name: registry-check

on:
  pull_request:
  merge_group:

permissions:
  contents: read

jobs:
  check:
    name: registry-tool check
    runs-on: ubuntu-latest
    timeout-minutes: 15
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {SETUP_PYTHON}
        with:
          python-version: "3.11"
      - name: Install registry-tool
        run: python -m pip install "registry-tool=={__version__}"
      - name: Check the change
        env:
          BASE_SHA: ${{{{ github.event.pull_request.base.sha || github.event.merge_group.base_sha }}}}
          HEAD_SHA: ${{{{ github.event.pull_request.head.sha || github.event.merge_group.head_sha }}}}
        # Add --verify-blobs (and storage credentials) to also check that every blob
        # an added version names is in storage.
        run: registry-tool check --base "$BASE_SHA" --head "$HEAD_SHA"
"""

PUBLISH_SITE = f"""\
# Publishes the registry's browsable site to GitHub Pages on every push to main.
name: publish-site

on:
  push:
    branches: [main]

permissions: {{}}

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: {SETUP_PYTHON}
        with:
          python-version: "3.11"
      - name: Install graphviz and registry-tool
        run: |
          sudo apt-get update
          sudo apt-get install --yes graphviz
          python -m pip install "registry-tool=={__version__}"
      - name: Build the site
        run: registry-tool site build --out site
      - uses: {UPLOAD_PAGES}
        with:
          path: site

  deploy:
    needs: build
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: {DEPLOY_PAGES}
"""


def codeowners(protected_paths: Iterable[str], team: str = PLACEHOLDER_TEAM) -> str:
    """CODEOWNERS: the workflows and every protected alias need the team's review."""
    lines = [
        "# Reviews required for what governs this registry. Replace the placeholder team",
        "# with yours, and turn on 'Require review from Code Owners' for main.",
        f"/.github/ {team}",
        f"/{model_registry_file('*')} {team}",
    ]
    lines += [f"/{path} {team}" for path in sorted(set(protected_paths))]
    return "\n".join(lines) + "\n"


def protected_patterns(registry: str, stages: Iterable[str]) -> list[str]:
    return [registry_alias_file(registry, "*", stage) for stage in stages]


def github_files(protected_paths: Iterable[str] = ()) -> dict[str, bytes]:
    return {
        ".github/workflows/registry-check.yml": REGISTRY_CHECK.encode(),
        ".github/workflows/publish-site.yml": PUBLISH_SITE.encode(),
        ".github/CODEOWNERS": codeowners(protected_paths).encode(),
    }
