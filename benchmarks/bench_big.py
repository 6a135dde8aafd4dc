"""Benchmark a big artifact against an older commit, side by side: the first log of a
folder of ``--files`` small files (default 100,000), the log again after ONE file of it
changed, and ``show p/big:v1`` of the version that made, with an empty cache.

Why a script of its own: what a one-file change costs is set by the manifest, not by
the bytes (a 100,000-entry version file is written, validated and read back whole),
so the question is how those costs compare with the first log, old code against new.

Each side (``--old``, a checkout of the older commit imported through ``PYTHONPATH``,
and ``--new``, this checkout by default) gets its own registry (made by its own
``init``), its own HOME and cache dir, and runs every command as a fresh process
(``python -m registry_tool.cli.main``), timed with its wall time, its CPU and its peak
RSS (``wait4`` on the child). Both sides log the same folder: files of a few bytes,
1,000 to a subfolder, written once and kept in the work dir between runs. The steps
alternate sides (old first on even repetitions), so the machine's load falls on both
alike:

1. ``log DATA --name p/big --type dataset`` into the empty registry (v0);
2. one file rewritten (new bytes, each repetition its own), then the same ``log`` (v1);
3. ``show p/big:v1`` with ``XDG_CACHE_HOME`` a fresh empty folder (no parsed document,
   no version index: the version file is read from git and parsed).

The shown digest of v1 must be the same on both sides (the same files). Ratios within
one run are what count on a shared machine: new/old for each step, and re-log/first.

    git worktree add /tmp/bench-old-big <old commit>
    .venv/bin/python benchmarks/bench_big.py --old /tmp/bench-old-big --files 20000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    REPO,
    TreeTiming,
    add_run_args,
    arg_parser,
    check_args,
    check_side,
    clean_work,
    isolated_env,
    report,
    run,
    say,
    timed_tree,
)
from report import align, footer, load_average, machine_facts, reproduce_command, statistic

DEFAULT_WORK = REPO / "benchmarks" / ".work-big"
SIDES = ("old", "new")
STEPS = ("first log", "re-log, 1 file changed", "show v1, empty cache")
ARTIFACT = "p/big"
PER_FOLDER = 1000
UNSET = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "GITHUB_ACTIONS", "GITHUB_TOKEN")
DIGEST_LINE = re.compile(r"^\s*digest: ([0-9a-f]{64})$", re.M)


def make_files(folder: Path, count: int) -> None:
    """``count`` files of a few bytes, 1,000 to a subfolder (kept when already there)."""
    stamp = folder / ".count"
    if stamp.is_file() and stamp.read_text() == str(count):
        say(f"reusing {folder} ({count:,} files)")
        return
    if folder.exists():
        shutil.rmtree(folder)
    say(f"writing {count:,} files to {folder}")
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    for i in range(count):
        sub = tmp / f"d{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            sub.mkdir(parents=True)
        (sub / f"f{i:07d}.txt").write_text(f"file {i}\n")
    os.replace(tmp, folder)
    stamp.write_text(str(count))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.cli = REPO / ".venv" / "bin" / "registry-tool"
        self.python = REPO / ".venv" / "bin" / "python"
        self.trees = {"old": args.old.resolve(), "new": args.new.resolve()}
        self.data = self.work / "data"
        self.runs = self.work / "runs"
        self.samples: dict[str, dict[str, list[TreeTiming]]] = {
            step: {side: [] for side in SIDES} for step in STEPS
        }
        self.digests: dict[str, set[str]] = {side: set() for side in SIDES}
        self.loads = [os.getloadavg()[0]]

    def command(self, registry: Path, *args: str) -> list[str]:
        return [
            str(self.python),
            "-m",
            "registry_tool.cli.main",
            "--registry",
            str(registry),
            *args,
        ]

    def run_all(self) -> None:
        make_files(self.data, self.args.files)
        if self.runs.exists():
            shutil.rmtree(self.runs)
        for rep in range(self.args.repeat):
            self.repetition(rep)
        self.loads.append(os.getloadavg()[0])

    def repetition(self, rep: int) -> None:
        order = SIDES if rep % 2 == 0 else SIDES[::-1]
        envs, regs = {}, {}
        for side in SIDES:
            home = self.runs / f"{rep}-{side}" / "home"
            envs[side] = isolated_env(
                home, unset=UNSET, extra={"PYTHONPATH": str(self.trees[side])}
            )
            regs[side] = self.runs / f"{rep}-{side}" / "registry"
            run(
                [
                    str(self.python),
                    "-m",
                    "registry_tool.cli.main",
                    "init",
                    str(regs[side]),
                    "--name",
                    "bench",
                ],
                env=envs[side],
                cwd=self.work,
            )
            check_side(self.python, envs[side], self.work, self.trees[side])
        log = ("log", str(self.data), "--name", ARTIFACT, "--type", "dataset")
        for side in order:
            say(f"repetition {rep + 1}: first log of {self.args.files:,} files, {side}")
            self.time(STEPS[0], side, self.command(regs[side], *log), envs[side], rep)
        changed = self.data / "d0000" / "f0000000.txt"
        changed.write_text(f"changed in repetition {rep} at {time.time()}\n")
        for side in order:
            say(f"repetition {rep + 1}: re-log after one file changed, {side}")
            self.time(STEPS[1], side, self.command(regs[side], *log), envs[side], rep)
        for side in order:
            cold = self.runs / f"{rep}-{side}" / "cold-cache"
            env = {**envs[side], "XDG_CACHE_HOME": str(cold)}
            cold.mkdir()
            say(f"repetition {rep + 1}: show {ARTIFACT}:v1 with an empty cache, {side}")
            shown = self.time(
                STEPS[2], side, self.command(regs[side], "show", f"{ARTIFACT}:v1"), env, rep
            )
            found = DIGEST_LINE.search(shown.stdout)
            self.digests[side].add(found.group(1) if found else "(no digest shown)")

    def time(
        self, step: str, side: str, cmd: list[str], env: dict[str, str], rep: int
    ) -> TreeTiming:
        logs = self.runs / f"{rep}-{side}" / "logs" / step.split(",")[0].replace(" ", "-")
        timing = timed_tree(cmd, env, self.work, logs)
        self.samples[step][side].append(timing)
        return timing

    def cleanup(self) -> None:
        clean_work(
            self.work,
            [self.runs, self.data],
            keep=self.args.keep,
            kept="the data and registries",
            deleted="deleted the data and registries",
        )


def results(bench: Bench) -> dict[str, Any]:
    a = bench.args
    steps: dict[str, Any] = {}
    for step, sides in bench.samples.items():
        row: dict[str, Any] = {}
        for side, timings in sides.items():
            row[side] = {
                "wall": statistics.median(t.wall for t in timings),
                "cpu": statistics.median(t.cpu for t in timings),
                "max_rss_mib": max(t.max_rss_mib for t in timings),
                "samples": [round(t.wall, 3) for t in timings],
            }
        row["new/old"] = row["new"]["wall"] / row["old"]["wall"]
        row["cpu new/old"] = row["new"]["cpu"] / row["old"]["cpu"]
        steps[step] = row
    first, relog = steps[STEPS[0]], steps[STEPS[1]]
    return {
        "parameters": {
            "files": a.files,
            "repeat": a.repeat,
            "statistic": statistic(a.repeat),
            "old": str(bench.trees["old"]),
            "new": str(bench.trees["new"]),
        },
        "steps": steps,
        "re-log/first": {side: relog[side]["wall"] / first[side]["wall"] for side in SIDES},
        "same digest": bench.digests["old"] == bench.digests["new"]
        and len(bench.digests["new"]) == 1,
        "digests": {side: sorted(d) for side, d in bench.digests.items()},
        "machine": {
            **machine_facts(bench.python, {}),
            "load average (1 min) before/after": load_average(bench.loads),
        },
        "command": reproduce_command(
            "bench_big.py",
            a,
            ["old", "files", "repeat"],
            ["keep"],
            values={"old": str(a.old)},
        ),
        "when": time.strftime("%Y-%m-%d"),
    }


def render(r: dict[str, Any]) -> str:
    p = r["parameters"]
    table = [["step", "old s", "new s", "new/old", "CPU new/old", "old MiB", "new MiB"]]
    for step, row in r["steps"].items():
        table.append(
            [
                step,
                f"{row['old']['wall']:.2f}",
                f"{row['new']['wall']:.2f}",
                f"{row['new/old']:.3f}",
                f"{row['cpu new/old']:.3f}",
                f"{row['old']['max_rss_mib']:.0f}",
                f"{row['new']['max_rss_mib']:.0f}",
            ]
        )
    ratio = r["re-log/first"]
    repeat = p["repeat"]
    how = p["statistic"] + (f" of {repeat}" if repeat > 1 else "")
    return "\n".join(
        [
            f"A big artifact: {p['files']:,} files, old against new ({how}; MiB: peak RSS)",
            "",
            *align(table),
            "",
            f"re-log / first log: old {ratio['old']:.3f}, new {ratio['new']:.3f}",
            f"v1 shows the same digest on both sides: {'yes' if r['same digest'] else 'NO'}"
            f" ({', '.join(d[:12] for d in r['digests']['new'])})",
            f"old: {p['old']}; new: {p['new']}",
            *footer(r),
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = arg_parser(
        "A big artifact: first log, re-log after one file changed, show cold; "
        "old code against new.",
        DEFAULT_WORK,
    )
    p.add_argument("--old", type=Path, required=True, help="a checkout of the old commit")
    p.add_argument("--new", type=Path, default=REPO, help="the new code (default this checkout)")
    p.add_argument("--files", type=int, default=100_000, help="files in the artifact")
    add_run_args(
        p,
        repeat=1,
        repeat_help="repetitions, each with fresh registries and caches (median reported)",
        keep="keep the data and registries",
    )
    args = check_args(p, p.parse_args(argv), {"files": 1, "repeat": 1})
    for side in ("old", "new"):
        if not (getattr(args, side) / "registry_tool" / "__init__.py").is_file():
            p.error(f"--{side} {getattr(args, side)} is not a checkout of registry-tool")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    return report(bench, args, results, render, note=f"; python {sys.executable}")


if __name__ == "__main__":
    raise SystemExit(main())
