"""`init --github`: owners required and checked, CODEOWNERS covering what governs the
registry, workflows of the expected shape that linters pass, and a requirements file
pip accepts with --require-hashes, built from a wheelhouse or downloaded with pip (here
from a local folder through pip's own configuration: no network)."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from registry_tool import _verbs as verbs
from registry_tool._model.codeowners import parse, required_paths, uncovered
from registry_tool._scaffold import REQUIREMENTS, fits_runner, marker_holds, runtime_distributions
from registry_tool.errors import UsageError
from tests.helpers import cli_error, cli_out, git, write

BIN = Path(sys.executable).parent
OWNERS = ("@acme/ml-admins", "lead@example.com")


def make_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", summary: str = "") -> Path:
    """A minimal valid wheel: METADATA, WHEEL and a RECORD of both."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(text.encode())}\n"
    wheel = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return wheel


@pytest.fixture(scope="module")
def pins():
    return runtime_distributions()


@pytest.fixture(scope="module")
def house(tmp_path_factory, pins):
    folder = tmp_path_factory.mktemp("wheelhouse")
    for pin in pins:
        make_wheel(folder, pin.name, pin.version)
    return folder


@pytest.fixture
def wheelhouse(house, tmp_path):
    """A copy of the wheelhouse the test may change."""
    return Path(shutil.copytree(house, tmp_path / "wheels"))


@pytest.fixture
def scaffolded(tmp_path, wheelhouse):
    root = tmp_path / "reg"
    cli_out("init", str(root), "--github", "--owners", OWNERS[0], "--owners", OWNERS[1], "--wheelhouse", str(wheelhouse))
    return root


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned(root: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of the requirements file."""
    text = (root / REQUIREMENTS).read_text().replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            spec, *hashes = line.split()
            name, version = spec.split("==")
            out[name] = (version, [h.removeprefix("--hash=sha256:") for h in hashes])
    return out


def pip_dry_run(root: Path, wheels: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(wheels),
         "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", str(root / REQUIREMENTS),
         "--target", str(target), "--disable-pip-version-check"],
        capture_output=True, text=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip


# -- owners --------------------------------------------------------------------------


def test_github_without_owners_is_a_usage_error_naming_the_flag(tmp_path, wheelhouse):
    out = cli_out("init", str(tmp_path / "reg"), "--github", "--wheelhouse", str(wheelhouse), code=2)
    assert "--github needs --owners" in out
    assert not (tmp_path / "reg").exists()
    out = cli_out("init", str(tmp_path / "reg"), "--github", "--owners", " , ", code=2)
    assert "--github needs --owners" in out


def test_owners_and_wheelhouse_go_with_github(tmp_path, wheelhouse):
    assert "go with --github" in cli_out("init", str(tmp_path / "reg"), "--owners", "@o/t", code=2)
    assert "go with --github" in cli_out("init", str(tmp_path / "reg"), "--wheelhouse", str(wheelhouse), code=2)
    assert not (tmp_path / "reg").exists()


@pytest.mark.parametrize(
    ("given", "refused"),
    [("org/team", "org/team"), ("@org/", "@org/"), ("@your org", "org"), ("someone", "someone"), ("@o/t/x", "@o/t/x")],
)
def test_a_malformed_owner_is_refused_before_anything_is_written(tmp_path, wheelhouse, given, refused):
    err = cli_error("init", str(tmp_path / "reg"), "--github", "--owners", f"@o/t,{given}", "--wheelhouse", str(wheelhouse))
    assert f"{refused!r} is not @org/team, @user or an email" in err
    assert not (tmp_path / "reg").exists()


def test_the_library_refuses_the_same_before_anything_is_written(tmp_path, wheelhouse):
    with pytest.raises(UsageError, match="at least one owner"):
        verbs.init(tmp_path / "reg", github=True, wheelhouse=wheelhouse)
    with pytest.raises(UsageError, match="go with github"):
        verbs.init(tmp_path / "reg", owners=["@o/t"])
    assert not (tmp_path / "reg").exists()


# -- what it writes ------------------------------------------------------------------


def test_init_github_commits_the_setup_and_codeowners_covers_every_governing_path(scaffolded):
    assert git(scaffolded, "ls-files", ".github").split() == [
        ".github/CODEOWNERS",
        ".github/registry-tool-requirements.txt",
        ".github/workflows/publish-site.yml",
        ".github/workflows/registry-check.yml",
    ]
    assert git(scaffolded, "status", "--porcelain") == ""
    text = (scaffolded / ".github" / "CODEOWNERS").read_text()
    assert uncovered(text, required_paths(None, [])) == []
    found = parse(text)
    assert found.errors == ()
    assert {rule.owners for rule in found.rules} == {OWNERS}
    assert "your-org" not in text and "placeholder" not in text.lower()


def test_the_requirements_pin_every_runtime_distribution_to_its_wheel(scaffolded, wheelhouse, pins):
    found = pinned(scaffolded)
    assert sorted(found) == sorted(pin.name for pin in pins)
    for pin in pins:
        (wheel,) = wheelhouse.glob(f"{re.sub(r'[-_.]+', '_', pin.name)}-{pin.version}-*.whl")
        assert found[pin.name] == (pin.version, [sha256(wheel)])


def test_pip_accepts_the_file_and_refuses_a_changed_wheel(scaffolded, wheelhouse, tmp_path):
    ok = pip_dry_run(scaffolded, wheelhouse, tmp_path / "target")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Would install" in ok.stdout and "registry-tool-" in ok.stdout
    version = importlib.metadata.version("pyyaml")
    (original,) = wheelhouse.glob(f"pyyaml-{version}-*.whl")
    original.unlink()
    make_wheel(wheelhouse, "pyyaml", version, summary="not the wheel that was pinned")
    refused = pip_dry_run(scaffolded, wheelhouse, tmp_path / "target")
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stdout + refused.stderr


def test_a_missing_wheel_is_named_with_what_to_do_and_nothing_is_written(tmp_path, wheelhouse):
    version = importlib.metadata.version("pyyaml")
    (wheel,) = wheelhouse.glob(f"pyyaml-{version}-*.whl")
    wheel.unlink()
    err = cli_error("init", str(tmp_path / "reg"), "--github", "--owners", "@o/t", "--wheelhouse", str(wheelhouse))
    assert f"no wheel for the CI runner (CPython 3.11 on Linux x86_64) of pyyaml=={version};" in err
    assert "leave out --wheelhouse" in err
    assert not (tmp_path / "reg").exists()


def test_only_wheels_the_runner_can_install_are_pinned(tmp_path, wheelhouse):
    version = importlib.metadata.version("pyyaml")
    (wheel,) = wheelhouse.glob(f"pyyaml-{version}-*.whl")
    wheel.unlink()
    mac = make_wheel(wheelhouse, "PyYAML", version, tag="cp311-cp311-macosx_11_0_arm64")
    make_wheel(wheelhouse, "PyYAML", version, tag="cp312-cp312-manylinux_2_17_x86_64")
    err = cli_error("init", str(tmp_path / "reg"), "--github", "--owners", "@o/t", "--wheelhouse", str(wheelhouse))
    assert f"pyyaml=={version} (only {mac.name})" in err
    linux = make_wheel(wheelhouse, "PyYAML", version, tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    abi3 = make_wheel(wheelhouse, "PyYAML", version, tag="cp38-abi3-manylinux_2_39_x86_64")
    make_wheel(wheelhouse, "PyYAML", version, tag="cp38-abi3-manylinux_2_40_x86_64")
    cli_out("init", str(tmp_path / "reg"), "--github", "--owners", "@o/t", "--wheelhouse", str(wheelhouse))
    assert pinned(tmp_path / "reg")["pyyaml"] == (version, sorted([sha256(linux), sha256(abi3)]))


def test_without_a_wheelhouse_pip_downloads_through_its_own_configuration(tmp_path, wheelhouse, monkeypatch, pins):
    # pip's configuration is where the index is chosen; here it names a local folder.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    cli_out("init", str(tmp_path / "reg"), "--github", "--owners", "@o/t")
    found = pinned(tmp_path / "reg")
    for pin in pins:
        (wheel,) = wheelhouse.glob(f"{re.sub(r'[-_.]+', '_', pin.name)}-{pin.version}-*.whl")
        assert found[pin.name] == (pin.version, [sha256(wheel)])
    (wheel,) = wheelhouse.glob("gitpython-*.whl")
    wheel.unlink()
    err = cli_error("init", str(tmp_path / "other"), "--github", "--owners", "@o/t")
    assert f"gitpython=={importlib.metadata.version('gitpython')}" in err.lower()
    assert "--wheelhouse DIR" in err
    assert not (tmp_path / "other").exists()


def test_a_codeowners_the_repo_has_keeps_its_lines(tmp_path, wheelhouse):
    root = tmp_path / "reg"
    write(root / "CODEOWNERS", "# ours\n/docs/ @acme/writers\n")
    git(tmp_path, "init", "--quiet", "-b", "main", str(root))
    cli_out("init", str(root), "--github", "--owners", "@acme/ml", "--wheelhouse", str(wheelhouse))
    # GitHub reads the root file when .github/ has none: that is the one extended
    assert not (root / ".github" / "CODEOWNERS").exists()
    text = (root / "CODEOWNERS").read_text()
    assert text.startswith("# ours\n/docs/ @acme/writers\n/registry.yaml @acme/ml\n")
    assert uncovered(text, required_paths(None, [])) == []


def test_a_workflow_already_there_is_refused_before_anything_is_written(tmp_path, wheelhouse):
    root = tmp_path / "reg"
    write(root / ".github" / "workflows" / "registry-check.yml", "name: ours\n")
    err = cli_error("init", str(root), "--github", "--owners", "@o/t", "--wheelhouse", str(wheelhouse))
    assert "registry-check.yml exists" in err
    assert not (root / "registry.yaml").exists() and not (root / ".git").exists()


# -- the workflows -------------------------------------------------------------------


def load(root: Path, name: str) -> dict:
    return yaml.safe_load((root / ".github" / "workflows" / name).read_text())


INSTALL = (
    "python -m pip install --require-hashes --no-deps --only-binary=:all: "
    "-r .github/registry-tool-requirements.txt"
)


def test_the_check_workflow(scaffolded):
    text = (scaffolded / ".github" / "workflows" / "registry-check.yml").read_text()
    doc = load(scaffolded, "registry-check.yml")
    assert doc[True] == {"pull_request": None, "merge_group": None, "push": {"branches": ["main"]}}
    assert doc["permissions"] == {}
    assert doc["concurrency"]["group"].startswith("registry-check-${{ github.event_name }}-")
    assert doc["concurrency"]["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    (job,) = doc["jobs"].values()
    assert job["name"] == "registry-tool check"
    assert job["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert all(step.get("name") for step in job["steps"])
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}  # GitHub's merge commit
    (install,) = [s for s in job["steps"] if "Install" in s["name"]]
    # The pins the base has, never the ones the change brings.
    assert install["env"]["BASE"] == (
        "${{ github.event_name == 'push' && github.event.before || "
        "github.event.merge_group.base_sha || 'HEAD^1' }}"
    )
    assert install["run"].splitlines() == [
        'git show "$BASE:.github/registry-tool-requirements.txt" > '
        '"$RUNNER_TEMP/requirements.txt" || cp .github/registry-tool-requirements.txt '
        '"$RUNNER_TEMP/requirements.txt"',
        "python -m pip install --require-hashes --no-deps --only-binary=:all: "
        '-r "$RUNNER_TEMP/requirements.txt"',
    ]
    check = job["steps"][-1]
    assert check["run"] == "registry-tool check --ci"
    assert check["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert "# Add --verify-blobs" in text


def test_the_site_workflow(scaffolded):
    doc = load(scaffolded, "publish-site.yml")
    assert doc[True] == {"push": {"branches": ["main"]}}
    assert doc["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert set(doc["jobs"]) == {"build", "deploy"}
    for job in doc["jobs"].values():
        assert job["name"] and all(step.get("name") for step in job["steps"])
    steps = doc["jobs"]["build"]["steps"]
    assert [s["run"].strip() for s in steps if s["name"].startswith("Install registry-tool")] == [INSTALL]
    assert doc["jobs"]["build"]["permissions"] == {"contents": "read"}


def test_the_workflows_pass_actionlint_and_zizmor(scaffolded):
    files = [str(p) for p in sorted((scaffolded / ".github" / "workflows").glob("*.yml"))]
    ran = 0
    for tool, args in (("actionlint", []), ("zizmor", ["--offline"])):
        found = shutil.which(tool) or (str(BIN / tool) if (BIN / tool).exists() else None)
        if found is None:
            continue
        proc = subprocess.run([found, *args, *files], capture_output=True, text=True)
        assert proc.returncode == 0, f"{tool}: {proc.stdout}{proc.stderr}"
        ran += 1
    if not ran:
        pytest.skip("neither actionlint nor zizmor is installed")


# -- what is pinned ------------------------------------------------------------------


def test_runtime_distributions_are_the_installed_closure_for_the_runner(pins):
    names = {pin.name for pin in pins}
    assert {"registry-tool", "pyyaml", "gitpython", "gitdb", "smmap", "jsonschema", "referencing",
            "rpds-py", "attrs", "click", "boto3", "botocore", "mkdocs", "jinja2"} <= names  # fmt: skip
    # extras nobody asked for, the images extra, and what only older Pythons need
    assert not {"pillow", "pytest", "mypy", "importlib-metadata"} & names
    # referencing needs typing-extensions below Python 3.13: the runner has 3.11
    assert "typing-extensions" in names
    for pin in pins:
        assert importlib.metadata.version(pin.name) == pin.version


@pytest.mark.parametrize(
    ("marker", "extras", "holds"),
    [
        ('python_version < "3.11"', (), False),
        ('python_version <= "3.11"', (), True),
        ('python_version >= "3.12"', (), False),
        ('python_version > "3.10"', (), True),
        ("python_version == '3.11.*'", (), True),
        ("python_version ~= '3.10'", (), True),
        ("python_version ~= '3.12'", (), False),
        ("python_full_version ~= '3.10.0'", (), False),
        ("python_full_version ~= '3.11.0'", (), True),
        ('python_full_version >= "3.11.0"', (), True),
        ('platform_system == "Windows"', (), False),
        ('sys_platform != "win32"', (), True),
        ("'linux' in sys_platform", (), True),
        ("'win' not in sys_platform", (), True),
        ('extra == "dev"', (), False),
        ('extra == "dev"', ("dev",), True),
        ('extra == "format_nongpl"', ("format-nongpl",), True),
        ('(python_version >= "3.9" and sys_platform != "cygwin") and extra == "test"', (), False),
        ('(python_version >= "3.9" and sys_platform != "cygwin") and extra == "test"', ("test",), True),
        ('python_version < "3.8" or platform_machine == "x86_64"', (), True),
        ('python_version < "3.8" or (os_name == "nt" and extra == "x")', ("x",), False),
    ],
)
def test_markers_are_judged_for_the_ci_runner(marker, extras, holds):
    assert marker_holds(marker, extras) is holds


@pytest.mark.parametrize(
    ("filename", "fits"),
    [
        ("a-1-py3-none-any.whl", True),
        ("a-1-py2.py3-none-any.whl", True),
        ("a-1-py2-none-any.whl", False),
        ("a-1-py311-none-any.whl", True),
        ("a-1-py312-none-any.whl", False),
        ("a-1-cp311-cp311-manylinux_2_39_x86_64.whl", True),
        ("a-1-cp311-cp311-manylinux_2_40_x86_64.whl", False),
        ("a-1-cp311-cp311-manylinux_2_17_aarch64.whl", False),
        ("a-1-cp311-cp311-musllinux_1_2_x86_64.whl", False),
        ("a-1-cp311-cp311-manylinux1_x86_64.whl", True),
        ("a-1-cp310-cp310-manylinux1_x86_64.whl", False),
        ("a-1-cp38-abi3-manylinux2014_x86_64.whl", True),
        ("a-1-cp312-abi3-manylinux2014_x86_64.whl", False),
        ("a-1-py3-abi3-any.whl", False),
        ("a-1-1build-py3-none-any.whl", True),
        ("a-1-py3-none-any.zip", False),
    ],
)
def test_wheels_the_ci_runner_installs(filename, fits):
    assert fits_runner(filename) is fits
