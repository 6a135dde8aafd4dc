"""Files in and out: a download runs no code, never hangs, and any valid name downloads.

Hostile inputs that the case files of ``tests/data/hostile/`` cannot express: a version
committed by hand whose entry is ``.git/config`` downloaded into a code repository
(and ``git status`` run there afterwards), a cloned model folder added with
``add_dir``, FIFOs and endless devices where files are read, folders 500 and 1,200
levels deep, names that collide with the registry's layout, and names of 233 to 255
bytes downloaded from local and S3 storage.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _yamlio as yamlio
from registry_tool import errors
from registry_tool._model.manifest import Entry, artifact_digest
from registry_tool._sdk.artifact import SkippedFilesWarning
from tests.helpers import cli_error, cli_out, create_prod_registry, git, write

GIT_HOOK_CONFIG = """[core]
\trepositoryformatversion = 0
\tbare = false
\tfsmonitor = "touch {marker}; false #"
"""


def _log(name: str, files: dict[str, str | bytes], *, project: str = "p") -> wandb.Artifact:
    art = wandb.Artifact(name, type="dataset")
    for index, (entry, content) in enumerate(files.items()):
        art.add_file(write(Path("src") / name / str(index), content), name=entry)
    with wandb.init(project=project) as run:
        run.log_artifact(art)
    return art


def _hand_version(root: Path, name: str, renames: dict[str, str]) -> str:
    """Commit v1 of ``p/name`` by hand: v0's files under other entry paths (with a
    consistent digest), as a pull request could bring it. Returns ``p/name:v1``."""
    v0 = root / "projects" / "p" / name / "versions" / "v0.yaml"
    doc = yamlio.loads(v0.read_bytes(), str(v0))
    doc["version"] = 1
    for entry in doc["entries"]:
        entry["path"] = renames.get(entry["path"], entry["path"])
    doc["entries"].sort(key=lambda e: e["path"])
    doc["digest"] = artifact_digest(Entry.from_doc(e) for e in doc["entries"])
    write(v0.with_name("v1.yaml"), yamlio.dumps(doc))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"hand edit: {name}")
    return f"p/{name}:v1"


def _code_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    write(path / "train.py", "print('train')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "code")
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


_DEEP_ROOTS: list[Path] = []


@pytest.fixture(autouse=True)
def _remove_deep_folders():
    """A folder 1,200 levels deep is removed by ``rm -rf`` after its test: pytest's own
    clean-up of old temporary folders (``shutil.rmtree``) recurses once per level and
    would stop a later session with a RecursionError."""
    yield
    if _DEEP_ROOTS:
        subprocess.run(["rm", "-rf", *map(str, _DEEP_ROOTS)], check=False)
        _DEEP_ROOTS.clear()


def _deep(root: Path, depth: int, name: str = "a") -> Path:
    """``root/a/a/.../a`` ``depth`` levels down, made one level at a time (pathlib's
    own ``mkdir(parents=True)`` recurses once per level)."""
    _DEEP_ROOTS.append(root)
    here = str(root)
    os.makedirs(here, exist_ok=True)
    for _ in range(depth):
        here = os.path.join(here, name)
        os.mkdir(here)
    return Path(here)


def _within(seconds: float, action, *args):  # type: ignore[no-untyped-def]
    """Run ``action`` in a thread; fail (rather than hang the suite) if it blocks."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = action(*args)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"{getattr(action, '__name__', action)} blocked for {seconds} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


def _unblock(fifo: Path) -> None:
    """Open a FIFO for writing without blocking, so that a reader stuck on it (when the
    code under test is wrong) gets end-of-file and its thread ends."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader: nothing is stuck
    os.close(fd)


# -- 1. a download runs no code --------------------------------------------------------------


def test_a_version_holding_git_config_never_reaches_a_code_repo(registry, tmp_path):
    marker = tmp_path / "PWNED"
    _log("evil", {"config": GIT_HOOK_CONFIG.format(marker=marker), "model.bin": b"\x00\x01"})
    path = _hand_version(registry.root, "evil", {"config": ".git/config"})
    code = _code_repo(tmp_path / "code")
    before = _tree(code)
    os.chdir(code)

    with pytest.raises(errors.InvalidNameError) as caught:
        wandb.Api().artifact(path).download(root=".")
    assert str(caught.value) == (
        "invalid file name '.git/config' in artifact: '.git' is reserved for version "
        "control (a download there could make git run commands)"
    )
    assert cli_error("get", path, "--root", ".") == f"error: {caught.value}"
    assert _tree(code) == before  # nothing written, not even model.bin or a temp file
    subprocess.run(["git", "status"], cwd=code, capture_output=True, check=True)
    assert not marker.exists()


def test_check_refuses_a_version_with_a_git_entry(registry):
    _log("evil", {"config": "[core]\n"})
    _hand_version(registry.root, "evil", {"config": "sub/.Git/config"})
    out = cli_out("check", code=1)
    assert (
        "projects/p/evil/versions/v1.yaml: $.entries: invalid file name 'sub/.Git/config' in "
        "artifact: '.Git' is reserved for version control" in out
    )


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        (".git/config", ".git"),
        (".GIT/config", ".GIT"),
        ("models/.git/hooks/post-checkout", ".git"),
        (".git", ".git"),  # a gitlink file: "gitdir: <a repo whose config runs code>"
        (".git./config", ".git."),  # Windows drops trailing dots and spaces
        (".git /config", ".git "),
        ("GIT~1/config", "GIT~1"),  # the NTFS short name of .git
        (".g\u200cit/config", ".g\u200cit"),  # HFS+ ignores U+200C
        (".hg/hgrc", ".hg"),
        (".svn/entries", ".svn"),
    ],
)
def test_version_control_segments_are_refused_on_log(registry, name, segment):
    write("f.txt", "x")
    art = wandb.Artifact("data", type="dataset")
    with pytest.raises(errors.InvalidNameError) as caught:
        art.add_file("f.txt", name=name)
    assert str(caught.value) == (
        f"invalid file name {name!r} in artifact: {segment!r} is reserved for version "
        "control (a download there could make git run commands)"
    )


@pytest.mark.parametrize(
    "name", [".gitignore", ".gitattributes", ".github/workflows/ci.yml", "git/config", "x.git/a"]
)
def test_names_beside_version_control_ones_are_fine(registry, tmp_path, name):
    _log("data", {name: "x"})
    out = wandb.Api().artifact("p/data:latest").download(tmp_path / "out")
    assert (Path(out) / name).read_text() == "x"


def test_add_dir_of_a_cloned_model_skips_its_git_folder_and_says_so_once(registry, tmp_path):
    origin = _code_repo(tmp_path / "origin")
    clone = tmp_path / "model"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "remote", "set-url", "origin", "https://user:ghp_token@example.test/m.git")
    write(clone / "weights.bin", b"\x01\x02")
    write(clone / "vendor" / "lib" / ".git", "gitdir: ../../.git/modules/lib\n")  # a submodule
    write(clone / "vendor" / "lib" / "lib.py", "x = 1\n")
    write(clone / "data" / ".hg" / "hgrc", "[paths]\n")
    art = wandb.Artifact("model", type="model")
    with pytest.warns(SkippedFilesWarning) as caught:
        art.add_dir(clone)
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"add_dir {clone}: skipped version control folders and files (an artifact never "
        "holds them): .git, data/.hg, vendor/lib/.git"
    )
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    names = [e.path for e in wandb.Api().artifact("p/model:latest").files()]
    assert names == ["train.py", "vendor/lib/lib.py", "weights.bin"]
    stored = [p.read_bytes() for p in (registry.root / ".blobs").rglob("*") if p.is_file()]
    assert stored and not any(b"ghp_token" in blob for blob in stored)


# -- 2. names that collide with the layout ---------------------------------------------------


RESERVED = {
    "artifact name": ("runs", "the repo layout uses 'runs' there"),
    "run id": ("artifact", "the repo layout uses 'artifact.yaml' there"),
    "collection name": ("registry.yaml", "the repo layout uses 'registry.yaml' there"),
}


def _reserved(what: str, value: str) -> str:
    return f"invalid {what} {value!r}: it is reserved ({RESERVED[what][1]})"


@pytest.mark.parametrize("value", ["runs", "Runs", "RUNS"])
def test_an_artifact_named_like_the_runs_folder_is_refused(registry, value):
    write("f.txt", "x")
    with pytest.raises(errors.InvalidNameError) as caught:
        wandb.Artifact(value, type="dataset")
    assert str(caught.value) == _reserved("artifact name", value)
    assert cli_error("log", "f.txt", "--name", f"p/{value}", "--type", "dataset") == (
        f"error: {caught.value}"
    )


@pytest.mark.parametrize("value", ["artifact", "Artifact"])
def test_a_run_id_named_like_a_collection_file_is_refused(registry, value):
    head = git(registry.root, "rev-parse", "HEAD")
    with pytest.raises(errors.InvalidNameError) as caught:
        wandb.init(project="p", id=value)
    assert str(caught.value) == _reserved("run id", value)
    assert git(registry.root, "rev-parse", "HEAD") == head
    cli_out("check")
    cli_out("ls")


def test_a_registry_collection_named_like_its_config_is_refused(registry):
    create_prod_registry()
    art = _log("data", {"a.txt": "a"})
    config = (registry.root / "registries" / "prod" / "registry.yaml").read_bytes()
    head = git(registry.root, "rev-parse", "HEAD")
    with pytest.raises(errors.InvalidNameError) as caught:
        art.link("model-registry/prod/registry.yaml", aliases=["staging"])
    assert str(caught.value) == _reserved("collection name", "registry.yaml")
    assert cli_error("link", "p/data:v0", "model-registry/prod/Registry.YAML") == (
        f"error: {_reserved('collection name', 'Registry.YAML')}"
    )
    assert git(registry.root, "rev-parse", "HEAD") == head
    assert (registry.root / "registries" / "prod" / "registry.yaml").read_bytes() == config
    cli_out("check")


def test_names_beside_the_reserved_ones_are_fine(registry):
    create_prod_registry()
    for name in ("run", "runs2", "artifact", "registry.yml"):
        _log(name, {"a.txt": name})
    with wandb.init(project="p", id="artifacts") as run:
        run.use_artifact("p/run:latest")
    wandb.Api().artifact("p/runs2:latest").link("model-registry/prod/registry", aliases=[])
    cli_out("check")
    assert "runs2" in cli_out("ls", "p")


# -- 3. names near 255 bytes -----------------------------------------------------------------


@pytest.mark.parametrize("length", [233, 249, 255])
def test_a_file_name_of_up_to_255_bytes_downloads(registry, tmp_path, length):
    name = "d/" + "a" * (length - 4) + ".bin"
    _log("data", {name: b"long"})
    out = wandb.Api().artifact("p/data:latest").download(tmp_path / "out")
    assert (Path(out) / name).read_bytes() == b"long"
    wandb.Api().artifact("p/data:latest").verify(out)


def test_a_file_reference_named_255_bytes_downloads(registry, tmp_path):
    source = write(tmp_path / "refs" / ("r" * 251 + ".bin"), b"ref")
    art = wandb.Artifact("refs", type="dataset")
    art.add_reference(source.as_uri())
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    out = wandb.Api().artifact("p/refs:latest").download(tmp_path / "out")
    assert (Path(out) / source.name).read_bytes() == b"ref"
    assert os.listdir(out) == [source.name]  # no temp file left


@pytest.mark.parametrize(
    ("segment", "size"), [("b" * 256, 256), ("é" * 128, 256), ("c" * 300, 300)]
)
def test_new_file_with_a_segment_over_255_bytes_is_refused(registry, segment, size):
    art = wandb.Artifact("data", type="dataset")
    with pytest.raises(errors.InvalidNameError) as caught, art.new_file(f"dir/{segment}") as f:
        f.write("x")
    assert str(caught.value) == (
        f"invalid file name {'dir/' + segment!r} in artifact: its segment {segment!r} is "
        f"{size} bytes, over the 255 a file name may have"
    )


def test_an_s3_reference_with_a_249_byte_key_segment_downloads(
    s3_registry, s3_env, bucket, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env.endpoint)
    segment = "k" * 249
    s3_env.client().put_object(Bucket=bucket, Key=f"refs/{segment}", Body=b"s3 bytes")
    write(segment, b"local bytes")
    art = wandb.Artifact("mixed", type="dataset")
    art.add_reference(f"s3://{bucket}/refs/{segment}", name=f"ref/{segment}")
    art.add_file(segment, name=f"local/{segment}")
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    out = Path(wandb.Api().artifact("p/mixed:latest").download(tmp_path / "out"))
    assert (out / "ref" / segment).read_bytes() == b"s3 bytes"
    assert (out / "local" / segment).read_bytes() == b"local bytes"
    assert sorted(os.listdir(out / "ref")) == [segment]


# -- 4. only regular files are read: no hang -------------------------------------------------


def test_a_fifo_in_a_file_reference_folder_is_refused_not_read(registry, tmp_path):
    folder = tmp_path / "refdir"
    write(folder / "a.txt", "a")
    os.mkfifo(folder / "pipe")
    art = wandb.Artifact("refs", type="dataset")
    try:
        with pytest.raises(errors.ArtifactError) as caught:
            _within(10, art.add_reference, folder.as_uri())
    finally:
        _unblock(folder / "pipe")
    assert str(caught.value) == (
        f"reference {folder.as_uri()!r}: {folder / 'pipe'} is a FIFO, not a regular file "
        "(only regular files are read)"
    )


def test_a_link_to_dev_zero_in_a_file_reference_folder_is_refused(registry, tmp_path):
    folder = tmp_path / "refdir"
    write(folder / "a.txt", "a")
    os.symlink("/dev/zero", folder / "zeros")
    art = wandb.Artifact("refs", type="dataset")
    with pytest.raises(errors.ArtifactError) as caught:
        _within(10, art.add_reference, folder.as_uri())
    assert str(caught.value) == (
        f"reference {folder.as_uri()!r}: {folder / 'zeros'} is a character device, not a "
        "regular file (only regular files are read)"
    )
    with pytest.raises(errors.ArtifactError, match="is a character device"):
        _within(10, art.add_reference, "file:///dev/zero")


def test_a_file_reference_that_became_a_fifo_fails_its_download(registry, tmp_path):
    source = write(tmp_path / "refdir" / "a.txt", "a")
    art = wandb.Artifact("refs", type="dataset")
    art.add_reference(source.as_uri())
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    source.unlink()
    os.mkfifo(source)
    logged = wandb.Api().artifact("p/refs:latest")
    try:
        with pytest.raises(errors.VerificationError) as caught:
            _within(10, logged.download, tmp_path / "out")
    finally:
        _unblock(source)
    assert str(caught.value) == (
        f"test-registry/p/refs:v0: file 'a.txt': a.txt: the referenced file {source.as_uri()} is a FIFO, "
        "not a regular file"
    )


def test_verify_reports_a_fifo_and_never_reads_it(registry, tmp_path):
    _log("data", {"a.txt": "a", "b.txt": "b"})
    out = Path(wandb.Api().artifact("p/data:latest").download(tmp_path / "out"))
    (out / "a.txt").unlink()
    os.mkfifo(out / "a.txt")
    os.mkfifo(out / "extra")
    os.symlink("/dev/zero", out / "zeros")
    try:
        with pytest.raises(errors.VerificationError) as caught:
            _within(10, wandb.Api().artifact("p/data:latest").verify, out)
    finally:
        _unblock(out / "a.txt")
    assert str(caught.value) == f"{out}: 1 changed: a.txt; 2 extra: extra, zeros"


def test_verify_all_reports_a_fifo_in_the_blob_store_as_corrupt(registry):
    _log("data", {"a.txt": "a"})
    blob = next(p for p in (registry.root / ".blobs").rglob("*") if p.is_file())
    blob.unlink()
    os.mkfifo(blob)
    try:
        out = _within(10, lambda: cli_out("verify", "--all", "--json", code=1))
    finally:
        _unblock(blob)
    assert '"problem": "corrupt"' in out


def test_add_dir_skips_fifos_and_says_so(registry, tmp_path):
    folder = tmp_path / "d"
    write(folder / "a.txt", "a")
    os.mkfifo(folder / "pipe")
    os.symlink("pipe", folder / "to-pipe")
    art = wandb.Artifact("data", type="dataset")
    with pytest.warns(SkippedFilesWarning) as caught:
        _within(10, art.add_dir, folder)
    assert [str(w.message) for w in caught] == [
        f"add_dir {folder}: skipped what is not a regular file (only regular files are "
        "read): pipe (a FIFO), to-pipe (a FIFO)"
    ]
    with wandb.init(project="p") as run:
        run.log_artifact(art)
    assert [e.path for e in art.files()] == ["a.txt"]


# -- 5. unbounded work -----------------------------------------------------------------------


def test_add_dir_of_a_500_deep_folder_is_quick(registry, tmp_path):
    bottom = _deep(tmp_path / "d", 500)
    write(bottom / "f", "deep")
    art = wandb.Artifact("deep", type="dataset")
    started = time.perf_counter()
    art.add_dir(tmp_path / "d")
    took = time.perf_counter() - started
    assert [e.path for e in art.manifest] == ["a/" * 500 + "f"]
    assert took < 1.0, f"add_dir took {took:.2f} s"


def test_add_dir_of_a_1200_deep_folder_is_one_clear_error(registry, tmp_path):
    bottom = _deep(tmp_path / "d", 1200)
    write(bottom / "f", "deep")
    art = wandb.Artifact("deep", type="dataset")
    with pytest.raises(errors.ArtifactError) as caught:
        art.add_dir(tmp_path / "d")
    assert str(caught.value) == (
        f"cannot add {tmp_path / 'd'}: folder {'a/' * 511}a is nested too deep (the names of "
        "files in it would be over 1024 bytes)"
    )


def test_a_1200_deep_file_reference_folder_is_one_clear_error(registry, tmp_path):
    bottom = _deep(tmp_path / "d", 1200)
    write(bottom / "f", "deep")
    art = wandb.Artifact("deep", type="dataset")
    with pytest.raises(errors.InvalidNameError, match=r"is longer than 1024 bytes$"):
        art.add_reference((tmp_path / "d").as_uri())


def test_verify_of_a_1200_deep_folder_reports_it(registry, tmp_path):
    _log("data", {"a.txt": "a"})
    out = Path(wandb.Api().artifact("p/data:latest").download(tmp_path / "out"))
    write(_deep(out, 1200) / "f", "deep")
    with pytest.raises(errors.VerificationError) as caught:
        wandb.Api().artifact("p/data:latest").verify(out)
    assert str(caught.value) == f"{out}: 1 extra: {'a/' * 1200}f"


# -- 6. tracebacks ---------------------------------------------------------------------------


def test_get_into_a_root_that_is_a_file_is_one_clear_error(registry, tmp_path):
    _log("data", {"a.txt": "a"})
    write("taken", "mine")
    assert cli_error("get", "p/data:v0", "--root", "taken") == (
        "error: cannot download into taken: it is a file, not a folder"
    )
    write("dir/file", "mine")
    assert cli_error("get", "p/data:v0", "--root", "dir/file/below") == (
        "error: cannot download into dir/file/below: dir/file is a file, not a folder"
    )
    assert Path("taken").read_text() == Path("dir/file").read_text() == "mine"


def test_new_file_over_a_file_already_added_is_one_clear_error(registry):
    art = wandb.Artifact("data", type="dataset")
    with art.new_file("a") as f:
        f.write("x")
    with pytest.raises(errors.ArtifactError) as caught, art.new_file("a/b") as f:
        f.write("y")
    assert str(caught.value) == "cannot create 'a/b' in artifact 'data': 'a' is a file"
    art.delete_staging()
