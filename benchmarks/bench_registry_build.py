"""The data ``bench_registry.py`` times itself on: a synthetic registry (every document
built with the record classes' ``to_doc()`` and ``registry_tool._yamlio.dumps``, the
hot collection's history one ``git fast-import`` stream) and the GTO repo with the same
versions and stage assignments as annotated tags."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import install_venv, registry_cmd, run, say

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

BUILD_FORMAT = 2  # bump when the layout built here changes (a kept build is then rebuilt)

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
        #    production come from their history below. Production requires canary
        #    first, and a full check judges every holder by the stage history: canary
        #    is assigned to production's link first, then moves ahead in a second commit
        #    (as it does in use), so production holds what held canary before it.
        t0 = time.perf_counter()
        ahead: list[str] = []
        for c, name in enumerate(lay.names):
            when = clock.tick()
            held = {"latest": lay.links - 1, **lay.stages[c]}
            held["canary"] = held["production"]
            for alias, k in held.items():
                if c == lay.hot_index and alias in ("canary", "production"):
                    continue
                stage = AliasRecord(alias, k, stamp(when), AUTHOR)
                self.put(registry_alias_file(REGISTRY, name, alias), stage.to_doc(), "alias")
        self.timings["write stage aliases"] = time.perf_counter() - t0
        self.commit(["registries"], f"assign stages in {lay.collections} collections", clock.tick())
        for c, name in enumerate(lay.names):
            if c == lay.hot_index:
                continue
            path = registry_alias_file(REGISTRY, name, "canary")
            moved = AliasRecord("canary", lay.stages[c]["canary"], stamp(clock.tick()), AUTHOR)
            self.put(path, moved.to_doc(), "alias")
            ahead.append(path)
        self.commit(ahead, f"canary moves ahead in {len(ahead)} collections", clock.tick())

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
        ref = f"model-registry/{REGISTRY}/{collection}:v{version}"
        promote = ["promote", ref, "--to", stage, "--pr", "--reason", "benchmark pull request"]
        out = run(
            registry_cmd(self.cli, self.root, *promote, "--json"),
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
            k = lay.stages[c]["production" if stage == "canary" else stage]
            counters[name] += 1
            message = gto_tag_message("assign", name, lay.gtover(k), stage)
            tag(f"{name}#{stage}#{counters[name]}", k, when, message)
            assignments += 1
    for c, name in enumerate(lay.names):  # canary moves ahead, as in the registry
        if c == lay.hot_index:
            continue
        k = lay.stages[c]["canary"]
        counters[name] += 1
        message = gto_tag_message("assign", name, lay.gtover(k), "canary")
        tag(f"{name}#canary#{counters[name]}", k, clock.tick(), message)
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
    seconds = install_venv(venv, "gto", python="python3")
    return seconds, version()
