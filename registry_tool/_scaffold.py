"""What ``registry-tool init --github`` writes into a registry repo: the workflow that
checks every change, the workflow that publishes the site, CODEOWNERS naming the people
who govern the registry, and the requirements file both workflows install from.

The workflows run with the least GitHub allows: actions pinned by commit SHA, values
from the event reaching shell steps only through ``env:``, read-only tokens. What they
install is pinned just as hard: registry-tool and every distribution it needs, each at
the version installed here and the SHA-256 of its wheel, so the check that guards the
registry runs code the team chose, not whatever an index serves that day.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from registry_tool._hashing import hash_file, scratch_path
from registry_tool._model.codeowners import (
    CODEOWNERS,
    LOCATIONS,
    parse_owners,
    required_paths,
    with_paths,
)
from registry_tool._version import __version__
from registry_tool.errors import NotFoundError, UsageError

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0"
UPLOAD_PAGES = "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa # v3.0.1"
DEPLOY_PAGES = "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e # v4.0.5"

CHECK_WORKFLOW = ".github/workflows/registry-check.yml"
SITE_WORKFLOW = ".github/workflows/publish-site.yml"
REQUIREMENTS = ".github/registry-tool-requirements.txt"

# The CI runner, fixed so that the wheels hashed here are the ones it installs: its
# Python, and its platform (Ubuntu 24.04 has glibc 2.39).
RUNNER = "ubuntu-24.04"
PYTHON = "3.11"
RUNNER_NAME = f"CPython {PYTHON} on Linux x86_64"
_GLIBC_MINOR = 39
_LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def _runner_platforms() -> list[str]:
    """The runner's platform tags, best first, as its pip ranks them."""
    tags = []
    for minor in range(_GLIBC_MINOR, 4, -1):
        tags.append(f"manylinux_2_{minor}_x86_64")
        if minor in _LEGACY:
            tags.append(f"{_LEGACY[minor]}_x86_64")
    return [*tags, "linux_x86_64"]


PLATFORMS = _runner_platforms()

INSTALL = f"python -m pip install --require-hashes --no-deps --only-binary=:all: -r {REQUIREMENTS}"
# The check job installs from the base's requirements (a first push has only its own).
BASE_INSTALL = (
    f'git show "$BASE:{REQUIREMENTS}" > "$RUNNER_TEMP/requirements.txt" '
    f'|| cp {REQUIREMENTS} "$RUNNER_TEMP/requirements.txt"\n'
    "          python -m pip install --require-hashes --no-deps --only-binary=:all: "
    '-r "$RUNNER_TEMP/requirements.txt"'
)

REGISTRY_CHECK = f"""\
# Checks every change to this registry with `registry-tool check`: schemas, immutable
# versions, aliases that resolve, stage gates and order, protected aliases that move
# only by a merged pull request, and CODEOWNERS covering what governs the registry.
# Make the "registry-tool check" job a required status check of main.
name: registry-check

on:
  pull_request:
  merge_group:
  push:
    branches: [main]

permissions: {{}}

# A newer commit of a pull request cancels the check of the older one. A push to main
# is never cancelled nor replaced by a later one: each push's commits are checked.
concurrency:
  group: registry-check-${{{{ github.event_name }}}}-${{{{ github.event_name == 'push' && github.run_id || github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

jobs:
  check:
    name: registry-tool check
    runs-on: {RUNNER}
    timeout-minutes: 15
    permissions:
      contents: read
      # check asks GitHub whether a commit on main came from a merged pull request
      pull-requests: read
    steps:
      # For a pull request this is GitHub's merge commit (the change as it would land).
      - name: Check out the change with its history
        uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - name: Set up Python
        uses: {SETUP_PYTHON}
        with:
          python-version: "{PYTHON}"
      # The pins as the base has them: a change never picks the checker that judges it.
      - name: Install registry-tool (pinned and hash-checked, as on the base)
        env:
          BASE: ${{{{ github.event_name == 'push' && github.event.before || github.event.merge_group.base_sha || 'HEAD^1' }}}}
        run: |
          {BASE_INSTALL}
      - name: Check the change
        env:
          GITHUB_TOKEN: ${{{{ github.token }}}}
        # Add --verify-blobs (and storage credentials) to also check that every blob
        # an added version names is in storage.
        run: registry-tool check --ci
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
    name: Build the site
    runs-on: {RUNNER}
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - name: Check out main with its history
        uses: {CHECKOUT}
        with:
          fetch-depth: 0
          persist-credentials: false
      - name: Set up Python
        uses: {SETUP_PYTHON}
        with:
          python-version: "{PYTHON}"
      - name: Install graphviz
        run: |
          sudo apt-get update
          sudo apt-get install --yes graphviz
      - name: Install registry-tool (pinned and hash-checked)
        run: |
          {INSTALL}
      - name: Build the site
        run: registry-tool site build --out site
      - name: Upload the site
        uses: {UPLOAD_PAGES}
        with:
          path: site

  deploy:
    name: Deploy the site to GitHub Pages
    needs: build
    runs-on: {RUNNER}
    timeout-minutes: 10
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - name: Deploy
        id: deployment
        uses: {DEPLOY_PAGES}
"""

CODEOWNERS_HEADER = """\
# Who must review a change to what governs this registry. Turn on "Require review from
# Code Owners" for main; `registry-tool check` fails a change that leaves one of these
# paths without an owner. A later line wins over an earlier one.
"""

COMMIT_MESSAGE = "init --github: check and site workflows, CODEOWNERS, pinned requirements"


def github_files(
    owners: Sequence[str] = (),
    *,
    requirements: str | None = None,
    codeowners_text: str = CODEOWNERS_HEADER,
    codeowners_path: str = CODEOWNERS,
) -> dict[str, bytes]:
    """The files of ``.github/`` (and CODEOWNERS where ``codeowners_path`` says):
    ``codeowners_text`` with a line naming ``owners`` for each governing path it leaves
    uncovered, and ``requirements`` (pinned from pip's index when None). Owners are
    required: CODEOWNERS never names a placeholder."""
    team = parse_owners(owners)
    pinned = pinned_requirements() if requirements is None else requirements
    owned = with_paths(codeowners_text, required_paths(None, []), team)
    return {
        CHECK_WORKFLOW: REGISTRY_CHECK.encode(),
        SITE_WORKFLOW: PUBLISH_SITE.encode(),
        REQUIREMENTS: pinned.encode(),
        codeowners_path: owned.encode(),
    }


def github_setup(
    root: Path, owners: Sequence[str], *, wheelhouse: Path | None = None
) -> dict[str, bytes]:
    """Everything ``init --github`` writes into the repo at ``root``, computed before
    anything is written: owners checked, wheels hashed, a CODEOWNERS the repo already
    has (wherever GitHub would read it) kept with lines added. A workflow or
    requirements file already there is refused rather than replaced."""
    team = parse_owners(owners)
    for rel in (CHECK_WORKFLOW, SITE_WORKFLOW, REQUIREMENTS):
        if (root / rel).exists():
            raise UsageError(f"{root / rel} exists: move it away and run init --github again")
    where = next((loc for loc in LOCATIONS if (root / loc).is_file()), CODEOWNERS)
    text = CODEOWNERS_HEADER
    if (root / where).is_file():
        try:
            text = (root / where).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{root / where} is not UTF-8 text") from None
    pinned = pinned_requirements(wheelhouse)
    return github_files(team, requirements=pinned, codeowners_text=text, codeowners_path=where)


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Write each file whole (a temp file renamed into place): never half a file."""
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = scratch_path(target.parent, f".{target.name}.")
        tmp.write_bytes(data)
        os.replace(tmp, target)


# -- what registry-tool needs, pinned ---------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """A distribution at one version; ``name`` is its normalized name."""

    name: str
    version: str


def canonical(name: str) -> str:
    """The normalized name of a distribution: ``PyYAML`` and ``pyyaml`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


# The CI runner as environment markers see it (python_full_version: its 3.11 release).
RUNNER_MARKERS = {
    "python_version": PYTHON,
    "python_full_version": f"{PYTHON}.0",
    "implementation_name": "cpython",
    "implementation_version": f"{PYTHON}.0",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "platform_release": "",
    "platform_version": "",
}
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?[^;]*(?:;(?P<marker>.*))?"
)
_MARKER_TOKEN = re.compile(
    r"""\s*('[^']*'|"[^"]*"|===|==|!=|<=|>=|~=|<|>|\(|\)|[A-Za-z_][A-Za-z0-9_.]*)"""
)
_VERSION = re.compile(r"\d+(?:\.\d+)*")
_MARKER_OPS = ("===", "==", "!=", "<=", ">=", "~=", "<", ">", "in", "not in")


def runtime_distributions(root: str = "registry-tool") -> list[Pin]:
    """``root`` and every distribution it needs on the CI runner, each at the version
    installed here, found by walking the installed metadata (extras only where a
    requirement asks for them). The optional extras of registry-tool (images) are left
    out; everything ``check`` and ``site build`` import is in, boto3 included, so that
    ``check --verify-blobs`` reaches S3 storage."""
    # Imported here: it pulls in email, csv and zipfile, which no other command needs.
    import importlib.metadata

    pins: dict[str, Pin] = {}
    walked: dict[str, frozenset[str]] = {}
    todo: list[tuple[str, frozenset[str], str | None]] = [(root, frozenset(), None)]
    while todo:
        name, extras, needed_by = todo.pop()
        key = canonical(name)
        if key in walked and extras <= walked[key]:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            by = f" (needed by {needed_by})" if needed_by else ""
            raise NotFoundError(
                f"{name}{by} is not installed here, so it has no version to pin: "
                f"pip install {name}, then run init --github again"
            ) from None
        walked[key] = walked.get(key, frozenset()) | extras
        pins[key] = Pin(key, dist.version)
        for text in dist.requires or []:
            found = _REQUIREMENT.match(text)
            if found is None:
                raise UsageError(f"cannot read the requirement {text!r} of {key}")
            marker = found["marker"]
            if marker is None or marker_holds(marker, walked[key]):
                wanted = frozenset(
                    canonical(e) for e in (found["extras"] or "").split(",") if e.strip()
                )
                todo.append((found["name"], wanted, key))
    return sorted(pins.values(), key=lambda pin: pin.name)


def marker_holds(marker: str, extras: Collection[str] = ()) -> bool:
    """Whether an environment marker (PEP 508) holds on the CI runner, for a
    distribution asked for with ``extras``.

    >>> marker_holds('python_version < "3.11"'), marker_holds("sys_platform == 'linux'")
    (False, True)
    >>> marker_holds('extra == "s3" and os_name == "posix"', {"s3"})
    True
    """
    tokens = _marker_tokens(marker)
    wanted = {canonical(e) for e in extras}
    position = 0

    def take() -> str:
        nonlocal position
        if position == len(tokens):
            raise UsageError(f"cannot read the marker {marker!r}: it ends too soon")
        position += 1
        return tokens[position - 1]

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def either() -> bool:
        value = both()
        while peek() == "or":
            take()
            value = both() or value
        return value

    def both() -> bool:
        value = atom()
        while peek() == "and":
            take()
            value = atom() and value
        return value

    def atom() -> bool:
        if peek() == "(":
            take()
            value = either()
            if take() != ")":
                raise UsageError(f"cannot read the marker {marker!r}: a ( is not closed")
            return value
        left, op, right = take(), take(), take()
        if op not in _MARKER_OPS:
            raise UsageError(f"cannot read the marker {marker!r}: {op!r} is no comparison")
        if "extra" in (left, right):
            other = _marker_value(right if left == "extra" else left, marker)
            return (canonical(other) in wanted) is (op == "==")
        return _compare(_marker_value(left, marker), op, _marker_value(right, marker))

    value = either()
    if position != len(tokens):
        raise UsageError(f"cannot read the marker {marker!r}")
    return value


def _marker_tokens(marker: str) -> list[str]:
    tokens: list[str] = []
    end = 0
    for found in _MARKER_TOKEN.finditer(marker):
        if found.start() != end:
            break
        end = found.end()
        if found[1] == "in" and tokens[-1:] == ["not"]:
            tokens[-1] = "not in"
        else:
            tokens.append(found[1])
    if marker[end:].strip():
        raise UsageError(f"cannot read the marker {marker!r}")
    return tokens


def _marker_value(token: str, marker: str) -> str:
    if token[:1] in ("'", '"'):
        return token[1:-1]
    if token not in RUNNER_MARKERS:
        raise UsageError(f"cannot read the marker {marker!r}: {token!r} is no marker variable")
    return RUNNER_MARKERS[token]


def _compare(left: str, op: str, right: str) -> bool:
    if op in ("in", "not in"):
        return (left in right) is (op == "in")
    if op == "===":
        return left == right
    if op in ("==", "!=") and right.endswith(".*") and _VERSION.fullmatch(left):
        return (f"{left}.".startswith(right[:-1])) is (op == "==")
    if not (_VERSION.fullmatch(left) and _VERSION.fullmatch(right)):
        return {"==": left == right, "!=": left != right}.get(op, False)
    a, b = (tuple(int(n) for n in v.split(".")) for v in (left, right))
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    if op == "~=":
        stem = len(right.split(".")) - 1
        return a >= b and a[:stem] == b[:stem]
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def fits_runner(filename: str) -> bool:
    """Whether the CI runner would install the wheel named ``filename``.

    >>> fits_runner("PyYAML-6.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    True
    >>> fits_runner("PyYAML-6.0.2-cp311-cp311-macosx_11_0_arm64.whl")
    False
    """
    parts = filename.removesuffix(".whl").split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        return False
    pythons, abis, platforms = (tag.split(".") for tag in parts[-3:])
    if not any(_platform_fits(p) for p in platforms):
        return False
    return any(_python_fits(py, abi) for py in pythons for abi in abis)


def _python_fits(python: str, abi: str) -> bool:
    found = re.fullmatch(r"(py|cp)3(\d*)", python)
    if found is None or (found[2] and int(found[2]) > int(PYTHON.split(".")[1])):
        return False
    runner = "cp" + PYTHON.replace(".", "")
    if abi == "none":
        return found[1] == "py" or python == runner
    if abi == "abi3":
        return found[1] == "cp" and bool(found[2])
    return abi == runner and python == runner


def _platform_fits(platform: str) -> bool:
    glibc = re.fullmatch(r"manylinux_2_(\d+)_x86_64", platform)
    return (
        platform == "any" or platform in PLATFORMS or bool(glibc and int(glibc[1]) <= _GLIBC_MINOR)
    )


def wheel_hashes(folder: Path, pins: Sequence[Pin], *, hint: str) -> dict[str, list[str]]:
    """The SHA-256 of every wheel in ``folder`` the CI runner could install, by pin; a
    ``NotFoundError`` naming each pin without one, and ``hint`` (what to do instead)."""
    fitting: dict[tuple[str, str], list[Path]] = {}
    others: dict[tuple[str, str], str] = {}
    for wheel in sorted(folder.glob("*.whl")):
        parts = wheel.name.split("-")
        key = (canonical(parts[0]), parts[1].lower()) if len(parts) >= 5 else ("", "")
        if fits_runner(wheel.name):
            fitting.setdefault(key, []).append(wheel)
        else:
            others.setdefault(key, wheel.name)
    missing = [pin for pin in pins if (pin.name, pin.version.lower()) not in fitting]
    if missing:
        named = ", ".join(
            f"{p.name}=={p.version}"
            + (
                f" (only {others[(p.name, p.version.lower())]})"
                if (p.name, p.version.lower()) in others
                else ""
            )
            for p in missing
        )
        raise NotFoundError(
            f"{folder}: no wheel for the CI runner ({RUNNER_NAME}) of {named}; {hint}"
        )
    return {
        p.name: sorted(hash_file(w) for w in fitting[(p.name, p.version.lower())]) for p in pins
    }


def download_wheels(pins: Sequence[Pin], dest: Path) -> None:
    """Fetch the CI runner's wheel of every pin into ``dest`` with pip, through pip's own
    configuration (its index, proxies and certificates)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        "--python-version",
        PYTHON,
        "--implementation",
        "cp",
        "--abi",
        "cp" + PYTHON.replace(".", ""),
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
        *(f"{pin.name}=={pin.version}" for pin in pins),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        return
    if "No module named pip" in proc.stderr:
        raise UsageError(
            f"{sys.executable} has no pip to download the wheels with: install pip, "
            "or give --wheelhouse DIR"
        )
    found = re.search(r"No matching distribution found for (\S+)", proc.stderr)
    lines = proc.stderr.strip().splitlines()
    what = found[1] if found else (lines[-1] if lines else f"exit code {proc.returncode}")
    raise NotFoundError(
        f"pip found no wheel for the CI runner ({RUNNER_NAME}) of {what}: give "
        "--wheelhouse DIR holding one (pip download --no-deps --only-binary=:all: "
        f"--python-version {PYTHON} --platform manylinux_2_17_x86_64 --dest DIR ...)"
    )


def pinned_requirements(wheelhouse: Path | None = None) -> str:
    """The requirements file the workflows install from: every runtime distribution at
    its installed version with the SHA-256 of its wheels, from ``wheelhouse`` or, without
    one, downloaded with pip."""
    pins = runtime_distributions()
    if wheelhouse is not None:
        hashes = wheel_hashes(wheelhouse, pins, hint="add them, or leave out --wheelhouse")
    else:
        with tempfile.TemporaryDirectory(prefix="registry-tool-wheels-") as tmp:
            download_wheels(pins, Path(tmp))
            hashes = wheel_hashes(Path(tmp), pins, hint="give --wheelhouse DIR holding one")
    lines = [
        "# What the registry's workflows install: registry-tool and every distribution",
        "# it needs, each at one version with the SHA-256 of its wheel for the CI runner",
        f"# ({RUNNER_NAME}). pip installs them with --require-hashes,",
        "# so it refuses any wheel other than the one hashed here.",
        f"# Written by registry-tool {__version__} (init --github).",
    ]
    for pin in pins:
        lines.append(f"{pin.name}=={pin.version} \\")
        digests = hashes[pin.name]
        lines += [
            f"    --hash=sha256:{d}" + (" \\" if i < len(digests) - 1 else "")
            for i, d in enumerate(digests)
        ]
    return "\n".join(lines) + "\n"
