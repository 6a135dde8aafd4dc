"""Benchmark a collection with many versions against an older commit, side by side:
logging one more version (which first looks for a live version with the same
bytes) and listing the collection (``ls PROJECT/NAME``), at each ``--sizes`` count.

Why a script of its own: the question is how these costs grow with the number of
versions, so each size gets its own registry, built once (every version file made with
``VersionRecord.to_doc()`` and ``registry_tool._yamlio.dumps``, one commit), and each
side (``--old``, a checkout of the older commit imported through ``PYTHONPATH``, and
``--new``, this checkout by default) gets its own clone of it and its own cache dir.
Wall and CPU seconds (user + system of the process and its children) are medians, and
the least CPU of the runs is shown too: on a loaded machine the CPU columns are the
steadier ones, and the least the steadiest (other jobs only ever add to it). Each side first runs ``ls``
once untimed (a warm document cache, what a user who works
in the collection has). Then, alternating sides (old first on even repetitions), each
timed run is a fresh process: ``log`` of a new one-file artifact into the collection
(each run's bytes differ, so each makes a version: the collection grows by one a run,
alike on both sides) and ``ls bench/coll --json``.

    git worktree add /tmp/bench-old <old commit>
    .venv/bin/python benchmarks/bench_collection.py --old /tmp/bench-old --sizes 1000,5000
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from bench_registry_build import git_env
from common import (
    REPO,
    add_run_args,
    arg_parser,
    check_args,
    check_side,
    isolated_env,
    run,
    say,
    timed,
)
from report import align, machine_facts, reproduce_command

from registry_tool import _yamlio as yamlio
from registry_tool._model.layout import alias_file, collection_file, version_file
from registry_tool._model.manifest import Entry, artifact_digest, file_digest
from registry_tool._model.records import AliasRecord, CollectionRecord, VersionRecord

DEFAULT_WORK = REPO / "benchmarks" / ".work-collection"
SIDES = ("old", "new")
PROJECT, NAME = "bench", "coll"
STAMP = "2026-01-01T00:00:00+00:00"
UNSET = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "GITHUB_ACTIONS", "GITHUB_TOKEN")


def parse_args() -> Any:
    p = arg_parser("A collection of many versions: log one more, and ls it.", DEFAULT_WORK)
    p.add_argument("--old", type=Path, required=True, help="a checkout of the old commit")
    p.add_argument("--new", type=Path, default=REPO, help="the new code (default this checkout)")
    p.add_argument(
        "--sizes", default="1000,5000", help="versions in the collection, comma-separated"
    )
    add_run_args(
        p, repeat=5, repeat_help="timed runs per side, size and command", keep="keep the repos"
    )
    args = check_args(p, p.parse_args(), {"repeat": 1})
    args.sizes = [int(s) for s in args.sizes.split(",")]
    return args


def build(cli: list[str], root: Path, size: int, env: dict[str, str]) -> None:
    """A registry whose collection bench/coll holds ``size`` versions, in one commit."""
    say(f"building a collection of {size} versions at {root}")
    run([*cli, "init", str(root), "--name", "bench"], env=env, cwd=root.parent)
    files: dict[str, bytes] = {}
    collection = CollectionRecord(PROJECT, NAME, "dataset", STAMP, None)
    files[collection_file(PROJECT, NAME)] = yamlio.dumps(collection.to_doc())
    for n in range(size):
        blob = f"{n:064x}"
        entries = (Entry("data.txt", file_digest(blob), 10),)
        record = VersionRecord(
            project=PROJECT,
            name=NAME,
            version=n,
            type="dataset",
            digest=artifact_digest(list(entries)),
            created_at=STAMP,
            entries=entries,
            run=None,
            description=None,
            metadata={"n": n},
        )
        files[version_file(PROJECT, NAME, n)] = yamlio.dumps(record.to_doc())
    latest = AliasRecord("latest", size - 1, STAMP)
    files[alias_file(PROJECT, NAME, "latest")] = yamlio.dumps(latest.to_doc())
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    env = git_env(env, int(time.time()))
    run(["git", "-C", str(root), "add", "-A"], env=env)
    run(["git", "-C", str(root), "commit", "-q", "-m", f"{size} versions"], env=env)


def main() -> int:
    args = parse_args()
    python = REPO / ".venv" / "bin" / "python"
    cli = [str(python), "-m", "registry_tool.cli.main"]
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    rows: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    loads = [os.getloadavg()[0]]
    for size in args.sizes:
        base = args.work / f"built-{size}"
        # Made by the new side's own ``init`` (the checkout may be mid-edit).
        home = args.work / "home-build"
        build(
            cli,
            base,
            size,
            isolated_env(home, unset=UNSET, extra={"PYTHONPATH": str(trees["new"])}),
        )
        envs, regs = {}, {}
        for side in SIDES:
            regs[side] = args.work / f"{side}-{size}"
            run(["git", "clone", "-q", str(base), str(regs[side])])
            run(["git", "-C", str(regs[side]), "remote", "remove", "origin"])  # a local registry
            home = args.work / f"home-{side}-{size}"
            envs[side] = isolated_env(home, unset=UNSET, extra={"PYTHONPATH": str(trees[side])})
            check_side(python, envs[side], args.work, trees[side])
            run([str(python), "-m", "registry_tool.cli.main", "--registry", str(regs[side]),
                 "ls", f"{PROJECT}/{NAME}", "--json"], env=envs[side], cwd=args.work)  # fmt: skip
        log_key, ls_key = f"log at {size}", f"ls at {size}"
        for key in (log_key, ls_key):
            rows[key] = {s: [] for s in SIDES}
            cpu[key] = {s: [] for s in SIDES}
        for i in range(args.repeat):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                data = regs[side].parent / f"{side}-{size}-input-{i}.txt"
                data.write_text(f"run {i} of {side}\n")
                base_cmd = [
                    str(python),
                    "-m",
                    "registry_tool.cli.main",
                    "--registry",
                    str(regs[side]),
                ]
                log = timed([*base_cmd, "log", str(data), "--name", f"{PROJECT}/{NAME}",
                             "--type", "dataset"], env=envs[side], cwd=args.work)  # fmt: skip
                rows[log_key][side].append(log.wall)
                cpu[log_key][side].append(log.cpu)
                listed = timed(
                    [*base_cmd, "ls", f"{PROJECT}/{NAME}", "--json"], env=envs[side], cwd=args.work
                )
                rows[ls_key][side].append(listed.wall)
                cpu[ls_key][side].append(listed.cpu)
                assert len(json.loads(listed.stdout)) == size + i + 1, "ls missed a version"
    loads.append(os.getloadavg()[0])
    results = {
        "rows": {
            key: {s: statistics.median(v) for s, v in sides.items()} for key, sides in rows.items()
        },
        "cpu": {
            key: {s: statistics.median(v) for s, v in sides.items()} for key, sides in cpu.items()
        },
        # The least CPU of the runs: what the work itself costs, with the least of the
        # slowdown other jobs on the same cores add (shared caches, frequency).
        "cpu_min": {key: {s: min(v) for s, v in sides.items()} for key, sides in cpu.items()},
        "repeat": args.repeat,
        "load": loads,
        "machine": machine_facts(python, {"git": "git --version"}),
        "command": reproduce_command(
            "bench_collection.py",
            args,
            ["old", "sizes", "repeat"],
            ["keep"],
            values={"sizes": ",".join(map(str, args.sizes))},
        ),
        "when": time.strftime("%Y-%m-%d"),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        table = [["operation", "old", "new", "new/old", "old CPU", "new CPU", "new/old CPU",
                  "old min CPU", "new min CPU", "new/old min CPU"]]  # fmt: skip
        for key, med in results["rows"].items():
            c, m = results["cpu"][key], results["cpu_min"][key]
            table.append(
                [
                    key,
                    f"{med['old']:.3f} s",
                    f"{med['new']:.3f} s",
                    f"{med['new'] / med['old']:.3f}",
                    f"{c['old']:.3f} s",
                    f"{c['new']:.3f} s",
                    f"{c['new'] / c['old']:.3f}",
                    f"{m['old']:.3f} s",
                    f"{m['new']:.3f} s",
                    f"{m['new'] / m['old']:.3f}",
                ]
            )
        print("\n".join(align(table)))
        print(f"load average {loads[0]:.2f} / {loads[-1]:.2f}; {results['command']}")
    if not args.keep:
        shutil.rmtree(args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
