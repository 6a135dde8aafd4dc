"""A small, realistic registry for the site's tests: dataset -> runs -> models, a model
registry with stages and a gate, and hostile text wherever a user can write some."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._model.governance import StageGate
from registry_tool._store import RegistryStore
from tests.helpers import isolated_registry, write

HOSTILE = {
    "script": "<script>window.__pwned = 1</script>",
    "img": '<img src=x onerror="window.__pwned=1">',
    "link": "[click](javascript:window.__pwned=1)",
    "long": "x" * 10_000,
    "<b>key</b>": "value",
}


@pytest.fixture
def showcase(registry):
    """dataset -> train run -> model, a model registry with stages, hostile metadata."""
    write("data/train.csv", "x,y\n1,2\n")
    with wandb.init(project="demo", job_type="prepare", id="prep0000") as run:
        data = wandb.Artifact(
            "two-blobs",
            type="dataset",
            description="Points. <script>window.__pwned=1</script> [bad](javascript:alert(1)) **bold**",
            metadata=HOSTILE,
        )
        data.add_file("data/train.csv")
        run.log_artifact(data)
    for i, accuracy in enumerate((0.81, 0.9, 0.95)):
        write("model.bin", f"weights {i}")
        with wandb.init(
            project="demo",
            job_type="train",
            id=f"train{i:03d}",
            config={"lr": '<img src=x onerror="window.__pwned=1">'},
        ) as run:
            run.use_artifact("two-blobs:latest")
            model = wandb.Artifact("classifier", type="model", metadata={"accuracy": accuracy})
            model.add_file("model.bin")
            run.log_artifact(model)
    ctx = Context.open(registry.root)
    promotion.create_registry(
        ctx,
        "prod",
        stages=["staging", "production"],
        gates={"production": StageGate(("accuracy >= 0.9",))},
        description="Serving models <script>window.__pwned=1</script>",
    )
    api = wandb.Api()
    api.artifact("demo/classifier:v2").link("model-registry/prod", aliases=["staging"])
    api.promote("model-registry/prod/classifier:v0", "production", mode="direct")
    return registry


@contextmanager
def showcase_registry(base: Path) -> Iterator[RegistryStore]:
    """The showcase registry under ``base``, for a fixture that builds one site for a
    whole module (``isolated_registry``)."""
    with isolated_registry(base) as store:
        yield showcase.__wrapped__(store)
