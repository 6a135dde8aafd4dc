"""The Git-backed store: commits, concurrency, remotes, the user's own changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _verbs as ops
from registry_tool._blobs import LocalBlobStore
from registry_tool._store import RegistryStore, init_registry
from registry_tool.errors import CorruptBlobError, GitError
from tests.helpers import clone_bare, git, git_log, write


def log_file(
    path: Path, name: str = "p/data", registry: Path | None = None, **kw: object
) -> wandb.Artifact:
    return ops.log_path(path, name, "dataset", registry=registry, **kw)  # type: ignore[arg-type]


def test_every_write_is_one_commit_with_a_readable_message(registry):
    write("a.txt", "one")
    log_file(Path("a.txt"), aliases=["best"])
    write("a.txt", "two")
    log_file(Path("a.txt"))
    assert git_log(registry.root)[:2] == ["log p/data:v1 +latest", "log p/data:v0 +latest +best"]
    # Each commit touches only that write's files.
    changed = git(registry.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(changed) == [
        "projects/p/data/aliases/latest.yaml",
        "projects/p/data/versions/v1.yaml",
    ]
    assert git(registry.root, "status", "--porcelain") == ""


def test_identical_content_makes_no_version_no_blob_and_no_commit(registry):
    write("d/a.txt", "same")
    write("d/b.txt", "bytes")
    first = log_file(Path("d"))
    head = git(registry.root, "rev-parse", "HEAD")
    blobs = sorted((registry.root / ".blobs" / "sha256").rglob("*"))
    again = log_file(Path("d"))
    assert (first.version, again.version, again.created) == ("v0", "v0", False)
    assert git(registry.root, "rev-parse", "HEAD") == head
    assert sorted((registry.root / ".blobs" / "sha256").rglob("*")) == blobs


def test_relog_of_unchanged_files_reads_no_file(registry, monkeypatch):
    write("d/a.txt", "x" * 1000)
    log_file(Path("d"))

    def refuse(*args, **kwargs):
        raise AssertionError("an unchanged file was read again")

    original = LocalBlobStore.ingest
    monkeypatch.setattr(LocalBlobStore, "ingest", refuse)
    assert log_file(Path("d")).created is False
    # A touched file (new mtime) is read again, even with the same bytes.
    calls = []

    def counting(self, path, digest, advance):
        calls.append(path)
        return original(self, path, digest, advance)

    monkeypatch.setattr(LocalBlobStore, "ingest", counting)
    target = Path("d/a.txt")
    stat = target.stat()
    import os

    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert log_file(Path("d")).created is False
    assert [p.name for p in calls] == ["a.txt"]


def test_latest_follows_the_version_last_logged_or_deduplicated_to(registry):
    write("a.txt", "one")
    log_file(Path("a.txt"))
    write("a.txt", "two")
    log_file(Path("a.txt"))
    write("a.txt", "one")
    again = log_file(Path("a.txt"))
    assert again.version == "v0"
    assert sorted(again.aliases) == ["latest"]
    assert wandb.Api().artifact("p/data:latest").version == "v0"


def test_a_write_never_commits_the_users_staged_or_unstaged_changes(registry):
    readme = registry.root / "README.md"
    readme.write_text("my staged edit\n")
    git(registry.root, "add", "README.md")
    (registry.root / "notes.txt").write_text("untracked\n")
    (registry.root / "registry.yaml").write_text(
        (registry.root / "registry.yaml").read_text() + "# unstaged edit\n"
    )
    write("a.txt", "content")
    log_file(Path("a.txt"))
    committed = git(registry.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert all(p.startswith("projects/") for p in committed)
    assert git(registry.root, "diff", "--cached", "--name-only") == "README.md"
    assert git(registry.root, "diff", "--name-only") == "registry.yaml"
    assert "notes.txt" in git(registry.root, "status", "--porcelain")
    assert git(registry.root, "show", "HEAD:README.md") != "my staged edit"
    # The working tree holds the new files too.
    assert (registry.root / "projects/p/data/versions/v0.yaml").is_file()


def test_version_files_are_never_modified_by_a_write(registry):
    for i in range(3):
        write("a.txt", f"content {i}")
        art = log_file(Path("a.txt"), aliases=["best"])
        ops.set_alias(f"p/data:{art.version}", "prod")
    log = git(registry.root, "log", "--format=", "--name-status", "--", "projects/p/data/versions")
    assert {line.split("\t")[0] for line in log.splitlines() if line} == {"A"}


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from registry_tool import _verbs as ops
    registry, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(count):
        f = Path(f"{tag}-{i}.txt")
        f.write_text(f"{tag} {i}")
        ops.log_path(f, "p/shared", "dataset", registry=registry)
    """
)


def _spawn(registry: Path, tag: str, count: int, cwd: Path) -> subprocess.Popen[bytes]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(registry), tag, str(count)],
        cwd=cwd,
        stderr=subprocess.PIPE,
    )


def _versions(store: RegistryStore, name: str = "shared") -> list[int]:
    return store.version_numbers(store.head(), "p", name)


def test_two_processes_logging_to_one_clone_both_succeed(registry, tmp_path):
    procs = [_spawn(registry.root, t, 6, tmp_path / t) for t in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert _versions(registry) == list(range(12))
    assert ops.check(registry=registry.root).ok
    digests = {registry.version_digest(registry.head(), "p", "shared", n) for n in range(12)}
    assert len(digests) == 12


@pytest.fixture
def remote_pair(tmp_path):
    """A bare remote and two clones of it, each a registry that pushes."""
    origin = init_registry(tmp_path / "seed", name="team", storage=str(tmp_path / "blobs"))
    bare = tmp_path / "remote.git"
    clone_bare(origin.root, bare)
    clones = []
    for name in ("one", "two"):
        path = tmp_path / name
        git(path.parent, "clone", "--quiet", str(bare), str(path))
        clones.append(RegistryStore.open(path))
    return bare, clones


def test_a_rejected_push_is_rebuilt_on_the_new_tip_and_renumbered(remote_pair):
    bare, (one, two) = remote_pair
    write("a.txt", "from one")
    first = log_file(Path("a.txt"), registry=one.root)
    write("b.txt", "from two")
    # `two` has not fetched: it builds v0 too, is rejected, fetches, and becomes v1.
    second = log_file(Path("b.txt"), registry=two.root)
    assert (first.version, second.version) == ("v0", "v1")
    assert git(bare, "log", "--format=%s", "main").splitlines()[:2] == [
        "log p/data:v1 +latest",
        "log p/data:v0 +latest",
    ]
    assert git(two.root, "status", "--porcelain") == ""
    assert (two.root / "projects/p/data/versions/v0.yaml").is_file()
    assert wandb.Api(registry=two.root).artifact("p/data:latest").version == "v1"


def test_a_rejected_push_of_content_someone_else_logged_deduplicates(remote_pair):
    bare, (one, two) = remote_pair
    write("a.txt", "same bytes")
    log_file(Path("a.txt"), registry=one.root)
    again = log_file(Path("a.txt"), registry=two.root)
    assert (again.version, again.created) == ("v0", False)
    assert git(two.root, "rev-parse", "HEAD") == git(bare, "rev-parse", "main")


def test_processes_in_separate_clones_get_contiguous_versions(remote_pair, tmp_path):
    _, (one, two) = remote_pair
    procs = [_spawn(c.root, c.root.name, 5, tmp_path / f"w-{c.root.name}") for c in (one, two)]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()
    git(one.root, "pull", "--quiet", "--ff-only")
    assert _versions(one) == list(range(10))
    assert ops.check(registry=one.root).ok


def test_unreachable_remote_is_one_clear_error_and_the_commit_stays_local(registry):
    git(registry.root, "remote", "add", "origin", str(registry.root.parent / "nowhere.git"))
    write("a.txt", "x")
    with pytest.raises(GitError, match=r"committed .* locally but could not push to 'origin'"):
        log_file(Path("a.txt"))
    assert _versions(registry, "data") == [0]


def test_download_refuses_a_corrupted_blob(registry):
    write("a.txt", "precious")
    art = log_file(Path("a.txt"))
    hexdigest = art.files()[0].digest.removeprefix("sha256:")
    blob = registry.root / ".blobs" / "sha256" / hexdigest[:2] / hexdigest
    blob.chmod(0o644)
    blob.write_text("tampered")
    with pytest.raises(CorruptBlobError, match=hexdigest):
        wandb.Api().artifact("p/data:v0").download(root="out")
    assert not Path("out/a.txt").exists()
    assert not list(Path("out").glob(".*part*"))


def test_a_detached_head_refuses_writes(registry):
    git(registry.root, "checkout", "--quiet", "--detach")
    write("a.txt", "x")
    with pytest.raises(GitError, match="detached HEAD"):
        log_file(Path("a.txt"))


def test_an_in_place_rewrite_with_its_mtime_restored_is_noticed(registry):
    import os

    target = write("a.txt", "aaaa")
    first = log_file(target)
    st = target.stat()
    target.write_text("bbbb")  # same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p or rsync -t would
    second = log_file(target)
    assert (first.version, second.version, second.created) == ("v0", "v1", True)
    assert second.digest != first.digest


def test_storing_files_on_several_threads_gives_the_same_version(registry, monkeypatch):
    for i in range(40):
        write(f"d/{i:02d}.txt", f"file {i}" * (i + 1))
    serial = log_file(Path("d"), name="p/serial")
    monkeypatch.setenv("REGISTRY_TOOL_WORKERS", "4")
    for i in range(40):  # new inodes, so nothing comes from the stat cache
        target = Path(f"d/{i:02d}.txt")
        data = target.read_bytes()
        target.unlink()
        target.write_bytes(data)
    threaded = log_file(Path("d"), name="p/threaded")
    assert threaded.digest == serial.digest
    assert [e.to_doc() for e in threaded.files()] == [e.to_doc() for e in serial.files()]


def test_refs_and_config_read_in_process_agree_with_git(registry):
    repo = RegistryStore.open(registry.root).git
    write("a.txt", "x")
    log_file(Path("a.txt"))
    git(registry.root, "tag", "-a", "-m", "annotated", "t1")
    git(registry.root, "branch", "side", "HEAD~1")
    head = git(registry.root, "rev-parse", "HEAD")
    for ref in ("HEAD", "main", "refs/heads/main", "heads/main", "side", "t1", "HEAD~1", head[:12]):
        assert repo.rev_parse(ref) == git(registry.root, "rev-parse", f"{ref}^{{commit}}"), ref
    assert repo.rev_parse("nope") is None
    assert repo.rev_parse("refs/heads/nope") is None
    assert repo.current_branch() == "main"
    git(registry.root, "remote", "add", "zeta", "/nowhere/z")
    git(registry.root, "remote", "add", "alpha", "/nowhere/a")
    assert repo.remote_names() == ["alpha", "zeta"]
    assert registry.remote() == "alpha"
    git(registry.root, "config", "branch.main.remote", "zeta")
    assert registry.remote() == "zeta"
    assert repo.config("branch.main.remote") == "zeta"
    assert repo.config("branch.main.merge", "remote.alpha.url") == "/nowhere/a"
    git(registry.root, "checkout", "--quiet", "--detach")
    assert repo.current_branch() is None


def test_a_failed_git_command_is_one_git_error_with_its_stderr(registry):
    import git as gitpython

    with pytest.raises(GitError, match=r"git cat-file failed in .*: fatal: ") as info:
        registry.git.run("cat-file", "-t", "0" * 40)
    assert isinstance(info.value.__cause__, gitpython.exc.GitCommandError)
    assert registry.git.run("cat-file", "-t", "0" * 40, check=False).returncode != 0
    with pytest.raises(GitError, match="is missing"):
        registry.git.read_object("0" * 40)
    # The object reader is still in step after a missing object.
    head = registry.git.rev_parse("HEAD")
    assert registry.git.read_object(head).startswith(b"tree ")


def test_a_remote_that_sends_nothing_is_stopped_with_its_children(registry, tmp_path, monkeypatch):
    from registry_tool._store import git as git_layer

    monkeypatch.setattr(git_layer, "network_timeout", lambda: 0.3)
    started = time.monotonic()
    with pytest.raises(GitError, match="gave no result in 3 s"):
        registry.git.run("fetch", "--upload-pack=sleep 60;:", str(registry.root))
    assert time.monotonic() - started < 20
