"""``make demo``: the main job on the embedded default registry.

Builds a small real dataset (a deterministic two-class data set as CSV) and trains a
tiny logistic-regression model on it in pure Python, then: logs the dataset, uses it
from a training run that logs the model (lineage dataset -> run -> model), re-logs the
unchanged dataset to show dedup, sets aliases, downloads and verifies, and prints the
registry path and its ``git log --oneline``.
"""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine import Context
from registry_tool._model.governance import StageGate
from registry_tool._site.build import build
from registry_tool._store import registries
from registry_tool._store.locate import default_registry_path

PROJECT = "demo"


def make_dataset(folder: Path, *, seed: int = 7, rows: int = 400) -> None:
    """Two Gaussian blobs, split into train and validation CSVs."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    points = []
    for i in range(rows):
        label = i % 2
        cx, cy = (1.0, 1.0) if label else (-1.0, -1.0)
        points.append((round(rng.gauss(cx, 0.9), 4), round(rng.gauss(cy, 0.9), 4), label))
    split = int(rows * 0.8)
    for name, part in (("train.csv", points[:split]), ("val.csv", points[split:])):
        with open(folder / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["x", "y", "label"])
            writer.writerows(part)


def _read(path: Path) -> list[tuple[float, float, int]]:
    with open(path, newline="") as f:
        return [(float(r["x"]), float(r["y"]), int(r["label"])) for r in csv.DictReader(f)]


def train(train_rows: list[tuple[float, float, int]], epochs: int, lr: float) -> list[float]:
    """Logistic regression by gradient descent: weights [w_x, w_y, bias]."""
    w = [0.0, 0.0, 0.0]
    for _ in range(epochs):
        grad = [0.0, 0.0, 0.0]
        for x, y, label in train_rows:
            p = 1 / (1 + math.exp(-(w[0] * x + w[1] * y + w[2])))
            grad[0] += (p - label) * x
            grad[1] += (p - label) * y
            grad[2] += p - label
        w = [wi - lr * g / len(train_rows) for wi, g in zip(w, grad, strict=True)]
    return [round(v, 6) for v in w]


def accuracy(w: list[float], rows: list[tuple[float, float, int]]) -> float:
    hits = sum(((w[0] * x + w[1] * y + w[2]) > 0) == bool(label) for x, y, label in rows)
    return round(hits / len(rows), 4)


def main() -> int:
    work = Path("build") / "demo"
    data_dir = work / "data"
    make_dataset(data_dir)
    print(f"registry: {default_registry_path()}")

    # 1. A data-engineering run logs the dataset.
    with wandb.init(project=PROJECT, job_type="prepare-data") as run:
        dataset = wandb.Artifact(
            "two-blobs",
            type="dataset",
            description="Two Gaussian blobs, 400 points, 80/20 train/validation split",
            metadata={"rows": 400, "columns": ["x", "y", "label"], "seed": 7},
        )
        dataset.add_dir(data_dir)
        run.log_artifact(dataset, aliases=["stable"])
        print(
            f"logged dataset  {PROJECT}/two-blobs:{dataset.version}  digest {dataset.digest[:12]}"
        )

    # 2. Re-logging the same files creates no new version (dedup by content).
    with wandb.init(project=PROJECT, job_type="prepare-data") as run:
        again = wandb.Artifact("two-blobs", type="dataset")
        again.add_dir(data_dir)
        run.log_artifact(again)
        print(f"re-logged same  {PROJECT}/two-blobs:{again.version}  (no new version: dedup)")

    # 3. A training run uses the dataset and logs a model: dataset -> run -> model.
    config = {"epochs": 200, "lr": 0.5}
    with wandb.init(project=PROJECT, job_type="train", config=config) as run:
        data = run.use_artifact("two-blobs:stable")
        root = Path(data.download(root=str(work / "downloaded-data")))
        weights = train(_read(root / "train.csv"), run.config["epochs"], run.config["lr"])
        acc = accuracy(weights, _read(root / "val.csv"))
        model_file = work / "model.json"
        model_file.write_text(json.dumps({"weights": weights, "features": ["x", "y"]}))
        model = wandb.Artifact(
            "blob-classifier",
            type="model",
            description="Logistic regression on two-blobs",
            metadata={"accuracy": acc, "framework": "pure-python", **config},
        )
        model.add_file(str(model_file))
        run.log_artifact(model, aliases=["best"])
        print(f"logged model    {PROJECT}/blob-classifier:{model.version}  accuracy {acc}")

    # 4. Aliases for stages, then download and verify what a deployment would fetch.
    api = wandb.Api()
    chosen = api.artifact(f"{PROJECT}/blob-classifier:best")
    chosen.aliases = [*chosen.aliases, "production"]
    chosen.save()
    target = work / "deploy"
    chosen.download(root=str(target))
    chosen.verify(root=str(target))
    producer = chosen.logged_by()
    inputs = [a.name for a in producer.used_artifacts()] if producer else []
    print(
        f"aliases         {PROJECT}/blob-classifier:{chosen.version} -> {', '.join(chosen.aliases)}"
    )
    print(f"downloaded to   {target} and verified every file")
    print(
        f"lineage         {', '.join(inputs)} -> run {producer.id if producer else '?'} -> {chosen.name}"
    )

    # 5. Link the model into a model registry and promote it through gated stages.
    ctx = Context.open()
    if registries.read_config(ctx.store, ctx.store.head(), "demo-models") is None:
        promotion.create_registry(
            ctx,
            "demo-models",
            stages=["staging", "production"],
            types=["model"],
            gates={"production": StageGate(("accuracy >= 0.9",), requires_previous_stage=True)},
            description="Models of the demo, gated on validation accuracy",
        )
    linked = chosen.link("model-registry/demo-models", aliases=["candidate"])
    for stage in ("staging", "production"):
        done = api.promote(linked.qualified_name, stage, reason="make demo", mode="direct")
        gates = ", ".join(f"{r.condition} ({r.detail})" for r in done.verdict.results) or "no gates"
        print(f"promoted        {done.link.path} to {stage}: {gates}")

    # 6. The browsable registry: a static site with lineage graphs.
    report = build(Context.open(), work / "site")
    print(f"site            {report.pages} pages built; open {report.index.resolve().as_uri()}")

    registry_root = default_registry_path()
    print(f"\nThe registry is a git repo at {registry_root}:")
    sys.stdout.flush()
    subprocess.run(["git", "-C", str(registry_root), "log", "--oneline", "-n", "15"], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
