"""Benchmark ``registry-tool site build`` on synthetic registries of 100 to 10,000 versions.

What is measured (wall-clock seconds, every build a fresh CLI process,
``.venv/bin/registry-tool --registry R site build --out OUT --json``):

1. **Full build**: a fresh HOME/XDG cache dir (no parsed-document cache, no SVG cache,
   no docs folder) and an empty OUT. Reported: seconds (and CPU seconds and peak RSS of
   the whole process tree: CLI, ``dot`` and the ``mkdocs`` subprocess), the number of
   pages (Markdown pages the CLI rendered / HTML pages in OUT), the total size of OUT,
   the largest HTML page (bytes, path, and how much of it is mkdocs-material's nav), and
   the split between registry-tool's own work (load, render, ``dot``: CLI start until its
   ``mkdocs`` child appears) and the ``mkdocs build`` child (seen by polling /proc).
   Goals: 10,000 versions under 120 s on this 2-core machine; every page under 100 KB
   (100,000 bytes).
2. **Incremental build after one new version**, same cache dir and OUT, two kinds:
   ``log``: ``registry-tool log DIR --name proj000/model --type model`` (a fresh CLI
   process, no run, so no lineage changes), then the build; ``run``: a fresh Python
   process using the API (``wandb.init``, ``use_artifact("model:latest")``,
   ``log_artifact`` of a new ``proj000/tuned`` version), which adds lineage edges, then
   the build. Reported: seconds, pages written, and full / incremental (goal: >= 5x).
   Also reported: the entries of ``search/search_index.json`` after the full build and
   after each incremental build (the index should not lose pages in a rebuild) and
   whether the new version's page is in OUT.

The synthetic registries are written directly as the files the library writes (records
from ``registry_tool._model``, ``to_doc()``, ``yamlio.dumps``, blobs in ``.blobs`` under
their SHA-256) on top of ``registry-tool init``, committed in three commits, and
``registry-tool check`` must pass on each before anything is timed. Shape: projects of
10 collections forming a pipeline (raw -> clean -> features -> model -> tuned ->
predictions -> evaluation -> distilled -> distilled-predictions -> report), 10 versions
per collection, 3-4 files per manifest (evaluation versions carry a ``.table.json``, so
they get a table page), one run per version that uses the previous collection's latest
version and logs one version (logged round by round, so ``model:v3`` was trained on
``features:v3``), and a model registry ``prod`` with stages dev, staging, production (a
gate on production, production protected) holding the last three ``model`` versions of
every project, its stage aliases moved in two later commits so stage history has events.
So 100 versions = 1 project, 10 collections, 100 runs; 10,000 = 100 projects, 1,000
collections, 10,000 runs. Git history is three commits, where a real registry of
10,000 versions has ~20,000 (one per write): the home page's activity and stage
history read ``git log``, so their cost here is a lower bound.

Caches and noise: HOME, XDG_DATA_HOME and XDG_CACHE_HOME point into the work dir,
fresh for every repetition; ``sync`` runs (untimed) before every timed command; one
untimed tiny build warms up the CLI, mkdocs and dot first. CPU seconds are next to wall
time: a build that uses one of the 2 cores shows CPU ~= wall. With ``--repeat N``
every repetition starts from the generated registry (``git reset --hard`` to its base
commit) with a fresh cache dir and OUT, and medians are reported.

Run from the repository root::

    .venv/bin/python benchmarks/bench_site.py                       # 100, 1,000, 10,000
    .venv/bin/python benchmarks/bench_site.py --sizes 100,1000 --json

Work dir: ``benchmarks/.work-site`` (git-ignored), deleted at the end unless ``--keep``
is given (kept registries are reused by the next run with the same sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from bench_site_build import GEN_FORMAT, LINKED, Shape, generate
from bench_site_report import Rep, SizeResult, out_stats, render, results, search_index
from common import (
    GIT_IDENTITY,
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
    timed_tree,
)

DEFAULT_WORK = REPO / "benchmarks" / ".work-site"
DEFAULT_SIZES = "100,1000,10000"

RUNS_DIR = "runs"
REGISTRIES_DIR = "registries"


def site_env(home: Path) -> dict[str, str]:
    """An isolated environment with a fixed git author."""
    return isolated_env(home, extra=GIT_IDENTITY)


# -- the measurements ----------------------------------------------------------------


API_WRITE = """
import sys
from pathlib import Path
import registry_tool as wandb

registry, folder, project = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
with wandb.init(project=project, job_type="tune", registry=registry) as run:
    run.use_artifact("model:latest")
    tuned = wandb.Artifact("tuned", type="model", metadata={"accuracy": 0.97, "epochs": 30})
    tuned.add_dir(str(folder))
    run.log_artifact(tuned)
print(tuned.version)
"""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work
        self.cli = find_cli("bench_site")
        self.python = python_of(self.cli)
        self.runs = self.work / RUNS_DIR
        self.registries = self.work / REGISTRIES_DIR
        self.results: dict[int, SizeResult] = {}
        self.loadavg: list[float] = []

    # registry per size: generated once, reused (reset to its base) by every repetition
    def registry(self, size: int) -> tuple[Path, Shape, float]:
        root = self.registries / f"v{size}" / "registry"
        marker = root.parent / "generated.json"
        env = site_env(root.parent / "gen-home")
        if root.is_dir() and marker.is_file():
            info = json.loads(marker.read_text())
            if info.get("format") == GEN_FORMAT and info.get("versions") == size:
                shape = Shape(**info["shape"])
                run(["git", "-C", str(root), "reset", "-q", "--hard", shape.base_commit])
                run(["git", "-C", str(root), "clean", "-q", "-fd"])
                say(f"{size}: reusing the registry generated before at {root}")
                return root, shape, float(info["seconds"])
        say(f"{size}: generating the registry at {root}")
        t0 = time.perf_counter()
        shape = generate(root, size, self.cli, env, f"synthetic-{size}")
        secs = time.perf_counter() - t0
        marker.write_text(
            json.dumps(
                {"format": GEN_FORMAT, "versions": size, "seconds": secs, "shape": vars(shape)}
            )
        )
        say(
            f"{size}: {shape.files} files, {shape.blobs} blobs, {shape.collections} collections,"
            f" {shape.projects} projects, {shape.links} links in {secs:.1f} s"
        )
        return root, shape, secs

    def check(self, root: Path, size: int) -> tuple[float, int]:
        env = site_env(root.parent / "gen-home")
        t0 = time.perf_counter()
        proc = subprocess.run(
            registry_cmd(self.cli, root, "check", "--json"),
            env=env,
            capture_output=True,
            check=False,
        )
        secs = time.perf_counter() - t0
        text = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise SystemExit(
                f"bench_site: 'registry-tool check' fails on the {size}-version registry:\n"
                + (text or proc.stderr.decode("utf-8", "replace"))[-3000:]
            )
        try:
            files = int(json.loads(text).get("files", 0))
        except (ValueError, AttributeError):
            files = 0
        say(f"{size}: registry-tool check passed ({files} files, {secs:.1f} s)")
        return secs, files

    def build_cmd(self, registry: Path, out: Path) -> list[str]:
        return registry_cmd(self.cli, registry, "site", "build", "--out", str(out), "--json")

    def warm_up(self) -> None:
        say("warming up (untimed): a 40-version registry built once (imports, dot, mkdocs)")
        base = self.runs / "warmup"
        env = site_env(base / "home")
        generate(base / "registry", 40, self.cli, env, "warmup")
        run(self.build_cmd(base / "registry", base / "out"), env=env, cwd=base)
        shutil.rmtree(base)

    def one_rep(self, size: int, registry: Path, rep: int) -> Rep:
        base = self.runs / f"v{size}-{rep}"
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
        env = site_env(base / "home")
        out = base / "out"
        say(f"{size} #{rep + 1}: full build (fresh cache dir, empty OUT)")
        full = timed_tree(
            self.build_cmd(registry, out), env, base, base / "logs" / "full", watch=b"mkdocs"
        )
        report = json.loads(full.stdout)
        stats = out_stats(out)
        say(
            f"{size} #{rep + 1}: full build {full.wall:.1f} s, {report['pages']} pages,"
            f" largest {stats.largest_bytes} B ({stats.largest_path})"
        )
        result = Rep(full, report, stats)

        # 1. one version by the CLI's log: proj000/model:v10 (no run, no new lineage)
        data = base / "new-model"
        data.mkdir()
        (data / "model.bin").write_bytes(os.urandom(4096))
        (data / "config.json").write_text(json.dumps({"seed": rep, "note": "incremental"}))
        log_cmd = registry_cmd(
            self.cli,
            registry,
            "log",
            str(data),
            "--name",
            f"proj000/{LINKED}",
            "--type",
            "model",
            "--metadata",
            '{"accuracy": 0.95, "epochs": 25}',
            "--json",
        )
        logged = json.loads(run(log_cmd, env=env, cwd=base))["path"]
        self._incremental(result, "log", registry, out, env, base, logged)

        # 2. one version by a run through the API: uses model:latest, logs tuned:vN
        data = base / "new-tuned"
        data.mkdir()
        (data / "model.bin").write_bytes(os.urandom(4096))
        number = run(
            [str(self.python), "-c", API_WRITE, str(registry), str(data), "proj000"],
            env=env,
            cwd=base,
        ).strip()
        self._incremental(result, "run", registry, out, env, base, f"proj000/tuned:{number}")
        return result

    def _incremental(
        self,
        result: Rep,
        kind: str,
        registry: Path,
        out: Path,
        env: dict[str, str],
        base: Path,
        path: str,
    ) -> None:
        logs = base / "logs" / f"incr-{kind}"
        t = timed_tree(self.build_cmd(registry, out), env, base, logs, watch=b"mkdocs")
        result.incr[kind] = t
        result.incr_report[kind] = json.loads(t.stdout)
        result.incr_search[kind] = search_index(out)
        project_name, _, version = path.rpartition(":")
        page = out / "artifacts" / project_name / f"{version}.html"
        result.incr_new_page[kind] = page.is_file()
        result.incr_out[kind] = out_stats(out)
        say(
            f"  incremental ({kind}: {path}) {t.wall:.1f} s,"
            f" {result.incr_report[kind]['written']} pages written;"
            f" full/incremental {result.full.wall / t.wall:.1f}x"
        )

    def run_all(self) -> None:
        if self.runs.exists():
            shutil.rmtree(self.runs)
        self.runs.mkdir(parents=True)
        self.warm_up()
        self.loadavg.append(os.getloadavg()[0])
        for size in self.args.sizes:
            t0 = time.perf_counter()
            registry, shape, gen_secs = self.registry(size)
            check_secs, check_files = self.check(registry, size)
            sr = SizeResult(shape, check_secs, check_files, gen_secs)
            for rep in range(self.args.repeat):
                if rep:
                    run(["git", "-C", str(registry), "reset", "-q", "--hard", shape.base_commit])
                sr.reps.append(self.one_rep(size, registry, rep))
                keep_last = self.args.keep and rep == self.args.repeat - 1
                if not keep_last:
                    shutil.rmtree(self.runs / f"v{size}-{rep}")
            # leave the registry at its base, ready for the next run
            run(["git", "-C", str(registry), "reset", "-q", "--hard", shape.base_commit])
            self.results[size] = sr
            say(f"{size}: done in {time.perf_counter() - t0:.0f} s")
        self.loadavg.append(os.getloadavg()[0])

    def cleanup(self) -> None:
        subs = (self.runs, self.registries)
        kept = "the registries and the last builds"
        deleted = f"deleted {self.runs} and {self.registries}"
        clean_work(self.work, subs, keep=self.args.keep, kept=kept, deleted=deleted)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = arg_parser(
        "Benchmark registry-tool site build: full and incremental builds of "
        "synthetic registries of 100 to 10,000 versions.",
        DEFAULT_WORK,
    )
    p.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help="comma-separated numbers of versions (default %(default)s)",
    )
    add_run_args(
        p,
        repeat=1,
        repeat_help="repetitions per size, each with a fresh cache dir and OUT (median reported)",
        keep="keep the registries and last builds",
    )
    args = p.parse_args(argv)
    try:
        args.sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        p.error("--sizes takes comma-separated integers, like 100,1000,10000")
    if not args.sizes or any(s < 10 for s in args.sizes):
        p.error("every size must be at least 10 versions")
    needs = [
        (("git",), "needs git on PATH"),
        (("dot",), "needs graphviz 'dot' on PATH (the site renders lineage with it)"),
    ]
    return check_args(p, args, {"repeat": 1}, needs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report(Bench(args), args, results, render, note=f"; sizes {args.sizes}")


if __name__ == "__main__":
    raise SystemExit(main())
