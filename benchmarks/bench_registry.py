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
  stage (plus ``latest``) assigned in every collection;
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
directly and committed in three big commits with plain ``git add``/``git commit``; the
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
import contextlib
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import children_cpu, find_cli, first_line, report, say

from registry_tool import _schemas as schemas
from registry_tool import _yamlio as yamlio
from registry_tool._model.gates import check_gates
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.layout import (
    alias_file,
    collection_file,
    link_file,
    model_registry_file,
    registry_alias_file,
    version_file,
)
from registry_tool._model.manifest import Entry, artifact_digest
from registry_tool._model.records import AliasRecord, CollectionRecord, VersionRecord
from registry_tool._promotion import StageCheck, promotion_message

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = REPO / "benchmarks" / ".work-registry"
BUILD_FORMAT = 1  # bump when the layout built here changes (a kept build is then rebuilt)

REGISTRY = "models"
PROJECT = "bench"
STAGES = ("dev", "qa", "staging", "canary", "production")
PROTECTED = ("staging", "canary", "production")
GATE = "f1 >= 0.5"
AUTHOR_NAME = "Bench Bot"
AUTHOR_EMAIL = "bench@example.invalid"
AUTHOR = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>"
ORG = "bench"
MERGE_EVERY = 4  # one pull request in four lands as a merge commit, the rest squashed
HOUR = 3600

GOAL_CHECK_PR = 2.0
GOAL_HISTORY = 1.0


def find_python(cli: Path) -> Path:
    """The interpreter of the venv the CLI belongs to (for the ``python -c`` timing)."""
    candidate = cli.parent / "python"
    return candidate if candidate.exists() else Path(sys.executable)


# -- environment and subprocesses ----------------------------------------------------


def isolated_env(home: Path) -> dict[str, str]:
    """os.environ with HOME and the XDG dirs inside ``home``, registry overrides unset."""
    env = dict(os.environ)
    for var in (
        "REGISTRY_TOOL_DIR",
        "REGISTRY_TOOL_CACHE_DIR",
        "XDG_CONFIG_HOME",
        "GITHUB_ACTIONS",
        "GITHUB_EVENT_NAME",
        "GITHUB_STEP_SUMMARY",
    ):
        env.pop(var, None)
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    for d in (env["XDG_DATA_HOME"], env["XDG_CACHE_HOME"]):
        Path(d).mkdir(parents=True, exist_ok=True)
    return env


def git_env(env: dict[str, str], when: int) -> dict[str, str]:
    """``env`` with a fixed author/committer and date (a reproducible history)."""
    return {
        **env,
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
    }


def run(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
) -> str:
    """Run a command, fail loudly on a non-zero exit, return its stdout."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, input=input, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"bench_registry: command failed (exit {proc.returncode}): {shlex.join(cmd)}\n"
            + proc.stdout.decode("utf-8", "replace")[-2000:]
            + proc.stderr.decode("utf-8", "replace")[-2000:]
        )
    return proc.stdout.decode("utf-8", "replace")


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one command."""
    cpu0, start = children_cpu(), time.perf_counter()
    out = run(cmd, env=env, cwd=cwd)
    return time.perf_counter() - start, children_cpu() - cpu0, out


def stamp(epoch: int) -> str:
    """An ISO 8601 UTC time as the library writes it (``now()``)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def fi_data(data: bytes) -> bytes:
    """A ``data`` block of a git fast-import stream."""
    return b"data %d\n%s\n" % (len(data), data)


def fi_ident(kind: str, when: int) -> bytes:
    return f"{kind} {AUTHOR} {when} +0000\n".encode()


# -- the synthetic registry ----------------------------------------------------------


@dataclass
class Layout:
    """Names and choices shared by the registry build, the GTO build and the checks."""

    collections: int
    links: int
    moves: int
    seed: int = 7

    def __post_init__(self) -> None:
        width = max(4, len(str(self.collections - 1)))
        self.names = [f"model-{c:0{width}d}" for c in range(self.collections)]
        self.hot_index = max(1, self.collections // 2)
        self.hot = self.names[self.hot_index]
        self.pr_index = 0  # the collection whose staging the one-alias PR moves
        self.eligible = [k for k in range(self.links) if self.f1(k) >= 0.5]
        rng = random.Random(self.seed)
        # stage -> link, per collection (ordinary collections: one assignment each)
        self.stages: list[dict[str, int]] = []
        for _ in range(self.collections):
            e = self.eligible
            p = rng.randrange(max(1, len(e) - 3))
            self.stages.append(
                {
                    "dev": self.links - 1,
                    "qa": e[min(p + 3, len(e) - 1)],
                    "staging": e[min(p + 2, len(e) - 1)],
                    "canary": e[min(p + 1, len(e) - 1)],
                    "production": e[p],
                }
            )
        # the hot collection: production (and canary before it) moves to targets[i]
        self.targets: list[int] = []
        current = None
        for _ in range(self.moves):
            choice = rng.choice([k for k in self.eligible if k != current])
            self.targets.append(choice)
            current = choice
        hot = self.stages[self.hot_index]
        hot["canary"] = hot["production"] = self.targets[-1]
        # the hot PR: production back to a link that held canary before, not now
        self.hot_pr_target = next(t for t in self.targets if t != self.targets[-1])
        pr = self.stages[self.pr_index]
        self.pr_target = pr["qa"] if pr["qa"] != pr["staging"] else (pr["staging"] + 1) % self.links

    def f1(self, k: int) -> float:
        """Source version K's f1: 0.40 for v0 up to 0.95 for the last (a few fail the gate)."""
        return round(0.40 + 0.55 * k / max(self.links - 1, 1), 4)

    def gtover(self, k: int) -> str:
        return f"v1.0.{k}"


class Clock:
    """Synthetic event times (epoch seconds), increasing."""

    def __init__(self, start: int) -> None:
        self.now = start

    def tick(self, seconds: int = 1) -> int:
        self.now += seconds
        return self.now


def entries_for(name: str, k: int) -> list[Entry]:
    def digest(what: str) -> str:
        return "sha256:" + hashlib.sha256(f"{name}:v{k}:{what}".encode()).hexdigest()

    out = [Entry(path="model.safetensors", digest=digest("model"), size=40_000_000 + 1000 * k)]
    if k % 2:
        out.insert(0, Entry(path="config.json", digest=digest("config"), size=512 + k))
    return out


class _Author:
    """What ``promotion_message`` needs of a Context."""

    def author(self) -> str:
        return AUTHOR


class RegistryBuilder:
    def __init__(self, root: Path, layout: Layout, cli: Path, env: dict[str, str]) -> None:
        self.root = root
        self.layout = layout
        self.cli = cli
        self.env = env
        self.sources: dict[tuple[str, int], VersionRecord] = {}
        self.link_records: dict[tuple[str, int], LinkRecord] = {}
        self.validated: set[str] = set()
        self.files = 0
        self.timings: dict[str, float] = {}

    def put(self, rel: str, doc: dict[str, Any], kind: str) -> None:
        if kind not in self.validated:  # one of each kind here; 'check' validates all
            schemas.validate(doc, kind, rel)
            self.validated.add(kind)
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(yamlio.dumps(doc))
        self.files += 1

    def git(self, *args: str, when: int, input: bytes | None = None) -> str:
        return run(
            ["git", "-c", "gc.auto=0", *args],
            env=git_env(self.env, when),
            cwd=self.root,
            input=input,
        )

    def commit(self, paths: list[str], message: str, when: int) -> None:
        start = time.perf_counter()
        self.git("add", "--", *paths, when=when)
        self.git("commit", "-q", "-m", message, when=when)
        self.timings[f"git add + commit: {message}"] = time.perf_counter() - start

    def build(self) -> None:
        lay = self.layout
        start_epoch = int(time.time()) - 30 * 24 * HOUR
        clock = Clock(start_epoch)
        t0 = time.perf_counter()
        run(
            [str(self.cli), "init", str(self.root), "--name", "bench"],
            env=git_env(self.env, clock.tick()),
        )
        self.timings["registry-tool init"] = time.perf_counter() - t0

        # 1. source artifacts: artifact.yaml, versions/vK.yaml, aliases/latest.yaml
        t0 = time.perf_counter()
        for name in lay.names:
            created = clock.tick()
            self.put(
                collection_file(PROJECT, name),
                CollectionRecord(PROJECT, name, "model", stamp(created)).to_doc(),
                "collection",
            )
            for k in range(lay.links):
                entries = entries_for(name, k)
                record = VersionRecord(
                    project=PROJECT,
                    name=name,
                    version=k,
                    type="model",
                    digest=artifact_digest(entries),
                    created_at=stamp(created + k),
                    entries=tuple(entries),
                    metadata={"f1": lay.f1(k), "epoch": k},
                )
                self.sources[(name, k)] = record
                self.put(version_file(PROJECT, name, k), record.to_doc(), "version")
            latest = AliasRecord("latest", lay.links - 1, stamp(created + lay.links), AUTHOR)
            self.put(alias_file(PROJECT, name, "latest"), latest.to_doc(), "alias")
        self.timings["write source artifacts"] = time.perf_counter() - t0
        self.commit(
            ["projects"],
            f"log {lay.collections} artifacts x {lay.links} versions",
            clock.tick(),
        )

        # 2. the model registry and its links
        t0 = time.perf_counter()
        config = ModelRegistryConfig(
            name=REGISTRY,
            created_at=stamp(clock.tick()),
            stages=STAGES,
            protected=PROTECTED,
            types=("model",),
            gates={"production": StageGate((GATE,), requires_previous_stage=True)},
            description="synthetic registry for benchmarks/bench_registry.py",
        )
        self.config = config
        self.put(model_registry_file(REGISTRY), config.to_doc(), "model-registry")
        for name in lay.names:
            linked = clock.tick()
            for k in range(lay.links):
                source = self.sources[(name, k)]
                link = LinkRecord(
                    registry=REGISTRY,
                    collection=name,
                    version=k,
                    project=PROJECT,
                    name=name,
                    source_version=k,
                    digest=source.digest,
                    linked_at=stamp(linked + k),
                    linked_by=AUTHOR,
                )
                self.link_records[(name, k)] = link
                self.put(link_file(REGISTRY, name, k), link.to_doc(), "link")
        self.timings["write links"] = time.perf_counter() - t0
        self.commit(
            ["registries"],
            f"registry create {REGISTRY}; link {lay.collections} x {lay.links} versions",
            clock.tick(),
        )

        # 3. stage aliases (and latest) in every collection; the hot one's canary and
        #    production come from their history below
        t0 = time.perf_counter()
        for c, name in enumerate(lay.names):
            when = clock.tick()
            held = {"latest": lay.links - 1, **lay.stages[c]}
            for alias, k in held.items():
                if c == lay.hot_index and alias in ("canary", "production"):
                    continue
                record = AliasRecord(alias, k, stamp(when), AUTHOR)
                self.put(registry_alias_file(REGISTRY, name, alias), record.to_doc(), "alias")
        self.timings["write stage aliases"] = time.perf_counter() - t0
        self.commit(["registries"], f"assign stages in {lay.collections} collections", clock.tick())

        # 4. the hot collection's history, 2 x moves commits (plus merges)
        t0 = time.perf_counter()
        self.hot_history(clock)
        self.timings["hot history (fast-import)"] = time.perf_counter() - t0

        # 5. pack, as a clone is
        t0 = time.perf_counter()
        self.git("gc", "--quiet", when=clock.tick())
        self.timings["git gc"] = time.perf_counter() - t0
        status = self.git("status", "--porcelain", when=clock.now)
        if status.strip():
            raise SystemExit(f"bench_registry: the working tree is not clean:\n{status[:2000]}")

    def hot_history(self, clock: Clock) -> None:
        """Each move: canary to the target, then production to it, each its own PR."""
        lay = self.layout
        name = lay.hot
        head = self.git("rev-parse", "HEAD", when=clock.now).strip()
        stream = bytearray()
        mark = 0
        main_mark: str = head
        held: dict[str, int | None] = {"canary": None, "production": None}
        pr_number = 100
        branches = []
        for i, target in enumerate(lay.targets):
            link = self.link_records[(name, target)]
            source = self.sources[(name, target)]
            for stage in ("canary", "production"):
                when = clock.tick(HOUR if stage == "canary" else HOUR // 2)
                pr_number += 1
                reason = f"move {i + 1} of {lay.moves}: v{target} to {stage}"
                record = AliasRecord(stage, target, stamp(when), AUTHOR, None, reason)
                data = yamlio.dumps(record.to_doc())
                if i == 0 and stage == "canary":
                    schemas.validate(record.to_doc(), "alias", "hot")
                path = registry_alias_file(REGISTRY, name, stage)
                gate = self.config.gate(stage)
                results = check_gates(list(gate.conditions), source.metadata)
                previous = (
                    self.config.previous_stage(stage) if gate.requires_previous_stage else None
                )
                verdict = StageCheck(stage, results, previous, True if previous else None)
                message = promotion_message(
                    _Author(),  # type: ignore[arg-type]
                    link,
                    source,
                    stage,
                    verdict,
                    held[stage],
                    reason,
                )
                file_cmd = b"M 100644 inline %s\n%s" % (path.encode(), fi_data(data))
                branch = f"promote/{REGISTRY}/{name}/{stage}/v{target}"
                if pr_number % MERGE_EVERY:
                    subject, _, body = message.partition("\n")
                    squash = f"{subject} (#{pr_number}){_}{body}"
                    mark += 1
                    stream += b"commit refs/heads/main\nmark :%d\n" % mark
                    stream += fi_ident("author", when) + fi_ident("committer", when)
                    stream += fi_data(squash.encode())
                    stream += b"from %s\n" % main_mark.encode() + file_cmd
                    main_mark = f":{mark}"
                else:
                    mark += 1
                    branch_mark = f":{mark}"
                    stream += b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), mark)
                    stream += fi_ident("author", when - 600) + fi_ident("committer", when - 600)
                    stream += fi_data(message.encode())
                    stream += b"from %s\n" % main_mark.encode() + file_cmd
                    mark += 1
                    merge = (
                        f"Merge pull request #{pr_number} from {ORG}/{branch}\n\n"
                        f"Promote {REGISTRY}/{name} v{target} to {stage}"
                    )
                    stream += b"commit refs/heads/main\nmark :%d\n" % mark
                    stream += fi_ident("author", when) + fi_ident("committer", when)
                    stream += fi_data(merge.encode())
                    stream += b"from %s\nmerge %s\n" % (main_mark.encode(), branch_mark.encode())
                    stream += file_cmd
                    main_mark = f":{mark}"
                    branches.append(branch)
                held[stage] = target
                # the working tree ends as the last commit: write the file itself too
                (self.root / path).parent.mkdir(parents=True, exist_ok=True)
                (self.root / path).write_bytes(data)
        stream += b"done\n"
        self.git("fast-import", "--quiet", "--done", when=clock.now, input=bytes(stream))
        if branches:
            deletes = "".join(f"delete refs/heads/{b}\n" for b in sorted(set(branches)))
            self.git("update-ref", "--stdin", when=clock.now, input=deletes.encode())
        # fast-import moved main; bring the index to it (the files are already there)
        self.git("reset", "--quiet", when=clock.now)
        self.merges = len(branches)
        self.history_commits = mark

    def promote_pr(self, collection: str, version: int, stage: str) -> str:
        """``registry-tool promote --pr``: the branch it made."""
        t0 = time.perf_counter()
        out = run(
            [
                str(self.cli),
                "--registry",
                str(self.root),
                "promote",
                f"model-registry/{REGISTRY}/{collection}:v{version}",
                "--to",
                stage,
                "--pr",
                "--reason",
                "benchmark pull request",
                "--json",
            ],
            env=git_env(self.env, int(time.time())),
            cwd=self.root,
        )
        self.timings[f"registry-tool promote --pr ({collection} {stage})"] = (
            time.perf_counter() - t0
        )
        found = json.loads(out)
        if not found.get("branch"):
            raise SystemExit(f"bench_registry: promote made no branch: {out}")
        return str(found["branch"])


# -- GTO -----------------------------------------------------------------------------


def gto_tag_message(action: str, name: str, version: str, stage: str | None = None) -> str:
    """What ``gto register`` / ``gto assign`` annotate their tags with."""
    if action == "register":
        return f"Registering artifact {name} version {version}"
    return f"Assigning stage {stage} to artifact {name} version {version}"


def build_gto_repo(root: Path, layout: Layout, env: dict[str, str]) -> dict[str, int]:
    """A git repo with GTO's tags for the same versions and stage assignments."""
    lay = layout
    run(["git", "init", "--quiet", "--initial-branch=main", str(root)], env=env)
    start = int(time.time()) - 30 * 24 * HOUR
    clock = Clock(start)
    stream = bytearray()
    commit_time = {}
    for k in range(lay.links):  # one commit per version number, like one training round
        when = clock.tick(60)
        commit_time[k] = when
        stream += b"commit refs/heads/main\nmark :%d\n" % (k + 1)
        stream += fi_ident("author", when) + fi_ident("committer", when)
        stream += fi_data(f"training round {k}".encode())
        stream += b"M 100644 inline rounds/round-%d.txt\n" % k
        stream += fi_data(f"round {k}\n".encode())
    tags = 0

    def tag(name: str, k: int, when: int, message: str) -> None:
        nonlocal stream, tags
        stream += b"tag %s\nfrom :%d\n" % (name.encode(), k + 1)
        stream += fi_ident("tagger", when)
        stream += fi_data(message.encode())
        tags += 1

    clock.tick(HOUR)
    for name in lay.names:
        when = clock.tick()
        for k in range(lay.links):
            version = lay.gtover(k)
            tag(f"{name}@{version}", k, when + k, gto_tag_message("register", name, version))
    clock.tick(lay.links + HOUR)
    assignments = 0
    counters = dict.fromkeys(lay.names, 0)
    for c, name in enumerate(lay.names):
        when = clock.tick()
        for stage in STAGES:
            if c == lay.hot_index and stage in ("canary", "production"):
                continue
            k = lay.stages[c][stage]
            counters[name] += 1
            message = gto_tag_message("assign", name, lay.gtover(k), stage)
            tag(f"{name}#{stage}#{counters[name]}", k, when, message)
            assignments += 1
    for target in lay.targets:
        for stage in ("canary", "production"):
            when = clock.tick(HOUR if stage == "canary" else HOUR // 2)
            counters[lay.hot] += 1
            message = gto_tag_message("assign", lay.hot, lay.gtover(target), stage)
            tag(f"{lay.hot}#{stage}#{counters[lay.hot]}", target, when, message)
            assignments += 1
    stream += b"done\n"
    run(["git", "fast-import", "--quiet", "--done"], env=env, cwd=root, input=bytes(stream))
    run(["git", "reset", "--quiet", "--hard"], env=env, cwd=root)
    run(["git", "pack-refs", "--all"], env=env, cwd=root)
    run(["git", "gc", "--quiet"], env=env, cwd=root)
    return {"tags": tags, "assignment_tags": assignments, "commits": lay.links}


def install_gto(venv: Path) -> tuple[float | None, str]:
    """pip install gto into its own venv (reused when it is there); seconds, version."""
    gto = venv / "bin" / "gto"

    def version() -> str:  # "GTO Version: 1.10.1" after an emoji
        return run([str(gto), "--version"]).strip().rpartition(":")[2].strip()

    if gto.exists():
        return None, version()
    say(f"installing gto into {venv} (python3 -m venv + pip install gto)")
    start = time.perf_counter()
    run(["python3", "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "gto"])
    return time.perf_counter() - start, version()


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
        self.python = find_python(self.cli)
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
        marker = folder / ".git" / "bench-build.json"
        if not marker.is_file():
            return None
        found: dict[str, Any] = json.loads(marker.read_text())
        return found if found.get("params") == self.params() else None

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
        env = isolated_env(self.homes / "build")
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
        marker = {"params": self.params(), "facts": facts}
        (self.registry / ".git" / "bench-build.json").write_text(json.dumps(marker, indent=2))
        self.setup["registry"] = {**facts, "reused": False}
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
        env = git_env(isolated_env(self.homes / "gto-build"), int(time.time()))
        start = time.perf_counter()
        facts: dict[str, Any] = dict(build_gto_repo(self.gto_repo, self.layout, env))
        facts["seconds"] = time.perf_counter() - start
        marker = {"params": self.params(), "facts": facts}
        (self.gto_repo / ".git" / "bench-build.json").write_text(json.dumps(marker, indent=2))
        self.setup["gto_repo"] = {**facts, "reused": False}
        say(f"GTO repo built in {facts['seconds']:.1f} s ({facts['tags']} annotated tags)")

    # -- measuring ---------------------------------------------------------------------

    def define(self) -> None:
        lay = self.layout
        reg = self.setup["registry"]
        rt = [str(self.cli), "--registry", str(self.registry)]
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
            env = isolated_env(self.homes / f"warmup-{m.key}")
            m.out = run(m.cmd, env=env, cwd=m.cwd)
        self.verify()
        self.loadavg.append(os.getloadavg()[0])
        for rep in range(self.args.repeat):
            for m in self.measures.values():
                env = isolated_env(self.homes / f"rep{rep}-{m.key}")
                secs, cpu, _ = timed(m.cmd, env, m.cwd)
                m.cold_s.append(secs)
                m.cpu_s.append(cpu)
                if m.warm:
                    secs, _, _ = timed(m.cmd, env, m.cwd)
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
        if self.args.keep:
            say(f"--keep: leaving the registry, the GTO repo and venv under {self.work}")
            return
        for sub in (self.registry, self.gto_repo, self.gto_venv, self.homes):
            if sub.exists():
                shutil.rmtree(sub)
        with contextlib.suppress(OSError):
            self.work.rmdir()
        say(f"deleted the work dir {self.work}")


def dir_size(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


# -- reporting -----------------------------------------------------------------------


def machine_facts(cli: Path) -> dict[str, str]:
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
        "python": f"{platform.python_version()} ({sys.executable})",
        "git": first_line(["git", "--version"]),
        "registry-tool": first_line([str(cli), "--version"]),
    }


def library_state() -> str:
    """Which registry-tool code ran: the repo's HEAD and whether registry_tool/ differs."""
    head = first_line(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"])
    proc = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "registry_tool", "schemas"],
        capture_output=True,
        text=True,
        check=False,
    )
    changed = len(proc.stdout.splitlines())
    return f"{head}" + (f" + {changed} uncommitted changes" if changed else " (clean)")


def reproduce_command(args: argparse.Namespace) -> str:
    try:
        work = os.path.relpath(args.work, REPO)
    except ValueError:
        work = str(args.work)
    parts = [
        ".venv/bin/python",
        "benchmarks/bench_registry.py",
        "--work",
        work,
        "--collections",
        str(args.collections),
        "--links",
        str(args.links),
        "--moves",
        str(args.moves),
        "--repeat",
        str(args.repeat),
    ]
    for flag in ("skip_gto", "keep", "json"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(parts)}"


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


# registry-tool row -> (GTO row it is compared with, goal in seconds)
PAIRS: dict[str, tuple[str | None, float | None]] = {
    "check_pr": (None, GOAL_CHECK_PR),
    "check_pr_hot": (None, GOAL_CHECK_PR),
    "check_full": (None, None),
    "history_stage": ("gto_history", GOAL_HISTORY),
    "history_all": ("gto_history", None),
    "resolve": ("gto_show_one", None),
    "ls": ("gto_show_all", None),
}


def results(bench: Bench) -> dict[str, Any]:
    a, lay = bench.args, bench.layout
    rows = []
    for key, (other, goal) in PAIRS.items():
        m = bench.measures[key]
        cold = med(m.cold_s)
        assert cold is not None
        base = bench.measures.get(other) if other else None
        base_s = med(base.cold_s) if base else None
        row = {
            "key": key,
            "operation": m.operation,
            "seconds": cold,
            "warm_seconds": med(m.warm_s),
            "cpu_seconds": med(m.cpu_s),
            "samples": m.cold_s,
            "warm_samples": m.warm_s,
            "baseline": base.operation if base else None,
            "baseline_seconds": base_s,
            "baseline_samples": base.cold_s if base else None,
            "ratio": cold / base_s if base_s else None,
            "goal": f"< {goal:g} s" if goal else None,
            "met": cold < goal if goal else None,
        }
        rows.append(row)
    return {
        "parameters": {
            "collections": lay.collections,
            "links_per_collection": lay.links,
            "links": lay.collections * lay.links,
            "hot_collection": lay.hot,
            "moves": lay.moves,
            "repeat": a.repeat,
            "statistic": "median" if a.repeat > 1 else "single run",
            "work": str(a.work),
            "caches": "each repetition a fresh HOME/XDG_CACHE_HOME: 'seconds' is the cold run "
            "(empty document cache, what CI sees), 'warm' a second run on the cache it left; "
            "one untimed warm-up run of every command before timing",
        },
        "rows": rows,
        "setup": bench.setup,
        "machine": {
            **machine_facts(bench.cli),
            "gto": (bench.setup.get("gto_install") or {}).get("version", "skipped"),
            "load average (1 min) before/after": " / ".join(f"{x:.2f}" for x in bench.loadavg),
            "registry-tool code (start -> end)": " -> ".join(bench.library),
        },
        "command": reproduce_command(a),
    }


def render(r: dict[str, Any]) -> str:
    yes = {True: "yes", False: "NO", None: "-"}

    def s(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    table = [("operation", "cold s", "warm s", "GTO s", "ratio", "goal", "met?")]
    for row in r["rows"]:
        table.append(
            (
                row["operation"],
                s(row["seconds"]),
                s(row["warm_seconds"]),
                s(row["baseline_seconds"]),
                f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-",
                row["goal"] or "-",
                yes[row["met"]],
            )
        )
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    lines = []
    for i, cells in enumerate(table):
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    p, setup = r["parameters"], r["setup"]
    reg = setup["registry"]
    paired: dict[str, list[str]] = {}  # GTO command -> the rows it is compared with
    for row in r["rows"]:
        if row["baseline"]:
            paired.setdefault(row["baseline"], []).append(row["key"])
    out = [
        f"registry-tool model-registry benchmark ({p['statistic']}"
        + (f" of {p['repeat']} repetitions" if p["repeat"] > 1 else "")
        + f"): {p['collections']} collections x {p['links_per_collection']} links"
        f" = {p['links']} links, hot collection {p['hot_collection']} with {p['moves']} moves",
        "",
        *lines,
        "",
        f"(*) the production gate needs the link to have held canary: the check reads the"
        f" canary history ({p['moves']} moves) of {p['hot_collection']}",
        "GTO s: the cold median of "
        + "; ".join(f"`{gto}` next to {', '.join(keys)}" for gto, keys in paired.items())
        + "; ratio = registry-tool cold / GTO (below 1: registry-tool is faster)",
        "CPU seconds (cold, children included): "
        + "; ".join(f"{row['key']} {row['cpu_seconds']:.2f}" for row in r["rows"]),
        f"caches: {p['caches']}",
    ]
    if p["repeat"] > 1:
        out.append(
            "samples (cold s): "
            + "; ".join(
                f"{row['key']} " + ", ".join(f"{x:.2f}" for x in row["samples"])
                for row in r["rows"]
            )
        )
    reused = " (reused from a kept build)" if reg.get("reused") else ""
    out += [
        "",
        f"setup{reused}: registry built in {reg['seconds']:.1f} s: {reg['files_written']} files,"
        f" {reg['commits_on_main']} commits on main; the hot history is {2 * p['moves']} moves"
        f" in {reg['hot_history_commits']} commits ({reg['hot_merge_commits']} PR merge commits"
        f" and their branch commits); .git {reg['pack_mib']} MiB;"
        " steps: " + "; ".join(f"{k} {v:.1f} s" for k, v in reg["steps"].items()),
        f"PR branches: {reg['staging_branch']}, {reg['hot_branch']}; files checked: "
        + ", ".join(f"{k} {v}" for k, v in setup.get("checked_files", {}).items()),
    ]
    if "gto_repo" in setup:
        inst, repo = setup["gto_install"], setup["gto_repo"]
        installed = (
            f"installed in {inst['seconds']:.1f} s" if inst["seconds"] is not None else "reused"
        )
        out.append(
            f"GTO {inst['version']} ({installed}); repo built in {repo['seconds']:.1f} s"
            + (" (reused)" if repo.get("reused") else "")
            + f": {repo['commits']} commits, {repo['tags']} annotated tags"
            f" ({repo['assignment_tags']} stage assignments), refs packed; verified: gto show"
            f" --json has every artifact, the latest version and the stage holders of"
            f" {', '.join(setup['gto_sample_checked'])}; gto history lists"
            f" {setup['gto_history_events']} events"
        )
    out += [
        "",
        "machine: " + "; ".join(f"{k} {v}" for k, v in r["machine"].items()),
        "",
        f"reproduce: {r['command']}",
    ]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark model registries: PR check, full check, stage history, "
        "resolution and listing, against GTO's git tags.",
    )
    p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work dir (default %(default)s)")
    p.add_argument("--collections", type=int, default=1000, help="registry collections")
    p.add_argument("--links", type=int, default=20, help="links (versions) per collection")
    p.add_argument("--moves", type=int, default=200, help="moves of the hot collection's stage")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each command (median)")
    p.add_argument("--skip-gto", action="store_true", help="do not install or time GTO")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep (and reuse) the built repos")
    args = p.parse_args(argv)
    minimum = {"collections": 2, "links": 3, "moves": 2, "repeat": 1}
    for name, low in minimum.items():
        if getattr(args, name) < low:
            p.error(f"--{name} must be at least {low}")
    if shutil.which("git") is None:
        p.error("needs git on PATH")
    args.work = args.work.expanduser().resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    say(f"work dir {args.work}; CLI {bench.cli}")
    return report(bench, args.json, results, render)


if __name__ == "__main__":
    raise SystemExit(main())
