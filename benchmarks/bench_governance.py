"""Benchmark the governance checks against an older commit of registry-tool, side by
side in one run: the same synthetic registry, the same interpreter, alternating.

Why a script of its own: the comparison is only fair when both sides read the same
bytes on the same machine at the same minute, so the old code is run from a checkout
of the old commit (``--old``, imported through ``PYTHONPATH``) and the new code from
this checkout (``--new``), one command after the other, in alternating order (old
first on even repetitions, new first on odd ones), so that drift in the machine's
speed falls on both sides alike.

The registry is ``bench_registry.py``'s (1,000 collections x 20 links, 5 stages, a
gated production that needs canary first, a hot collection whose canary and production
moved 200 times by pull request), built once with the new code and kept in the work
dir.  A clone of it then squash-merges ``bench_registry.py``'s one-alias pull request
(staging of the first collection) onto main, as GitHub does ("... (#N)"), so
``main~1..main`` is a promotion that reached main.  Timed, each a fresh process with
its own warm document cache (one untimed run per side and command comes first, which
also checks the answer):

1. ``check`` of the whole registry;
2. ``check --base main~1 --head main`` (the merged one-alias promotion), judged as its
   pull request's job does (``GITHUB_EVENT_NAME=pull_request``: without it a head at
   main's tip counts as a direct push);
3. ``history <hot> --stage production`` (200 moves) and ``history <hot>``, all stages;
4. ``check --ci`` on the push event of that merge (``GITHUB_EVENT_NAME=push``, an event
   file with ``before`` and ``after``, no token: git's evidence of the pull request);
   the old code has no ``--ci``, so its row runs ``check --base before --head after``
   as its pull-request job did, like row 2;
5. ``python -c "import registry_tool.cli.main"``: the start-up both sides pay.

Wall and CPU seconds (the process and its children) are reported per side, medians
of ``--repeat`` runs for the two rows that take a minute and of ``--fast-repeat`` runs
for the sub-second ones; ``--only`` times a subset of rows.  While others edit this
checkout, an export of its HEAD (``git archive``, with the commit in a ``COMMIT`` file)
passed as ``--new`` keeps the new side fixed.  Run from the repository root, with a
checkout of the old commit at ``--old``::

    git worktree add /tmp/bench-old a28dd10
    .venv/bin/python benchmarks/bench_governance.py --old /tmp/bench-old --repeat 5 --keep
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_registry import Bench
from bench_registry import parse_args as registry_args
from bench_registry_build import REGISTRY, git_env
from common import (
    REPO,
    add_run_args,
    arg_parser,
    check_args,
    clean_work,
    first_line,
    isolated_env,
    report,
    run,
    say,
    timed,
)
from report import align, machine_facts, reproduce_command

DEFAULT_WORK = REPO / "benchmarks" / ".work-governance"
SIDES = ("old", "new")
PR_NUMBER = 901  # the number the merged one-alias pull request is given
# Rows that take a minute or more on the new side get ``--repeat`` runs; the sub-second
# ones ``--fast-repeat``, since on a shared 2-core machine their spread is wide.
SLOW = ("check_full", "check_ci")
# What a GitHub Actions job or a developer's shell might set that changes what runs.
UNSET = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPATH",
)


@dataclass
class Command:
    """One row: what each side runs (``argv[side]``) and with what more in its
    environment (``extra[side]``)."""

    key: str
    label: str
    argv: dict[str, list[str]]
    extra: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SIDES})
    out: dict[str, str] = field(default_factory=dict)


class Governance:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.python = REPO / ".venv" / "bin" / "python"
        self.trees = {"old": args.old.resolve(), "new": args.new.resolve()}
        self.merged = self.work / "merged"
        self.homes = self.work / "homes"
        self.event = self.work / "push-event.json"
        reg = ["--collections", str(args.collections), "--links", str(args.links)]
        reg += ["--moves", str(args.moves), "--skip-gto", "--keep", "--work", str(self.work)]
        self.registry = Bench(registry_args(reg))
        self.cli = self.registry.cli
        self.commands: dict[str, Command] = {}
        self.loadavg: list[float] = []
        self.facts: dict[str, Any] = {}

    # -- setup -------------------------------------------------------------------------

    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = git_env(isolated_env(self.homes / "git", unset=UNSET), int(time.time()))
        return run(["git", "-c", "gc.auto=0", *args], env=env, cwd=cwd or self.merged).strip()

    def build(self) -> None:
        """The registry (``bench_registry.py``'s, reused when kept), then a clone with
        the one-alias pull request squash-merged onto main (remade every run: cheap
        next to the build, and never stale)."""
        self.registry.build_registry()
        branch = self.registry.setup["registry"]["staging_branch"]
        if self.merged.exists():
            shutil.rmtree(self.merged)
        say(f"cloning the registry to {self.merged} and squash-merging {branch}")
        self.git("clone", "--quiet", str(self.registry.registry), str(self.merged), cwd=self.work)
        self.git("branch", "--quiet", "pr", f"origin/{branch}")
        self.git("remote", "remove", "origin")  # nothing may fetch or push
        subject = self.git("log", "-1", "--format=%s", "pr")
        self.git("merge", "--quiet", "--squash", "pr")
        self.git("commit", "--quiet", "-m", f"{subject} (#{PR_NUMBER})")
        before, after = self.git("rev-parse", "main~1"), self.git("rev-parse", "main")
        changed = self.git("diff", "--name-only", before, after).splitlines()
        if len(changed) != 1 or not changed[0].endswith("/aliases/staging.yaml"):
            raise SystemExit(f"bench_governance: the merged change is not one alias: {changed}")
        payload = {"ref": "refs/heads/main", "before": before, "after": after, "forced": False}
        self.event.write_text(json.dumps(payload))
        self.facts.update(before=before, after=after, changed=changed[0], branch=branch)

    def define(self) -> None:
        lay = self.registry.layout
        hot = f"model-registry/{REGISTRY}/{lay.hot}"
        before, after = self.facts["before"], self.facts["after"]
        cli = [str(self.python), "-m", "registry_tool.cli.main", "--registry", str(self.merged)]

        def both(*args: str) -> dict[str, list[str]]:
            return {side: [*cli, *args] for side in SIDES}

        ci = {
            "old": [*cli, "check", "--base", before, "--head", after, "--json"],
            "new": [*cli, "check", "--ci", "--json"],
        }
        # A head that is main's tip counts as a direct push unless the GitHub event says
        # otherwise (on both sides): the change is judged as its pull request's job does.
        pr = {"GITHUB_EVENT_NAME": "pull_request"}
        push = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(self.event)}
        rows = [
            Command("check_full", "check (whole registry)", both("check", "--json")),
            Command(
                "check_change",
                "check --base main~1 --head main (one alias)",
                both("check", "--base", "main~1", "--head", "main", "--json"),
                extra={"old": pr, "new": pr},
            ),
            Command(
                "history_stage",
                f"history <hot> --stage production ({lay.moves} moves)",
                both("history", hot, "--stage", "production", "--json"),
            ),
            Command(
                "history_all",
                f"history <hot>, all stages ({2 * lay.moves + 4} events)",
                both("history", hot, "--json"),
            ),
            Command(
                "check_ci",
                "check --ci, push event (old: check --base before --head after)",
                ci,
                extra={"old": pr, "new": push},
            ),
            Command(
                "import",
                "python -c 'import registry_tool.cli.main'",
                {s: [str(self.python), "-c", "import registry_tool.cli.main"] for s in SIDES},
            ),
        ]
        only = set(self.args.only.split(",")) if self.args.only else None
        self.commands = {c.key: c for c in rows if only is None or c.key in only}

    def env(self, side: str, command: Command) -> dict[str, str]:
        """Each side and command its own HOME (so its own document cache, warmed by the
        untimed first run), the side's code first on the path, bytecode written."""
        home = self.homes / f"{side}-{command.key}"
        extra = {"PYTHONPATH": str(self.trees[side]), **command.extra.get(side, {})}
        return isolated_env(home, unset=UNSET, extra=extra)

    # -- measuring ---------------------------------------------------------------------

    def run_all(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        if self.homes.exists():
            shutil.rmtree(self.homes)
        self.build()
        self.define()
        say("untimed first run of every command on each side (bytecode, caches), checking")
        for c in self.commands.values():
            for side in SIDES:
                c.out[side] = run(c.argv[side], env=self.env(side, c), cwd=self.merged)
        self.verify()
        self.loadavg.append(os.getloadavg()[0])
        a = self.args
        for rep in range(max(a.repeat, a.fast_repeat)):
            order = SIDES if rep % 2 == 0 else SIDES[::-1]
            for c in self.commands.values():
                if rep >= (a.repeat if c.key in SLOW else a.fast_repeat):
                    continue
                for side in order:
                    t = timed(c.argv[side], self.env(side, c), self.merged)
                    c.seconds[side].append(t.wall)
                    c.cpu[side].append(t.cpu)
                say(
                    f"#{rep + 1} {c.key}: old {c.seconds['old'][-1]:.3f} s, new "
                    f"{c.seconds['new'][-1]:.3f} s"
                )
        self.loadavg.append(os.getloadavg()[0])

    def verify(self) -> None:
        """Both sides must give the right answer, or the timings compare nothing."""
        lay, cs = self.registry.layout, self.commands
        problems = []
        for key in ("check_full", "check_change", "check_ci"):
            for side in SIDES if key in cs else ():
                found = json.loads(cs[key].out[side])
                if not found["ok"]:
                    problems.append(f"{key} ({side}): {found['problems'][:3]}")
                self.facts.setdefault("files_checked", {})[f"{key} {side}"] = found["files"]
        for key, count in (("history_stage", lay.moves), ("history_all", 2 * lay.moves + 4)):
            if key not in cs:
                continue
            for side in SIDES:
                events = json.loads(cs[key].out[side])
                if len(events) != count:
                    problems.append(f"{key} ({side}): {len(events)} events, expected {count}")
            old, new = (json.loads(cs[key].out[s]) for s in SIDES)
            if [e["version"] for e in old] != [e["version"] for e in new]:
                problems.append(f"{key}: the two sides tell different moves")
        if problems:
            raise SystemExit("bench_governance: wrong results:\n  " + "\n  ".join(problems))
        say("results check out: every check ok on both sides, the same history on both")

    def cleanup(self) -> None:
        if not self.args.keep:
            self.event.unlink(missing_ok=True)
        subs = (self.merged, self.homes, self.registry.registry)
        clean_work(
            self.work,
            subs,
            keep=self.args.keep,
            kept="the registry and its merged clone",
            deleted=f"deleted the work dir {self.work}",
        )


# -- the report ----------------------------------------------------------------------


def tree_state(tree: Path) -> str:
    """A checkout's HEAD and how many of its files under registry_tool/ differ from it;
    for an export (``git archive``, which pins the code while others edit the
    checkout), the commit its ``COMMIT`` file names."""
    if (tree / "COMMIT").is_file() and not (tree / ".git").exists():
        return f"an export of {(tree / 'COMMIT').read_text().strip()[:12]}"
    head = first_line(["git", "-C", str(tree), "rev-parse", "--short=12", "HEAD"])
    status = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--", "registry_tool"],
        capture_output=True,
        text=True,
        check=False,
    )
    changed = len(status.stdout.splitlines())
    return head + (f" + {changed} uncommitted changes" if changed else " (clean)")


def results(g: Governance) -> dict[str, Any]:
    rows = []
    for c in g.commands.values():
        old, new = (statistics.median(c.seconds[s]) for s in SIDES)
        old_cpu, new_cpu = (statistics.median(c.cpu[s]) for s in SIDES)
        rows.append(
            {
                "key": c.key,
                "operation": c.label,
                "old_s": old,
                "new_s": new,
                "ratio": new / old,
                "old_cpu_s": old_cpu,
                "new_cpu_s": new_cpu,
                "cpu_ratio": new_cpu / old_cpu,
                "samples": {s: c.seconds[s] for s in SIDES},
                "cpu_samples": {s: c.cpu[s] for s in SIDES},
                "argv": {s: c.argv[s] for s in SIDES},
            }
        )
    a = g.args
    reg = g.registry.setup["registry"]
    return {
        "benchmark": "bench_governance",
        "parameters": {
            "collections": a.collections,
            "links": a.links,
            "moves": a.moves,
            "repeat": a.repeat,
            "fast_repeat": a.fast_repeat,
        },
        "rows": rows,
        "code": {s: f"{g.trees[s]} at {tree_state(g.trees[s])}" for s in SIDES},
        "registry": {k: reg[k] for k in ("files_written", "commits_on_main", "reused")},
        "facts": g.facts,
        "load_average": g.loadavg,
        "machine": machine_facts(g.python, {}),
        "command": reproduce_command(
            "bench_governance.py",
            a,
            ("old", "new", "collections", "links", "moves", "repeat", "fast_repeat")
            + (("only",) if a.only else ()),
            ("keep", "json"),
        ),
    }


def render(r: dict[str, Any]) -> str:
    p = r["parameters"]
    table = [
        ["operation", "runs", "old s", "new s", "new/old", "old CPU s", "new CPU s", "new/old"]
    ]
    for row in r["rows"]:
        ratio = f"{row['ratio']:.2f}" + (" *" if row["ratio"] > 1.10 else "")
        runs = str(len(row["samples"]["new"]))
        times = [f"{row[k]:.3f}" for k in ("old_s", "new_s")]
        cpu = [f"{row[k]:.3f}" for k in ("old_cpu_s", "new_cpu_s")]
        table.append([row["operation"], runs, *times, ratio, *cpu, f"{row['cpu_ratio']:.2f}"])
    lines = [
        f"governance checks before and after (medians, alternating): "
        f"{p['collections']} collections x {p['links']} links, {p['moves']} moves",
        "",
        *align(table),
        "",
        "* more than 10% slower (wall); CPU: user + system of the process and its children",
        *(f"{s}: {r['code'][s]}" for s in SIDES),
        f"files checked: {r['facts'].get('files_checked')}",
        "load average (1 min) before / after: " + " / ".join(f"{x:.2f}" for x in r["load_average"]),
        "machine: " + "; ".join(f"{k} {v}" for k, v in r["machine"].items()),
        f"reproduce: {r['command']}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = arg_parser(
        "Governance checks before and after: the same registry, old code and new, alternating.",
        DEFAULT_WORK,
    )
    p.add_argument("--old", type=Path, required=True, help="a checkout of the old commit")
    p.add_argument("--new", type=Path, default=REPO, help="the new code (default this checkout)")
    p.add_argument("--collections", type=int, default=1000, help="registry collections")
    p.add_argument("--links", type=int, default=20, help="links (versions) per collection")
    p.add_argument("--moves", type=int, default=200, help="moves of the hot collection's stage")
    p.add_argument(
        "--fast-repeat", type=int, default=15, help="timed runs per side of sub-second rows"
    )
    p.add_argument("--only", help="time only these rows (comma-separated keys)")
    add_run_args(
        p, repeat=5, repeat_help="timed runs per side of the slow rows", keep="keep the repos"
    )
    args = p.parse_args(argv)
    for tree in (args.old, args.new):
        if not (tree / "registry_tool" / "__init__.py").is_file():
            p.error(f"{tree}: no registry_tool package there")
    minimum = {"collections": 2, "links": 3, "moves": 2, "repeat": 1, "fast_repeat": 1}
    return check_args(p, args, minimum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report(Governance(args), args, results, render)


if __name__ == "__main__":
    raise SystemExit(main())
