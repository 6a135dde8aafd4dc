"""The registries ``bench_site.py`` builds sites of: ``versions`` versions written
directly as the files the library writes (records from ``registry_tool._model``,
``to_doc()``, ``yamlio.dumps``, blobs in ``.blobs`` under their SHA-256) on top of
``registry-tool init``, in three commits (see bench_site.py for the shape)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import GIT_IDENTITY, run

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
BASE_TIME = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


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
