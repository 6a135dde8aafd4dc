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
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import find_cli, first_line, report, say

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = REPO / "benchmarks" / ".work-site"
DEFAULT_SIZES = "100,1000,10000"

GOAL_FULL_SECONDS = 120.0
GOAL_FULL_AT = 10_000  # versions the full-build goal applies to
GOAL_PAGE_BYTES = 100_000  # 100 KB
GOAL_INCREMENTAL_RATIO = 5.0

VERSIONS_PER_COLLECTION = 10
COLLECTIONS_PER_PROJECT = 10
GEN_FORMAT = 1  # bump when the generator changes, so kept registries are regenerated

# (collection name, artifact type, job type of the run that logs it)
PIPELINE = [
    ("raw", "dataset", "ingest"),
    ("clean", "dataset", "clean"),
    ("features", "dataset", "featurize"),
    ("model", "model", "train"),
    ("tuned", "model", "tune"),
    ("predictions", "predictions", "predict"),
    ("evaluation", "evaluation", "evaluate"),
    ("distilled", "model", "distill"),
    ("distilled-predictions", "predictions", "predict"),
    ("report", "evaluation", "report"),
]
LINKED = "model"  # the collection of every project linked into the model registry
MODEL_REGISTRY = "prod"
STAGES = ("dev", "staging", "production")
AUTHOR = "Bench Author <bench@example.test>"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.test",
}
BASE_TIME = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)

RUNS_DIR = "runs"
REGISTRIES_DIR = "registries"


def python_of(cli: Path) -> Path:
    """The interpreter of the CLI's venv (for the API write and for mkdocs)."""
    candidate = cli.parent / "python"
    return candidate if candidate.is_file() else Path(sys.executable)


# -- environment and subprocesses ----------------------------------------------------


def isolated_env(home: Path) -> dict[str, str]:
    """os.environ with HOME and the XDG dirs inside ``home``, registry overrides unset."""
    env = dict(os.environ)
    for var in ("REGISTRY_TOOL_DIR", "REGISTRY_TOOL_CACHE_DIR", "XDG_CONFIG_HOME"):
        env.pop(var, None)
    env.update(GIT_IDENTITY)
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    for d in (env["XDG_DATA_HOME"], env["XDG_CACHE_HOME"]):
        Path(d).mkdir(parents=True, exist_ok=True)
    return env


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command, fail loudly on a non-zero exit, return its stdout."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"bench_site: command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
            + (proc.stderr or proc.stdout).decode("utf-8", "replace")[-3000:]
        )
    return proc.stdout.decode("utf-8", "replace")


@dataclass
class Timed:
    wall: float
    cpu: float  # user + system of the whole process tree
    max_rss_mib: float  # the largest process of the tree
    stdout: str
    mkdocs_seconds: float = 0.0  # the CLI's mkdocs child, seen from start to end
    before_mkdocs_seconds: float = 0.0  # CLI start to mkdocs start: load, render, dot


class ChildWatch(threading.Thread):
    """Polls /proc every ``interval`` s for children of one process and notes when each
    ``mkdocs`` child was first and last seen (so the build splits into registry-tool's
    own work and mkdocs', to about ``interval``)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.stopped = threading.Event()
        self.seen: dict[int, list[float]] = {}  # mkdocs pid -> [first, last]

    def run(self) -> None:
        while not self.stopped.is_set():
            now = time.perf_counter()
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    if int(stat[stat.rfind(")") + 2 :].split()[1]) != self.pid:
                        continue
                    cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
                except (OSError, ValueError, IndexError):
                    continue
                if b"mkdocs" in cmdline:
                    self.seen.setdefault(int(entry.name), [now, now])[1] = now
            self.stopped.wait(self.interval)


def timed(cmd: list[str], env: dict[str, str], cwd: Path, logs: Path, watch: bool = False) -> Timed:
    """Run one command after an untimed ``sync``; wall, CPU and peak RSS come from
    ``wait4`` on the child, which includes every descendant it waited for (dot, mkdocs).
    With ``watch``, a thread notes when the command's mkdocs child runs."""
    os.sync()
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "stdout", logs / "stderr"
    watcher = None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        if watch:
            watcher = ChildWatch(proc.pid)
            watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    mkdocs = before = 0.0
    if watcher is not None:
        watcher.stopped.set()
        watcher.join()
        if watcher.seen:
            mkdocs = sum(last - first for first, last in watcher.seen.values())
            before = min(first for first, _ in watcher.seen.values()) - start
    stdout = out_path.read_text("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(
            f"bench_site: command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
            + err_path.read_text("utf-8", "replace")[-3000:]
        )
    return Timed(
        wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, mkdocs, before
    )


# -- the synthetic registry ----------------------------------------------------------


@dataclass
class Shape:
    versions: int
    collections: int
    projects: int
    runs: int
    links: int
    files: int = 0
    blobs: int = 0
    base_commit: str = ""


def stamp(seq: int) -> str:
    """The seq-th timestamp, in the library's format (UTC, microseconds, ``Z``)."""
    when = BASE_TIME + timedelta(seconds=37 * seq, microseconds=(seq * 7919) % 1_000_000)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def blob_bytes(kind: str, project: str, name: str, k: int, rng: random.Random) -> bytes:
    """A file's content: deterministic, different per version where it should change."""
    tag = f"{project}/{name}"
    if kind == "readme":
        return f"# {tag}\n\nSynthetic {name} for the site benchmark.\n".encode()
    if kind == "schema":
        cols = [{"name": f"c{i}", "type": "float"} for i in range(12)]
        return json.dumps({"artifact": tag, "columns": cols}).encode()
    if kind == "csv":
        rows = "\n".join(f"{i},{rng.random():.6f},{rng.random():.6f}" for i in range(40))
        return f"id,x,y\n{rows}\n".encode()
    if kind == "bin":
        return rng.randbytes(4096)
    if kind == "json":
        return json.dumps({"artifact": tag, "version": k, "value": rng.random()}).encode()
    if kind == "table":
        labels = ("cat", "dog", "bird", "fish")
        data = [[i, labels[i % 4], labels[(i + k) % 4], round(rng.random(), 4)] for i in range(20)]
        doc = {"_type": "table", "columns": ["id", "label", "prediction", "score"], "data": data}
        return json.dumps(doc, ensure_ascii=False, allow_nan=False).encode()
    raise ValueError(kind)


# (path in the manifest, kind of content, changes every version?)
FILES_BY_TYPE: dict[str, list[tuple[str, str, str]]] = {
    "dataset": [
        ("README.md", "readme", "never"),
        ("data/part-000.csv", "csv", "always"),
        ("data/part-001.csv", "csv", "even"),
        ("schema.json", "schema", "never"),
    ],
    "model": [
        ("README.md", "readme", "never"),
        ("config.json", "json", "always"),
        ("model.bin", "bin", "always"),
    ],
    "predictions": [
        ("README.md", "readme", "never"),
        ("predictions.csv", "csv", "always"),
        ("summary.json", "json", "always"),
    ],
    "evaluation": [
        ("README.md", "readme", "never"),
        ("eval.table.json", "table", "always"),
        ("metrics.json", "json", "always"),
    ],
}


def metadata_for(kind: str, j: int, k: int, rng: random.Random) -> dict[str, Any]:
    if kind == "dataset":
        return {"rows": 10_000 + 137 * k + j, "columns": 12, "source": f"export-{k:03d}"}
    if kind == "model":
        return {
            "accuracy": round(0.70 + 0.02 * k + 0.001 * j, 4),
            "loss": round(1.0 / (k + 2), 4),
            "epochs": 10 + k,
            "framework": "torch",
        }
    if kind == "predictions":
        return {"rows": 2_000 + k, "threshold": 0.5}
    return {
        "accuracy": round(0.68 + 0.02 * k, 4),
        "f1": round(0.6 + 0.03 * k, 4),
        "auc": round(0.75 + 0.02 * k, 4),
        "seed": rng.randrange(1000),
    }


class Writer:
    """Writes registry files and blobs exactly as the library would."""

    def __init__(self, root: Path) -> None:
        from registry_tool import _yamlio as yamlio

        self.root = root
        self.dumps = yamlio.dumps
        self.blob_root = root / ".blobs"
        self.files = 0
        self.blobs = 0
        self._dirs: set[Path] = set()

    def doc(self, rel: str, doc: dict[str, Any], kind: str) -> None:
        from registry_tool import _schemas as schemas

        schemas.validate(doc, kind, rel)  # what Change.put does before writing
        target = self.root / rel
        if target.parent not in self._dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(target.parent)
        if not target.exists():
            self.files += 1
        target.write_bytes(self.dumps(doc))

    def blob(self, data: bytes) -> str:
        hexdigest = hashlib.sha256(data).hexdigest()
        target = self.blob_root / "sha256" / hexdigest[:2] / hexdigest
        if not target.exists():
            if target.parent not in self._dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(target.parent)
            target.write_bytes(data)
            target.chmod(0o444)  # the local store's blobs are read-only
            self.blobs += 1
        return f"sha256:{hexdigest}"


def generate(root: Path, versions: int, cli: Path, env: dict[str, str], name: str) -> Shape:
    """A registry of ``versions`` versions at ``root`` (see the module docstring)."""
    from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
    from registry_tool._model.layout import (
        alias_file,
        collection_file,
        link_file,
        model_registry_file,
        registry_alias_file,
        run_file,
        version_file,
    )
    from registry_tool._model.manifest import Entry, artifact_digest
    from registry_tool._model.records import (
        AliasRecord,
        ArtifactUse,
        CodeInfo,
        CollectionRecord,
        RunRecord,
        VersionRecord,
    )

    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    run([str(cli), "init", str(root), "--name", name], env=env, cwd=root.parent)
    w = Writer(root)
    rng = random.Random(versions)
    n_collections = -(-versions // VERSIONS_PER_COLLECTION)
    n_projects = -(-n_collections // COLLECTIONS_PER_PROJECT)
    counts: list[tuple[str, int, int]] = []  # (project, pipeline index, versions)
    left = versions
    for c in range(n_collections):
        project = f"proj{c // COLLECTIONS_PER_PROJECT:03d}"
        counts.append((project, c % COLLECTIONS_PER_PROJECT, min(VERSIONS_PER_COLLECTION, left)))
        left -= VERSIONS_PER_COLLECTION
    seq = 0
    readme_cache: dict[tuple[str, str, str], bytes] = {}
    digests: dict[tuple[str, str, int], str] = {}
    metrics: dict[tuple[str, str, int], dict[str, Any]] = {}
    last_run: dict[tuple[str, str], str] = {}
    for project, j, _n in counts:
        coll, kind, _job = PIPELINE[j]
        w.doc(
            collection_file(project, coll),
            CollectionRecord(
                project, coll, kind, stamp(seq), f"Stage {j} of the **{project}** pipeline."
            ).to_doc(),
            "collection",
        )
        seq += 1
    # Round by round, so a run of round k uses round k's output of the previous stage.
    for k in range(VERSIONS_PER_COLLECTION):
        for project, j, n in counts:
            if k >= n:
                continue
            coll, kind, job = PIPELINE[j]
            run_id = f"r{j:02d}v{k:05d}"
            started = stamp(seq)
            entries = []
            for path, content, changes in FILES_BY_TYPE[kind]:
                key = (project, coll, path)
                if changes == "never":
                    data = readme_cache.get(key) or blob_bytes(content, project, coll, k, rng)
                    readme_cache[key] = data
                elif changes == "even" and k % 2 == 1:
                    data = readme_cache[key]
                else:
                    data = blob_bytes(content, project, coll, k, rng)
                    readme_cache[key] = data
                entries.append(Entry(path=path, digest=w.blob(data), size=len(data)))
            entries.sort(key=lambda e: e.path)
            meta = metadata_for(kind, j, k, rng)
            record = VersionRecord(
                project=project,
                name=coll,
                version=k,
                type=kind,
                digest=artifact_digest(entries),
                created_at=stamp(seq + 1),
                entries=tuple(entries),
                run=run_id,
                metadata=meta,
            )
            w.doc(version_file(project, coll, k), record.to_doc(), "version")
            digests[(project, coll, k)] = record.digest
            metrics[(project, coll, k)] = meta
            inputs: tuple[ArtifactUse, ...] = ()
            if j > 0:
                prev = PIPELINE[j - 1][0]
                inputs = (ArtifactUse(project, prev, k, via=f"{prev}:latest"),)
            code = (
                CodeInfo(hashlib.sha1(run_id.encode()).hexdigest(), "main", k % 3 == 0)
                if j % 2 == 0
                else None
            )
            run_record = RunRecord(
                id=run_id,
                project=project,
                name=f"{job}-{run_id}",
                job_type=job,
                started_at=started,
                status="finished",
                config={"lr": round(0.001 * (k + 1), 6), "batch_size": 64, "seed": k},
                entity=name,
                finished_at=stamp(seq + 2),
                code=code,
                inputs=inputs,
                outputs=(ArtifactUse(project, coll, k),),
            )
            w.doc(run_file(project, run_id), run_record.to_doc(), "run")
            last_run[(project, coll)] = run_id
            seq += 3
    for project, j, n in counts:
        coll = PIPELINE[j][0]
        alias = AliasRecord("latest", n - 1, stamp(seq), AUTHOR, last_run[(project, coll)])
        w.doc(alias_file(project, coll, "latest"), alias.to_doc(), "alias")
        if PIPELINE[j][1] == "model" and n >= 8:
            best = AliasRecord("best", 7, stamp(seq), AUTHOR, None, "highest accuracy so far")
            w.doc(alias_file(project, coll, "best"), best.to_doc(), "alias")
        seq += 1

    # The model registry: the last three versions of every project's 'model'.
    config = ModelRegistryConfig(
        name=MODEL_REGISTRY,
        created_at=stamp(seq),
        stages=STAGES,
        protected=("production",),
        types=("model",),
        gates={"production": StageGate(("accuracy >= 0.8",), requires_previous_stage=True)},
        description="Models we serve. Production moves by **pull request** only.",
    )
    w.doc(model_registry_file(MODEL_REGISTRY), config.to_doc(), "model-registry")
    linked: list[tuple[str, int]] = []  # (registry collection, links)
    for project, j, n in counts:
        coll = PIPELINE[j][0]
        if coll != LINKED or n < 3:
            continue
        target = f"{project}-{coll}"
        sources = list(range(n - 3, n))
        for number, source in enumerate(sources):
            link = LinkRecord(
                registry=MODEL_REGISTRY,
                collection=target,
                version=number,
                project=project,
                name=coll,
                source_version=source,
                digest=digests[(project, coll, source)],
                linked_at=stamp(seq + number),
                linked_by=AUTHOR,
            )
            w.doc(link_file(MODEL_REGISTRY, target, number), link.to_doc(), "link")
        for alias, number in (("latest", 2), ("dev", 2), ("staging", 0)):
            record = AliasRecord(alias, number, stamp(seq + 3), AUTHOR)
            w.doc(registry_alias_file(MODEL_REGISTRY, target, alias), record.to_doc(), "alias")
        linked.append((target, len(sources)))
        seq += 4
    git_env = {**env, **GIT_IDENTITY}
    run(["git", "-C", str(root), "add", "-A"], env=git_env)
    run(
        ["git", "-C", str(root), "commit", "-q", "-m", f"bench: {versions} synthetic versions"],
        env=git_env,
    )
    # Two promotions, each its own commit, so stage history has moves to show.
    promotions = (
        ("staging", 1, "passed the offline evaluation"),
        ("production", 0, "release 2026.1"),
    )
    for alias, number, reason in promotions if linked else ():
        for target, _links in linked:
            record = AliasRecord(alias, number, stamp(seq), AUTHOR, None, reason)
            w.doc(registry_alias_file(MODEL_REGISTRY, target, alias), record.to_doc(), "alias")
            seq += 1
        run(["git", "-C", str(root), "add", "-A"], env=git_env)
        run(
            ["git", "-C", str(root), "commit", "-q", "-m", f"promote {MODEL_REGISTRY} +{alias}"],
            env=git_env,
        )
    base = run(["git", "-C", str(root), "rev-parse", "HEAD"]).strip()
    return Shape(
        versions=versions,
        collections=n_collections,
        projects=n_projects,
        runs=versions,
        links=sum(n for _, n in linked),
        files=w.files,
        blobs=w.blobs,
        base_commit=base,
    )


# -- measuring OUT -------------------------------------------------------------------


_NAV_OPEN = re.compile(r'<nav class="md-nav md-nav--primary"')
_NAV_TAG = re.compile(r"<nav\b|</nav>")


def nav_bytes(html: str) -> int:
    """Bytes of mkdocs-material's primary navigation (the left sidebar) in a page."""
    m = _NAV_OPEN.search(html)
    if not m:
        return 0
    depth = 0
    for tag in _NAV_TAG.finditer(html, m.start()):
        depth += 1 if tag.group() == "<nav" else -1
        if depth == 0:
            return len(html[m.start() : tag.end()].encode("utf-8"))
    return 0


@dataclass
class OutStats:
    total_bytes: int
    files: int
    html_pages: int
    largest_bytes: int
    largest_path: str
    largest_nav_bytes: int
    search_entries: int
    search_pages: int
    search_bytes: int
    version_pages: int
    version_page_avg: float


_VERSION_PAGE = re.compile(r"^artifacts/[^/]+/[^/]+/v[0-9]+\.html$")


def out_stats(out: Path) -> OutStats:
    total = files = pages = 0
    largest, largest_path = 0, ""
    version_sizes = []
    for dirpath, _dirs, names in os.walk(out):
        for name in names:
            path = Path(dirpath) / name
            size = path.stat().st_size
            total += size
            files += 1
            if name.endswith(".html"):
                pages += 1
                rel = path.relative_to(out).as_posix()
                if size > largest:
                    largest, largest_path = size, rel
                if _VERSION_PAGE.match(rel):
                    version_sizes.append(size)
    nav = nav_bytes((out / largest_path).read_text("utf-8")) if largest_path else 0
    entries, search_pages, search_size = search_index(out)
    return OutStats(
        total_bytes=total,
        files=files,
        html_pages=pages,
        largest_bytes=largest,
        largest_path=largest_path,
        largest_nav_bytes=nav,
        search_entries=entries,
        search_pages=search_pages,
        search_bytes=search_size,
        version_pages=len(version_sizes),
        version_page_avg=statistics.mean(version_sizes) if version_sizes else 0.0,
    )


def search_index(out: Path) -> tuple[int, int, int]:
    """(entries, distinct pages, bytes) of the search index."""
    path = out / "search" / "search_index.json"
    try:
        data = path.read_bytes()
        docs = json.loads(data).get("docs", [])
    except (OSError, ValueError):
        return 0, 0, 0
    return len(docs), len({d.get("location", "").split("#")[0] for d in docs}), len(data)


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


@dataclass
class Rep:
    full: Timed
    full_report: dict[str, Any]
    full_out: OutStats
    incr: dict[str, Timed] = field(default_factory=dict)
    incr_report: dict[str, dict[str, Any]] = field(default_factory=dict)
    incr_search: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    incr_new_page: dict[str, bool] = field(default_factory=dict)
    incr_out: dict[str, OutStats] = field(default_factory=dict)


@dataclass
class SizeResult:
    shape: Shape
    check_seconds: float
    check_files: int
    generate_seconds: float
    reps: list[Rep] = field(default_factory=list)


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
        env = isolated_env(root.parent / "gen-home")
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
        env = isolated_env(root.parent / "gen-home")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(self.cli), "--registry", str(root), "check", "--json"],
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
        return [
            str(self.cli),
            "--registry",
            str(registry),
            "site",
            "build",
            "--out",
            str(out),
            "--json",
        ]

    def warm_up(self) -> None:
        say("warming up (untimed): a 40-version registry built once (imports, dot, mkdocs)")
        base = self.runs / "warmup"
        env = isolated_env(base / "home")
        generate(base / "registry", 40, self.cli, env, "warmup")
        run(self.build_cmd(base / "registry", base / "out"), env=env, cwd=base)
        shutil.rmtree(base)

    def one_rep(self, size: int, registry: Path, rep: int) -> Rep:
        base = self.runs / f"v{size}-{rep}"
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
        env = isolated_env(base / "home")
        out = base / "out"
        say(f"{size} #{rep + 1}: full build (fresh cache dir, empty OUT)")
        full = timed(self.build_cmd(registry, out), env, base, base / "logs" / "full", True)
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
        log_cmd = [
            str(self.cli),
            "--registry",
            str(registry),
            "log",
            str(data),
            "--name",
            f"proj000/{LINKED}",
            "--type",
            "model",
            "--metadata",
            '{"accuracy": 0.95, "epochs": 25}',
            "--json",
        ]
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
        t = timed(self.build_cmd(registry, out), env, base, logs, True)
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
        if self.args.keep:
            say(f"--keep: leaving the registries and the last builds under {self.work}")
            return
        for sub in (self.runs, self.registries):
            if sub.exists():
                shutil.rmtree(sub)
        with contextlib.suppress(OSError):
            self.work.rmdir()  # only if nothing else is in it
        say(f"deleted {self.runs} and {self.registries}")


# -- reporting -----------------------------------------------------------------------


def package_version(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return first_line([str(python), "-c", code])


def library_commit() -> str:
    """The project's git commit, and whether registry_tool/ has uncommitted changes."""
    head = first_line(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"])
    proc = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "registry_tool", "site_templates"],
        capture_output=True,
        text=True,
        check=False,
    )
    return head + (" + uncommitted changes to registry_tool/" if proc.stdout.strip() else "")


def machine_facts(cli: Path, python: Path) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f"{pages / 2**30:.1f} GiB"
    except (ValueError, OSError):
        pass
    return {
        "nproc": first_line(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_version()} ({python})",
        "git": first_line(["git", "--version"]),
        "dot": first_line(["dot", "-V"]),
        "mkdocs": package_version(python, "mkdocs"),
        "mkdocs-material": package_version(python, "mkdocs-material"),
        "registry-tool": first_line([str(cli), "--version"]),
        "library commit": library_commit(),
    }


def reproduce_command(args: argparse.Namespace) -> str:
    work = str(args.work)
    if args.work.is_relative_to(REPO):
        work = args.work.relative_to(REPO).as_posix()
    parts = [
        ".venv/bin/python",
        "benchmarks/bench_site.py",
        "--work",
        work,
        "--sizes",
        ",".join(map(str, args.sizes)),
        "--repeat",
        str(args.repeat),
    ]
    if args.keep:
        parts.append("--keep")
    if args.json:
        parts.append("--json")
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(parts)}"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def size_summary(size: int, sr: SizeResult) -> dict[str, Any]:
    reps = sr.reps
    full = median([r.full.wall for r in reps])
    last = reps[-1]
    out: dict[str, Any] = {
        "versions": size,
        "shape": vars(sr.shape),
        "generate_seconds": sr.generate_seconds,
        "check": {"passed": True, "files": sr.check_files, "seconds": sr.check_seconds},
        "full": {
            "seconds": full,
            "cpu_seconds": median([r.full.cpu for r in reps]),
            "max_rss_mib": max(r.full.max_rss_mib for r in reps),
            "cli_seconds": median([float(r.full_report["seconds"]) for r in reps]),
            "before_mkdocs_seconds": median([r.full.before_mkdocs_seconds for r in reps]),
            "mkdocs_seconds": median([r.full.mkdocs_seconds for r in reps]),
            "pages": last.full_report["pages"],
            "html_pages": last.full_out.html_pages,
            "out_bytes": last.full_out.total_bytes,
            "out_files": last.full_out.files,
            "largest_page_bytes": max(r.full_out.largest_bytes for r in reps),
            "largest_page": last.full_out.largest_path,
            "largest_page_nav_bytes": last.full_out.largest_nav_bytes,
            "version_pages": last.full_out.version_pages,
            "version_page_avg_bytes": last.full_out.version_page_avg,
            "search_index_entries": last.full_out.search_entries,
            "search_index_pages": last.full_out.search_pages,
            "search_index_bytes": last.full_out.search_bytes,
        },
        "incremental": {},
        "samples": {
            "full": [r.full.wall for r in reps],
            **{f"incr_{k}": [r.incr[k].wall for r in reps] for k in last.incr},
        },
    }
    if size == GOAL_FULL_AT:
        out["full"]["goal"] = f"< {GOAL_FULL_SECONDS:.0f} s"
        out["full"]["met"] = full < GOAL_FULL_SECONDS
    out["full"]["largest_goal"] = f"< {GOAL_PAGE_BYTES // 1000} KB"
    out["full"]["largest_met"] = out["full"]["largest_page_bytes"] < GOAL_PAGE_BYTES
    for kind in last.incr:
        secs = median([r.incr[kind].wall for r in reps])
        ratio = full / secs
        entries, pages, size_b = last.incr_search[kind]
        out["incremental"][kind] = {
            "seconds": secs,
            "cpu_seconds": median([r.incr[kind].cpu for r in reps]),
            "before_mkdocs_seconds": median([r.incr[kind].before_mkdocs_seconds for r in reps]),
            "mkdocs_seconds": median([r.incr[kind].mkdocs_seconds for r in reps]),
            "written": last.incr_report[kind]["written"],
            "removed": last.incr_report[kind]["removed"],
            "pages": last.incr_report[kind]["pages"],
            "ratio": ratio,
            "goal": f">= {GOAL_INCREMENTAL_RATIO:.0f}x",
            "met": ratio >= GOAL_INCREMENTAL_RATIO,
            "new_page_in_out": all(r.incr_new_page[kind] for r in reps),
            "search_index_entries": entries,
            "search_index_pages": pages,
            "search_index_bytes": size_b,
            "largest_page_bytes": last.incr_out[kind].largest_bytes,
        }
    return out


def results(bench: Bench) -> dict[str, Any]:
    a = bench.args
    return {
        "parameters": {
            "sizes": a.sizes,
            "repeat": a.repeat,
            "work": str(a.work),
            "statistic": "median" if a.repeat > 1 else "single run",
            "caches": "full build: fresh HOME/XDG cache dir and empty OUT; incremental: the "
            "same cache dir and OUT; sync before every timed command; one untimed warm-up "
            "build",
            "shape": f"{VERSIONS_PER_COLLECTION} versions per collection, "
            f"{COLLECTIONS_PER_PROJECT} collections per project (a pipeline), one run per "
            "version using the previous collection's version of the same round, model "
            f"registry '{MODEL_REGISTRY}' with stages {', '.join(STAGES)} holding the last 3 "
            f"versions of every project's '{LINKED}'",
        },
        "sizes": {str(size): size_summary(size, sr) for size, sr in bench.results.items()},
        "machine": {
            **machine_facts(bench.cli, bench.python),
            "load average (1 min) before/after": " / ".join(f"{x:.2f}" for x in bench.loadavg),
        },
        "command": reproduce_command(a),
    }


def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render(r: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO"}
    p = r["parameters"]
    rows: list[tuple[str, ...]] = [
        (
            "versions",
            "collections",
            "runs",
            "pages (md/html)",
            "full s",
            "CPU s",
            "peak RSS",
            "OUT",
            "largest page",
            "incr log s",
            "full/log",
            "incr run s",
            "full/run",
        )
    ]
    for s in r["sizes"].values():
        f, inc = s["full"], s["incremental"]
        log, rn = inc.get("log", {}), inc.get("run", {})
        rows.append(
            (
                f"{s['versions']:,}",
                f"{s['shape']['collections']:,}",
                f"{s['shape']['runs']:,}",
                f"{f['pages']:,}/{f['html_pages']:,}",
                f"{f['seconds']:.1f}",
                f"{f['cpu_seconds']:.1f}",
                f"{f['max_rss_mib']:.0f} MiB",
                mb(f["out_bytes"]),
                kb(f["largest_page_bytes"]),
                f"{log.get('seconds', 0):.1f}",
                f"{log.get('ratio', 0):.1f}x",
                f"{rn.get('seconds', 0):.1f}",
                f"{rn.get('ratio', 0):.1f}x",
            )
        )
    goals: list[tuple[str, ...]] = [("goal", "versions", "measured", "met?")]
    for s in r["sizes"].values():
        f = s["full"]
        if "goal" in f:
            goals.append(
                (
                    f"full build {f['goal']}",
                    f"{s['versions']:,}",
                    f"{f['seconds']:.1f} s",
                    yes[f["met"]],
                )
            )
    for s in r["sizes"].values():
        f = s["full"]
        goals.append(
            (
                f"largest page {f['largest_goal']}",
                f"{s['versions']:,}",
                f"{f['largest_page_bytes']:,} B",
                yes[f["largest_met"]],
            )
        )
    for s in r["sizes"].values():
        for kind, inc in s["incremental"].items():
            goals.append(
                (
                    f"full / incremental ({kind}) {inc['goal']}",
                    f"{s['versions']:,}",
                    f"{inc['ratio']:.1f}x",
                    yes[inc["met"]],
                )
            )
    details = []
    for s in r["sizes"].values():
        f, shape = s["full"], s["shape"]
        details.append(
            f"{s['versions']:,} versions: {shape['projects']} projects, {shape['links']} links;"
            f" {shape['files']:,} registry files + {shape['blobs']:,} blobs generated in"
            f" {s['generate_seconds']:.1f} s; 'registry-tool check' passed on"
            f" {s['check']['files']:,} files in {s['check']['seconds']:.1f} s"
        )
        details.append(
            f"  full: {f['seconds']:.1f} s wall ({f['cli_seconds']:.1f} s by the CLI's own"
            f" clock), {f['cpu_seconds']:.1f} s CPU; {f['before_mkdocs_seconds']:.1f} s before"
            f" mkdocs starts (load, render, dot) + {f['mkdocs_seconds']:.1f} s in mkdocs;"
            f" {f['out_files']:,} files in OUT;"
            f" largest page {f['largest_page_bytes']:,} B {f['largest_page']}"
            f" (of which mkdocs-material nav {f['largest_page_nav_bytes']:,} B);"
            f" {f['version_pages']:,} version pages, avg {f['version_page_avg_bytes']:,.0f} B;"
            f" search index {f['search_index_entries']:,} entries from"
            f" {f['search_index_pages']:,} pages, {f['search_index_bytes']:,} B"
        )
        for kind, inc in s["incremental"].items():
            how = (
                "registry-tool log DIR --name proj000/model (no run)"
                if kind == "log"
                else "API run: use_artifact('model:latest'), log_artifact(tuned)"
            )
            details.append(
                f"  incremental {kind} [{how}]: {inc['seconds']:.1f} s wall,"
                f" {inc['cpu_seconds']:.1f} s CPU; {inc['before_mkdocs_seconds']:.1f} s before"
                f" mkdocs + {inc['mkdocs_seconds']:.1f} s in mkdocs; {inc['written']} pages written of"
                f" {inc['pages']:,}, {inc['removed']} removed; new page in OUT:"
                f" {yes[inc['new_page_in_out']]}; search index after it:"
                f" {inc['search_index_entries']:,} entries from {inc['search_index_pages']:,}"
                f" pages (full build: {f['search_index_entries']:,} from"
                f" {f['search_index_pages']:,})"
            )
    samples = []
    if p["repeat"] > 1:
        for s in r["sizes"].values():
            samples.append(
                f"samples (s) {s['versions']:,}: "
                + "; ".join(
                    f"{k} {', '.join(f'{x:.1f}' for x in v)}" for k, v in s["samples"].items()
                )
            )
    out = [
        f"registry-tool site build benchmark ({p['statistic']}"
        + (f" of {p['repeat']} repetitions" if p["repeat"] > 1 else "")
        + ")",
        "",
        *table(rows),
        "",
        *table(goals),
        "",
        *details,
        *samples,
        "",
        f"shape: {p['shape']}",
        f"caches: {p['caches']}",
        "KB = 1,000 bytes; peak RSS = the largest process of the build's tree",
        "",
        "machine: " + "; ".join(f"{k} {v}" for k, v in r["machine"].items()),
        "",
        f"reproduce: {r['command']}",
    ]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark registry-tool site build: full and incremental builds of "
        "synthetic registries of 100 to 10,000 versions.",
    )
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work dir (default %(default)s)")
    p.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help="comma-separated numbers of versions (default %(default)s)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repetitions per size, each with a fresh cache dir and OUT (median reported)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the registries and last builds")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        p.error("--sizes takes comma-separated integers, like 100,1000,10000")
    if not args.sizes or any(s < 10 for s in args.sizes):
        p.error("every size must be at least 10 versions")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if shutil.which("git") is None:
        p.error("needs git on PATH")
    if shutil.which("dot") is None:
        p.error("needs graphviz 'dot' on PATH (the site renders lineage with it)")
    args.work = args.work.expanduser().resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    say(f"work dir {args.work}; CLI {bench.cli}; sizes {args.sizes}")
    return report(bench, args.json, results, render)


if __name__ == "__main__":
    raise SystemExit(main())
