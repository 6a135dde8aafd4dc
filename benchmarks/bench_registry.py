"""Benchmark model registries at scale: PR check, full check, stage history, resolution,
listing - and the same reads in GTO (git tags) side by side.

What is built (setup, not timed; its duration is printed):

* a registry made with ``registry-tool init``, holding ``--collections`` source
  artifacts (``projects/bench/model-NNNN``) of ``--links`` versions each (small
  manifests of one or two entries with made-up sha256 digests, metadata ``f1`` and
  ``epoch``, a ``latest`` alias);
* one model registry ``registries/models`` (stages dev, qa, staging, canary,
  production; staging, canary and production protected; production gated by
  ``f1 >= 0.5`` and by having held canary first) with one collection per source
  artifact, each link ``vK`` pointing at source version ``vK`` by digest, and every
  stage (plus ``latest``) assigned in every collection; the registry obeys its own
  policy, which a full ``check`` judges from the stage history: canary is first
  assigned to the link production holds and then moves ahead to a newer one, one
  commit for all collections, so every production holder held canary before;
* one "hot" collection whose ``canary`` and ``production`` moved ``--moves`` times
  each, in that order (canary first, then production to the same link), one commit
  per move: 200 moves of production are 200 commits touching its alias file.  Every
  move arrives by pull request: one in four as a real merge commit ("Merge pull
  request #N from bench/promote/...", the branch deleted afterwards, as GitHub does),
  the others squashed ("promote ... (#N)");
* two pull-request branches made by ``registry-tool promote --pr``: one moving
  ``staging`` of an ordinary collection, one moving ``production`` of the hot
  collection back to a link that held canary earlier (so the check must read the
  canary history to judge the gate).

Every document is built with the record classes' ``to_doc()`` and written with
``registry_tool._yamlio.dumps``, exactly the bytes the library writes; the full
``registry-tool check`` (timed below) must report no problem.  Files are written
directly and committed in four big commits with plain ``git add``/``git commit``; the
hot history is written with one ``git fast-import`` stream (one process for all its
commits, merges included) and the repository is then packed (``git gc``), as a clone
would be.

What is measured (wall-clock seconds, each a fresh process; median of ``--repeat``):

1. ``registry-tool check --base main --head <branch>`` on each PR branch (goal < 2 s);
2. ``registry-tool check`` of the whole registry (every file);
3. ``registry-tool history model-registry/models/<hot> --stage production --json``
   (goal < 1 s), and the same for all stages;
4. resolving ``model-registry/models/<hot>:production`` with
   ``python -c "import registry_tool as w; w.Api(registry=...).artifact(...)"``, and
   listing with ``registry-tool ls --json``;
5. GTO: a repo with the same versions (``<name>@v1.0.K`` registration tags on one
   commit per K) and the same stage assignments (``<name>#<stage>#<n>`` tags, in the
   same order), every event an annotated tag as ``gto`` makes them, written with one
   ``git fast-import`` stream and packed refs; timed ``gto show --json`` (all
   artifacts), ``gto show <hot> --json`` (one artifact) and ``gto history <hot>
   --json``, next to registry-tool's listing, resolution and history.  GTO is
   installed with pip into its own venv in the work dir (timed apart, not counted).
   Before timing, ``gto show --json`` and ``gto history`` are checked to see every
   artifact, the latest version and the stage holders the registry has.

Caches: every repetition runs with a fresh HOME/XDG_CACHE_HOME (an empty document
cache), first "cold", then once more "warm" with the cache the cold run left (the
full check and GTO have no such cache: one run each).  Goals are judged on cold runs,
what a CI job sees.  One untimed run of each command comes first (byte-code, page
cache).

Run from the repository root::

    .venv/bin/python benchmarks/bench_registry.py                  # 1,000 x 20, 200 moves
    .venv/bin/python benchmarks/bench_registry.py --collections 50 --links 8 --moves 20 --json

The work dir (default ``benchmarks/.work-registry/``, git-ignored) is deleted at the
end unless ``--keep`` is given; a kept registry and GTO repo of the same size are
reused by the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_registry_build import (
    BUILD_FORMAT,
    REGISTRY,
    Layout,
    RegistryBuilder,
    build_gto_repo,
    git_env,
    install_gto,
)
from bench_registry_report import library_state, render, results
from builders import dir_size
from common import (
    REPO,
    add_run_args,
    arg_parser,
    check_args,
    clean_work,
    find_cli,
    isolated_env,
    python_of,
    registry_cmd,
    report,
    run,
    say,
    timed,
)

DEFAULT_WORK = REPO / "benchmarks" / ".work-registry"


def registry_env(home: Path) -> dict[str, str]:
    """An isolated environment that does not look like a GitHub Actions job."""
    return isolated_env(home, unset=("GITHUB_ACTIONS", "GITHUB_EVENT_NAME", "GITHUB_STEP_SUMMARY"))


# -- the benchmark -------------------------------------------------------------------


@dataclass
class Measure:
    key: str
    operation: str
    cmd: list[str]
    cwd: Path
    warm: bool = True  # also time a second run on the cache the first one left
    cold_s: list[float] = field(default_factory=list)
    warm_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    out: str = ""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.cli = find_cli("bench_registry")
        self.python = python_of(self.cli)
        self.layout = Layout(args.collections, args.links, args.moves)
        self.registry = self.work / "registry"
        self.gto_repo = self.work / "gto-repo"
        self.gto_venv = self.work / "gto-venv"
        self.homes = self.work / "homes"
        self.setup: dict[str, Any] = {}
        self.measures: dict[str, Measure] = {}
        self.loadavg: list[float] = []
        self.library = [library_state()]

    # -- setup -------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        return {
            "format": BUILD_FORMAT,
            "collections": self.args.collections,
            "links": self.args.links,
            "moves": self.args.moves,
        }

    def kept(self, folder: Path) -> dict[str, Any] | None:
        """The marker of a build of the same parameters left in ``folder``, if any."""
        marker = folder / ".git" / "bench-build.json"
        if not marker.is_file():
            return None
        found: dict[str, Any] = json.loads(marker.read_text())
        return found if found.get("params") == self.params() else None

    def mark(self, folder: Path, facts: dict[str, Any]) -> dict[str, Any]:
        """Note what was built in ``folder`` (for a later run to reuse); ``facts``."""
        marker = {"params": self.params(), "facts": facts}
        (folder / ".git" / "bench-build.json").write_text(json.dumps(marker, indent=2))
        return {**facts, "reused": False}

    def build_registry(self) -> None:
        kept = self.kept(self.registry)
        if kept is not None:
            say(f"reusing the registry built before at {self.registry}")
            self.setup["registry"] = {**kept["facts"], "reused": True}
            return
        if self.registry.exists():
            shutil.rmtree(self.registry)
        lay = self.layout
        say(
            f"building {lay.collections} collections x {lay.links} links, hot collection "
            f"{lay.hot} with {lay.moves} moves, at {self.registry}"
        )
        env = registry_env(self.homes / "build")
        builder = RegistryBuilder(self.registry, lay, self.cli, env)
        start = time.perf_counter()
        builder.build()
        staging_branch = builder.promote_pr(lay.names[lay.pr_index], lay.pr_target, "staging")
        hot_branch = builder.promote_pr(lay.hot, lay.hot_pr_target, "production")
        total = time.perf_counter() - start
        commits = int(run(["git", "-C", str(self.registry), "rev-list", "--count", "main"]))
        facts = {
            "seconds": total,
            "steps": builder.timings,
            "files_written": builder.files,
            "commits_on_main": commits,
            "hot_history_commits": builder.history_commits,
            "hot_merge_commits": builder.merges,
            "staging_branch": staging_branch,
            "hot_branch": hot_branch,
            "pack_mib": round(dir_size(self.registry / ".git") / 2**20, 1),
        }
        self.setup["registry"] = self.mark(self.registry, facts)
        say(f"registry built in {total:.1f} s ({builder.files} files, {commits} commits on main)")

    def build_gto(self) -> None:
        seconds, version = install_gto(self.gto_venv)
        self.setup["gto_install"] = {"seconds": seconds, "version": version}
        kept = self.kept(self.gto_repo)
        if kept is not None:
            say(f"reusing the GTO repo built before at {self.gto_repo}")
            self.setup["gto_repo"] = {**kept["facts"], "reused": True}
            return
        if self.gto_repo.exists():
            shutil.rmtree(self.gto_repo)
        say(f"building the GTO repo at {self.gto_repo}")
        env = git_env(registry_env(self.homes / "gto-build"), int(time.time()))
        start = time.perf_counter()
        facts: dict[str, Any] = dict(build_gto_repo(self.gto_repo, self.layout, env))
        facts["seconds"] = time.perf_counter() - start
        self.setup["gto_repo"] = self.mark(self.gto_repo, facts)
        say(f"GTO repo built in {facts['seconds']:.1f} s ({facts['tags']} annotated tags)")

    # -- measuring ---------------------------------------------------------------------

    def define(self) -> None:
        lay = self.layout
        reg = self.setup["registry"]
        rt = registry_cmd(self.cli, self.registry)
        hot_path = f"model-registry/{REGISTRY}/{lay.hot}"
        resolve_code = (
            "import registry_tool as w; "
            f"a = w.Api(registry={str(self.registry)!r}).artifact({hot_path + ':production'!r}); "
            "print(a.qualified_name, ','.join(a.aliases))"
        )
        moves = lay.moves
        measures = [
            Measure(
                "check_pr",
                f"check --base main --head PR: staging of {lay.names[lay.pr_index]}",
                [*rt, "check", "--base", "main", "--head", reg["staging_branch"], "--json"],
                self.registry,
            ),
            Measure(
                "check_pr_hot",
                f"check --base main --head PR: production of {lay.hot} (*)",
                [*rt, "check", "--base", "main", "--head", reg["hot_branch"], "--json"],
                self.registry,
            ),
            Measure(
                "check_full",
                "check, whole registry (no --base)",
                [*rt, "check", "--json"],
                self.registry,
                warm=False,
            ),
            Measure(
                "history_stage",
                f"history {lay.hot} --stage production ({moves} moves)",
                [*rt, "history", hot_path, "--stage", "production", "--json"],
                self.registry,
            ),
            Measure(
                "history_all",
                f"history {lay.hot}, all stages ({2 * moves + 4} events)",
                [*rt, "history", hot_path, "--json"],
                self.registry,
            ),
            Measure(
                "resolve",
                f"resolve {lay.hot}:production (Api, python -c)",
                [str(self.python), "-c", resolve_code],
                self.registry,
            ),
            Measure(
                "ls",
                f"ls --json ({lay.collections} artifacts)",
                [*rt, "ls", "--json"],
                self.registry,
            ),
        ]
        if not self.args.skip_gto:
            gto = str(self.gto_venv / "bin" / "gto")
            measures += [
                Measure(
                    "gto_show_all",
                    "gto show --json",
                    [gto, "show", "--json"],
                    self.gto_repo,
                    warm=False,
                ),
                Measure(
                    "gto_show_one",
                    f"gto show {lay.hot} --json",
                    [gto, "show", lay.hot, "--json"],
                    self.gto_repo,
                    warm=False,
                ),
                Measure(
                    "gto_history",
                    f"gto history {lay.hot} --json",
                    [gto, "history", lay.hot, "--json"],
                    self.gto_repo,
                    warm=False,
                ),
            ]
        self.measures = {m.key: m for m in measures}

    def run_all(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        if self.homes.exists():
            shutil.rmtree(self.homes)
        self.build_registry()
        if not self.args.skip_gto:
            self.build_gto()
        self.define()
        say("untimed warm-up run of every command (byte-code, page cache), checking results")
        for m in self.measures.values():
            env = registry_env(self.homes / f"warmup-{m.key}")
            m.out = run(m.cmd, env=env, cwd=m.cwd)
        self.verify()
        self.loadavg.append(os.getloadavg()[0])
        for rep in range(self.args.repeat):
            for m in self.measures.values():
                env = registry_env(self.homes / f"rep{rep}-{m.key}")
                t = timed(m.cmd, env, m.cwd)
                secs, cpu = t.wall, t.cpu
                m.cold_s.append(secs)
                m.cpu_s.append(cpu)
                if m.warm:
                    secs = timed(m.cmd, env, m.cwd).wall
                    m.warm_s.append(secs)
                warm = f", warm {m.warm_s[-1]:.2f} s" if m.warm else ""
                say(f"#{rep + 1} {m.key}: {m.cold_s[-1]:.2f} s{warm}")
        self.loadavg.append(os.getloadavg()[0])
        self.library.append(library_state())
        if self.library[0] != self.library[-1]:
            say(f"WARNING: the library changed during the run: {' -> '.join(self.library)}")

    def verify(self) -> None:
        """What the warm-up runs printed must be right, or the timings mean nothing."""
        lay, ms = self.layout, self.measures
        problems = []
        for key in ("check_pr", "check_pr_hot", "check_full"):
            report = json.loads(ms[key].out)
            if not report["ok"]:
                problems.append(f"{key}: {report['problems'][:5]}")
            self.setup.setdefault("checked_files", {})[key] = report["files"]
        events = json.loads(ms["history_stage"].out)
        prs = sum(1 for e in events if e["pull_request"])
        if len(events) != lay.moves or [e["version"] for e in events] != lay.targets:
            problems.append(f"history: {len(events)} events, expected the {lay.moves} moves")
        if prs != len(events):
            problems.append(f"history: {prs} of {len(events)} events carry a PR number")
        want = f"model-registry/{REGISTRY}/{lay.hot}:v{lay.targets[-1]}"
        if not ms["resolve"].out.startswith(want + " "):
            problems.append(f"resolve printed {ms['resolve'].out.strip()!r}, not {want}")
        rows = json.loads(ms["ls"].out)
        if len(rows) != lay.collections:
            problems.append(f"ls: {len(rows)} rows, expected {lay.collections}")
        if not self.args.skip_gto:
            shown = json.loads(ms["gto_show_all"].out)
            if len(shown) != lay.collections:
                problems.append(f"gto show: {len(shown)} artifacts, expected {lay.collections}")
            sample = [*lay.names[:5], lay.hot]
            for c, name in enumerate(lay.names):
                if name not in sample:
                    continue
                got = shown.get(name, {})
                expected = {s: lay.gtover(k) for s, k in lay.stages[c].items()}
                if got.get("version") != lay.gtover(lay.links - 1) or got.get("stage") != expected:
                    problems.append(f"gto show {name}: {got}, expected stages {expected}")
            one = json.loads(ms["gto_show_one"].out)
            if len(one) != lay.links:
                problems.append(f"gto show {lay.hot}: {len(one)} versions, expected {lay.links}")
            journal = json.loads(ms["gto_history"].out)
            moved = [
                e for e in journal if e["event"] == "assignment" and e["stage"] == "production"
            ]
            if len(moved) != lay.moves:
                problems.append(f"gto history: {len(moved)} production assignments")
            self.setup["gto_sample_checked"] = sample
            self.setup["gto_history_events"] = len(journal)
        if problems:
            raise SystemExit("bench_registry: wrong results:\n  " + "\n  ".join(problems))
        say(
            "results check out (check ok, history, resolution, listing"
            + (", GTO state)" if not self.args.skip_gto else ")")
        )

    def cleanup(self) -> None:
        subs = (self.registry, self.gto_repo, self.gto_venv, self.homes)
        kept, deleted = "the registry, the GTO repo and venv", f"deleted the work dir {self.work}"
        clean_work(self.work, subs, keep=self.args.keep, kept=kept, deleted=deleted)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = arg_parser(
        "Benchmark model registries: PR check, full check, stage history, "
        "resolution and listing, against GTO's git tags.",
        DEFAULT_WORK,
    )
    p.add_argument("--collections", type=int, default=1000, help="registry collections")
    p.add_argument("--links", type=int, default=20, help="links (versions) per collection")
    p.add_argument("--moves", type=int, default=200, help="moves of the hot collection's stage")
    add_run_args(
        p,
        repeat=3,
        repeat_help="timed runs of each command (median)",
        skip=("gto", "do not install or time GTO"),
        keep="keep (and reuse) the built repos",
    )
    args = p.parse_args(argv)
    return check_args(p, args, {"collections": 2, "links": 3, "moves": 2, "repeat": 1})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report(Bench(args), args, results, render)


if __name__ == "__main__":
    raise SystemExit(main())
