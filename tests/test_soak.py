"""Soak tests: many writer processes racing on one registry, and logs killed at random.

Real processes (the library and the CLI in subprocesses), real `git init --bare`
remotes, real SIGKILL, a real S3 server (SeaweedFS). Counts are small by default so
``make test`` stays fast; ``make soak`` (``REGISTRY_TOOL_SOAK=1``) runs the full counts.
Each test prints its figures as one ``SOAK {...}`` JSON line (``pytest -rP`` shows them).

1. Concurrent writers: half the processes share one managed clone of the remote, the
   others have one each. Versions must come out v0..vN-1 with no gap and no duplicate,
   each run file must list what its process was told it logged, every blob must be
   stored, ``registry-tool check`` must pass; racing alias moves must leave the alias
   where the last commit put it, with every move in ``registry-tool history``.
2. Crash safety: a log is SIGKILLed at a random moment (a random delay, or a random
   moment after its temp file, its blob, the local branch or the remote branch appears
   or moves); the phase it hit is read from what it left behind. After each kill the
   clone must be clean, pass check, name no missing blob, and the blob store hold only
   well-named, intact blobs; the same log run again (after a colleague pushed) must
   finish with exactly one new version, pushed.

Randomness is seeded and the seed printed: ``REGISTRY_TOOL_SOAK_SEED=<n>`` replays a run
(as far as timing allows).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from registry_tool._model.records import RunRecord
from registry_tool._store import RegistryStore, init_registry
from tests.helpers import cli_process, clone_registry, git, push_to_bare

SOAK = os.environ.get("REGISTRY_TOOL_SOAK") == "1"
BLOB_NAME = re.compile(r"^sha256/([0-9a-f]{2})/(\1[0-9a-f]{62})$")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600 if SOAK else 300)]


def seed() -> int:
    return int(os.environ.get("REGISTRY_TOOL_SOAK_SEED") or random.SystemRandom().randrange(10**9))


def report(test: str, **figures: Any) -> None:
    print("SOAK " + json.dumps({"test": test, **figures}, sort_keys=True), flush=True)


def remote_registry(tmp_path: Path, storage: str, **options: Any) -> tuple[Path, RegistryStore]:
    """A `git init --bare` remote holding a registry made by ``init_registry``."""
    seed_store = init_registry(
        tmp_path / "seed", name="team", storage=storage, storage_options=options or None
    )
    return push_to_bare(seed_store.root, tmp_path / "remote.git"), seed_store


def check_clean(root: Path) -> None:
    """`registry-tool check` on the whole tree, and on every commit's blobs."""
    whole = cli_process("--registry", str(root), "check", "--json")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    first = git(root, "rev-list", "--max-parents=0", "HEAD")
    blobs = cli_process(
        "--registry", str(root), "check", "--base", first, "--verify-blobs", "--json"
    )
    assert blobs.returncode == 0, blobs.stdout + blobs.stderr


def spawn(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_all(procs: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    failures = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()  # ours, by PID
            _, err = proc.communicate()
        if proc.returncode != 0:
            failures.append(err[-3000:])
    assert not failures, "\n---\n".join(failures)


def writers(tmp_path: Path, bare: Path, count: int) -> list[tuple[str, dict[str, str]]]:
    """Where each writer process writes: the first half share one managed clone of the
    remote (one data dir), the others each have their own managed clone."""
    url = bare.as_uri()
    shared = {"REGISTRY_TOOL_DIR": url, "XDG_DATA_HOME": str(tmp_path / "shared-data")}
    # The shared clone exists before the writers start, as on a machine where the
    # registry has been used before (the CLI's clone path makes it).
    made = cli_process("ls", env=shared)
    assert made.returncode == 0, made.stderr
    out = []
    for i in range(count):
        if i < count // 2:
            out.append((f"shared{i}", shared))
        else:
            own = {"REGISTRY_TOOL_DIR": url, "XDG_DATA_HOME": str(tmp_path / f"data-{i}")}
            out.append((f"own{i}", own))
    return out


def clones_of(tmp_path: Path) -> list[Path]:
    return sorted(p for p in tmp_path.glob("*data*/registry-tool/clones/*") if p.is_dir())


def assert_clone_consistent(clone: Path, bare: Path) -> None:
    """A writer's clone: clean working tree, nothing committed that the remote lacks."""
    assert git(clone, "status", "--porcelain") == "", f"{clone}: {git(clone, 'status')}"
    local = git(clone, "rev-parse", "main")
    merged = subprocess.run(
        ["git", "--git-dir", str(bare), "merge-base", "--is-ancestor", local, "main"],
        check=False,
    )
    assert merged.returncode == 0, f"{clone}: main {local[:12]} was never pushed"


# -- 1. concurrent writers ---------------------------------------------------------------

_LOGGER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import registry_tool as wandb

    tag, count, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    run = wandb.init(project="p", job_type="soak", id=f"run-{tag}")
    logged = []
    for i in range(count):
        data = Path(f"{tag}-{i}.bin")
        data.write_bytes(f"{tag} log {i}\\n".encode() + os.urandom(4096))
        art = wandb.Artifact("shared", "dataset")
        art.add_file(data, name="data.bin")
        run.log_artifact(art)
        logged.append({"version": art.version, "digest": art.digest})
    run.finish()
    out.write_text(json.dumps({"run": run.id, "logged": logged}))
    """
)


def test_concurrent_logs_from_shared_and_separate_clones(tmp_path):
    procs_n, logs_n = (8, 25) if SOAK else (6, 6)
    blobs = tmp_path / "blobs"
    bare, _ = remote_registry(tmp_path, str(blobs))
    started = time.monotonic()
    who = writers(tmp_path, bare, procs_n)
    procs = [
        spawn(_LOGGER, tag, str(logs_n), str(tmp_path / f"{tag}.json"), cwd=tmp_path / tag, env=env)
        for tag, env in who
    ]
    wait_all(procs, timeout=3000 if SOAK else 240)
    seconds = time.monotonic() - started

    store = clone_registry(bare, tmp_path / "verify")
    snap = store.head()
    total = procs_n * logs_n
    numbers = store.version_numbers(snap, "p", "shared")
    assert numbers == list(range(total)), (
        f"gaps or extras: {sorted(set(numbers) ^ set(range(total)))}"
    )
    records = {n: store.read_version(snap, "p", "shared", n) for n in numbers}
    assert len({r.digest for r in records.values() if r}) == total  # no content twice
    from registry_tool._blobs import LocalBlobStore

    local = LocalBlobStore(blobs)
    for record in records.values():
        assert record is not None
        for entry in record.entries:
            assert local.has(entry.digest.removeprefix("sha256:")), (record.version, entry)
    for tag, _ in who:
        result = json.loads((tmp_path / f"{tag}.json").read_text())
        run = store.read_run(snap, "p", result["run"])
        assert isinstance(run, RunRecord) and run.status == "finished", tag
        # The run file names exactly what the process was told it logged, and each
        # version it was told about holds its content and names its run.
        told = [int(item["version"].removeprefix("v")) for item in result["logged"]]
        assert [(o.project, o.name, o.version) for o in run.outputs] == [
            ("p", "shared", n) for n in told
        ], tag
        for n, item in zip(told, result["logged"], strict=True):
            record = records[n]
            assert record is not None and record.digest == item["digest"], (tag, n)
            assert record.run == result["run"], (tag, n)
    check_clean(store.root)
    managed = clones_of(tmp_path)
    assert len(managed) == procs_n - procs_n // 2 + 1
    for clone in managed:
        assert_clone_consistent(clone, bare)
    history = git(store.root, "log", "--format=%s", "main")
    report(
        "concurrent-logs",
        processes=procs_n,
        shared_clone_processes=procs_n // 2,
        separate_clones=procs_n - procs_n // 2,
        logs_per_process=logs_n,
        versions=len(numbers),
        commits=len(history.splitlines()),
        seconds=round(seconds, 1),
    )


_MOVER = textwrap.dedent(
    """
    import json, random, sys
    from pathlib import Path
    from registry_tool._engine.context import Context

    tag, count, versions, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    rng = random.Random(seed)
    ctx = Context.open()
    moves = []
    for i in range(count):
        version = rng.randrange(versions)
        reason = f"{tag} move {i}"
        commit = ctx.set_aliases("p", "model", version, add=["champion"], reason=reason)
        moves.append({"version": version, "reason": reason, "commit": commit})
    out.write_text(json.dumps(moves))
    """
)


def test_concurrent_alias_moves_keep_the_last_commit_and_every_move(tmp_path):
    procs_n, moves_n = (8, 25) if SOAK else (6, 6)
    versions_n = 12
    base_seed = seed()
    blobs = tmp_path / "blobs"
    bare, seed_store = remote_registry(tmp_path, str(blobs))
    from registry_tool import _verbs as ops

    for i in range(versions_n):
        data = tmp_path / f"model-{i}.bin"
        data.write_bytes(f"model {i}".encode())
        ops.log_path(data, "p/model", "model", registry=seed_store.root)
    ops.set_alias("p/model:v0", "champion", registry=seed_store.root)
    started = time.monotonic()
    who = writers(tmp_path, bare, procs_n)
    procs = [
        spawn(
            _MOVER,
            tag,
            str(moves_n),
            str(versions_n),
            str(base_seed + i),
            str(tmp_path / f"{tag}.json"),
            cwd=tmp_path / tag,
            env=env,
        )
        for i, (tag, env) in enumerate(who)
    ]
    wait_all(procs, timeout=3000 if SOAK else 240)
    seconds = time.monotonic() - started

    store = clone_registry(bare, tmp_path / "verify")
    alias_path = "projects/p/model/aliases/champion.yaml"
    shown = cli_process(
        "--registry", str(store.root), "history", "p/model", "--alias", "champion", "--json"
    )
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)
    # One event per commit that touched the alias file, in order, each starting from
    # where the previous one left the alias.
    touching = git(store.root, "log", "--reverse", "--format=%H", "--", alias_path).splitlines()
    assert [e["commit"] for e in events] == touching
    for before, after in itertools.pairwise(events):
        assert after["previous"] == before["version"], after
    # The final state is the last commit's.
    last = events[-1]
    final = store.read_alias(store.head(), "p", "model", "champion")
    assert final is not None and final.version == last["version"]
    at_last = git(store.root, "show", f"{last['commit']}:{alias_path}")
    assert f"version: {last['version']}" in at_last
    # Every move a process made is in the history, at the commit it was told; a move
    # that found the alias already there made none, and the commit it was told shows
    # the alias where it asked.
    by_reason = {e["reason"]: e for e in events[1:]}
    assert len(by_reason) == len(events) - 1, "a move recorded twice"
    moved = noop = 0
    issued = set()
    for tag, _ in who:
        for move in json.loads((tmp_path / f"{tag}.json").read_text()):
            issued.add(move["reason"])
            event = by_reason.get(move["reason"])
            if event is not None:
                moved += 1
                assert (event["commit"], event["version"]) == (move["commit"], move["version"])
            else:
                noop += 1
                if move["commit"] is not None:
                    there = git(store.root, "show", f"{move['commit']}:{alias_path}")
                    assert f"version: {move['version']}" in there, move
    assert set(by_reason) <= issued
    assert moved == len(events) - 1
    check_clean(store.root)
    for clone in clones_of(tmp_path):
        assert_clone_consistent(clone, bare)
    report(
        "concurrent-alias-moves",
        processes=procs_n,
        moves_per_process=moves_n,
        moves=procs_n * moves_n,
        alias_commits=moved,
        moves_already_in_place=noop,
        seed=base_seed,
        seconds=round(seconds, 1),
    )


# -- 2. crash safety ---------------------------------------------------------------------

_CRASHER = textwrap.dedent(
    """
    import sys
    import registry_tool as wandb

    registry, data, run_id = sys.argv[1], sys.argv[2], sys.argv[3]
    run = wandb.init(project="p", job_type="crash", id=run_id, registry=registry)
    print("ready", flush=True)
    art = wandb.Artifact("big", "dataset")
    art.add_file(data, name="data.bin")
    run.log_artifact(art)
    print(art.version, flush=True)
    """
)

MiB = 1024 * 1024


class Blobs:
    """What a reader of the blob store sees, and what a killed writer left aside."""

    def __init__(self, root: Path | None = None, client: Any = None, bucket: str = "") -> None:
        self.root, self.client, self.bucket = root, client, bucket
        self.verified: set[str] = set()

    def final(self) -> dict[str, str]:
        """Every object in the blob layout, by name -> digest (a stray name fails)."""
        if self.root is not None:
            names = [
                p.relative_to(self.root).as_posix()
                for p in (self.root / "sha256").rglob("*")
                if p.is_file()
            ]
            # Beside the blobs: their temp folder and who uses the store (``used-by/``).
            extra = {p.name for p in self.root.iterdir()} - {"sha256", "tmp", "used-by"}
            assert not extra, f"stray entries in the blob store: {extra}"
        else:
            names = []
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    assert key.startswith("blobs/"), f"stray key {key}"
                    if not key.startswith("blobs/used-by/"):  # who uses the store
                        names.append(key.removeprefix("blobs/"))
        out = {}
        for name in names:
            match = BLOB_NAME.match(name)
            assert match, f"stray file in the blob store's layout: {name}"
            out[name] = match.group(2)
        return out

    def has(self, digest: str) -> bool:
        name = f"sha256/{digest[:2]}/{digest}"
        if self.root is not None:
            return (self.root / name).is_file()
        try:
            self.client.head_object(Bucket=self.bucket, Key=f"blobs/{name}")
        except Exception:
            return False
        return True

    def read(self, name: str) -> bytes:
        if self.root is not None:
            return (self.root / name).read_bytes()
        return self.client.get_object(Bucket=self.bucket, Key=f"blobs/{name}")["Body"].read()

    def verify_new(self) -> set[str]:
        """Each blob not seen before holds the bytes its name says."""
        digests = set()
        for name, digest in self.final().items():
            digests.add(digest)
            if digest not in self.verified:
                assert hashlib.sha256(self.read(name)).hexdigest() == digest, name
                self.verified.add(digest)
        return digests

    def aside(self) -> int:
        """Temp files or unfinished uploads (invisible to readers)."""
        if self.root is not None:
            tmp = self.root / "tmp"
            return len(list(tmp.iterdir())) if tmp.is_dir() else 0
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket)
        return len(uploads.get("Uploads", []))


def _orphans(pgid: int) -> list[int]:
    """Processes still in the killed worker's session (git children finishing)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _start(clone: Path, data: Path, run_id: str, cwd: Path) -> tuple[Any, float]:
    proc = spawn(_CRASHER, str(clone), str(data), run_id, cwd=cwd)
    line = proc.stdout.readline()
    assert line == "ready\n", line + proc.stderr.read()
    return proc, time.monotonic()


TRIGGERS = [
    "anywhere",
    "storing",
    "stored",
    "branch-moved",
    "remote-moved",
    "branch-moved",
    "storing",
    "stored",
]


def _wait_for(proc: Any, seen: Any, timeout: float) -> bool:
    """Poll until ``seen()`` (True) or the process exits or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if seen():
            return True
        time.sleep(0.001)
    return False


def _ref(git_dir: Path, ref: str) -> str | None:
    """A ref's commit, read from the files as git leaves them (no process: fast)."""
    try:
        return (git_dir / ref).read_text().strip()
    except FileNotFoundError:
        pass
    try:
        packed = (git_dir / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    for line in packed.splitlines():
        if line.endswith(f" {ref}"):
            return line.split()[0]
    return None


def _finish(proc: Any) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return out.strip()


def _versions_with_blobs(store: RegistryStore, commit: str, present: set[str]) -> list[str]:
    """The digests of p/big's versions at ``commit``; each names only stored blobs."""
    snap = store.snapshot(commit)
    digests = []
    for n in store.version_numbers(snap, "p", "big"):
        record = store.read_version(snap, "p", "big", n)
        assert record is not None
        for entry in record.entries:
            assert entry.digest.removeprefix("sha256:") in present, f"v{n} names a missing blob"
        digests.append(record.entries[0].digest.removeprefix("sha256:"))
    return digests


def _dangling_commits(root: Path) -> set[str]:
    out = git(root, "fsck", "--unreachable", "--no-reflogs", "--no-progress", check=False)
    return {line.split()[2] for line in out.splitlines() if line.startswith("unreachable commit")}


def _crash_loop(
    tmp_path: Path, bare: Path, blobs: Blobs, *, kills: int, size: int, label: str
) -> dict[str, Any]:
    """Kill a log N times at random points; after each kill the registry must read
    consistent, and the same log run again must finish with one new version."""
    from registry_tool import _checks as checks
    from registry_tool import _verbs as ops
    from registry_tool._store.git import Git

    rng_seed = seed()
    rng = random.Random(rng_seed)
    clone = clone_registry(bare, tmp_path / "writer")
    colleague = clone_registry(bare, tmp_path / "colleague")
    remote = RegistryStore(bare, Git(bare), clone.config)
    body = random.Random(rng_seed).randbytes(size)
    work = tmp_path / "work"

    def data_for(i: int) -> Path:
        path = work / f"data-{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{label} iteration {i}\n".encode() + body)
        return path

    # Calibrate, from the moment the worker is ready: a whole log (store the bytes,
    # commit, push, finish the run), and one whose bytes are stored already.
    proc, t0 = _start(clone.root, data_for(-1), "calibrate", work)
    _finish(proc)
    whole = time.monotonic() - t0
    small = work / "small.bin"
    small.write_bytes(b"calibration: commit and push only")
    proc, t0 = _start(clone.root, small, "calibrate-commit", work)
    _finish(proc)
    commit_push = time.monotonic() - t0
    timings = [whole]  # complete logs, from ready to exit; reruns add theirs
    expected = 2  # the calibration versions
    phases: dict[str, int] = {}
    triggers: dict[str, int] = {}
    delays: list[float] = []
    killed = i = 0
    started = time.monotonic()
    while killed < kills and i < 2 * kills:
        i += 1
        data = data_for(i)
        digest = hashlib.sha256(data.read_bytes()).hexdigest()
        dangling = _dangling_commits(clone.root)
        before = git(clone.root, "rev-parse", "main")
        # When to kill: after a random delay, or a random moment after something a
        # writer does becomes visible from outside (its temp file or upload appears,
        # its blob is published, the local branch moves, the remote branch moves).
        whole = sorted(timings)[len(timings) // 2]
        storing = max(whole - commit_push, 0.05)
        trigger = TRIGGERS[killed % len(TRIGGERS)]
        aside = blobs.aside()
        remote_before = git(bare, "rev-parse", "main")
        seen: dict[str, Any] = {
            "anywhere": lambda: True,
            "storing": lambda n=aside: blobs.aside() > n,
            "stored": lambda d=digest: blobs.has(d),
            "branch-moved": lambda c=before: _ref(clone.root / ".git", "refs/heads/main") != c,
            "remote-moved": lambda c=remote_before: _ref(bare, "refs/heads/main") != c,
        }
        after = {
            "anywhere": whole * 0.95,
            "storing": storing,
            "stored": commit_push * 0.2,
            "branch-moved": 0.01,
            "remote-moved": commit_push * 0.5,
        }[trigger]
        proc, t0 = _start(clone.root, data, f"killed-{i}", work)
        if _wait_for(proc, seen[trigger], timeout=whole * 3 + 5):
            time.sleep(rng.uniform(0, after))
        delays.append(round(time.monotonic() - t0, 3))
        triggers[trigger] = triggers.get(trigger, 0) + 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        deadline = time.monotonic() + 60
        while _orphans(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # git children of the killed log finish on their own
        if proc.returncode == -signal.SIGKILL:
            killed += 1

        # What the kill interrupted, from what it left behind.
        present = blobs.verify_new()
        on_remote = _versions_with_blobs(remote, git(bare, "rev-parse", "main"), present)
        if proc.returncode != -signal.SIGKILL:
            phase = "finished"
        elif digest in on_remote:
            phase = "after-push"  # moving the local branch, or finishing the run
        elif _dangling_commits(clone.root) - dangling:
            phase = "push"
        elif digest in present:
            phase = "commit"
        elif blobs.aside():
            phase = "upload" if blobs.root is None else "hashing"
        else:
            phase = "hashing" if blobs.root is None else "start"
        phases[phase] = phases.get(phase, 0) + 1
        where = f"{label} kill {i} (seed {rng_seed}, {trigger} +{delays[-1]}s, phase {phase})"

        # A reader sees a consistent registry: the working tree, and both branches.
        status = git(clone.root, "status", "--porcelain")
        assert status == "", f"{where}: the working tree is not clean:\n{status}"
        tree = checks.run_checks(clone.root)
        assert tree.ok, (where, [str(p) for p in tree.problems])
        # (Only what this kill added: every blob's bytes were hashed once above.)
        diff = ops.check(base=before, head="main", verify_blobs=True, registry=clone.root)
        assert diff.ok, (where, [str(p) for p in diff.problems])
        local = _versions_with_blobs(clone, git(clone.root, "rev-parse", "main"), present)
        assert len(set(local)) == len(local) and len(set(on_remote)) == len(on_remote), where

        # Someone else pushes meanwhile, then the same log runs again.
        note = work / f"note-{i}.txt"
        note.write_text(f"colleague {i}")
        ops.log_path(note, "p/notes", "notes", registry=colleague.root)
        proc, t0 = _start(clone.root, data, f"rerun-{i}", work)
        version = _finish(proc)
        timings.append(time.monotonic() - t0)
        expected += 1
        present = blobs.verify_new()
        after = _versions_with_blobs(clone, git(clone.root, "rev-parse", "main"), present)
        assert len(after) == expected, f"{where}: {len(after)} versions, not {expected}"
        assert after.index(digest) == expected - 1 and after.count(digest) == 1, where
        assert version == f"v{expected - 1}", (where, version)
        assert git(clone.root, "rev-parse", "main") == git(bare, "rev-parse", "main"), where
        assert git(clone.root, "status", "--porcelain") == "", where
        data.unlink()
    seconds = time.monotonic() - started
    check_clean(clone.root)
    present = blobs.verify_new()
    assert len(_versions_with_blobs(clone, git(clone.root, "rev-parse", "main"), present)) == (
        expected
    )
    assert killed == kills, f"only {killed} of {i} logs were killed before they finished"
    return {
        "kills": killed,
        "logs_started": i,
        "phases": dict(sorted(phases.items())),
        "versions": expected,
        "data_mib": size // MiB,
        "log_seconds": round(timings[0], 3),
        "commit_push_finish_seconds": round(commit_push, 3),
        "triggers": dict(sorted(triggers.items())),
        "kill_after_seconds": [min(delays), max(delays)],
        "left_aside": blobs.aside(),
        "seed": rng_seed,
        "seconds": round(seconds, 1),
    }


def test_logs_killed_at_random_points_leave_a_consistent_registry(tmp_path):
    blob_root = tmp_path / "blobs"
    bare, _ = remote_registry(tmp_path, str(blob_root))
    kills = 50 if SOAK else 8
    figures = _crash_loop(
        tmp_path, bare, Blobs(root=blob_root), kills=kills, size=64 * MiB, label="local"
    )
    report("crash-local", store="local", **figures)


def test_logs_killed_at_random_points_with_s3_blobs(tmp_path, s3_env, bucket):
    bare, _ = remote_registry(
        tmp_path, f"s3://{bucket}/blobs", endpoint_url=s3_env.endpoint, region="us-east-1"
    )
    blobs = Blobs(client=s3_env.client(), bucket=bucket)
    kills = 12 if SOAK else 2
    figures = _crash_loop(tmp_path, bare, blobs, kills=kills, size=65 * MiB, label="s3")
    report("crash-s3", store="s3", **figures)
