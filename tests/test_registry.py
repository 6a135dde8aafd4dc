"""Model registries: the guide's examples, links, stages, gates and protection."""

from __future__ import annotations

from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._model.governance import StageGate
from tests.helpers import declare_entities, git, write


def model_run(name: str = "sentiment-classifier", content: str = "weights", **metadata):
    write("model.pth", content)
    run = wandb.init(project="training")
    art = wandb.Artifact(name, type="model", metadata=metadata or {"accuracy": 0.94, "f1": 0.92})
    art.add_file("model.pth")
    run.log_artifact(art)
    return run, art


def test_guide_link_promote_demote_and_use(registry):
    # Link Model to Registry
    run, model_artifact = model_run()
    run.link_artifact(model_artifact, "model-registry/production-models", aliases=["staging"])
    wandb.finish()

    # Promote Model in Registry
    api = wandb.Api()
    artifact = api.artifact("model-registry/production-models/sentiment-classifier:staging")
    assert artifact.version == "v0" and sorted(artifact.aliases) == ["latest", "staging"]
    assert artifact.source_name == "training/sentiment-classifier:v0"
    artifact.link("model-registry/production-models", aliases=["production"])
    prod = api.artifact("model-registry/production-models/sentiment-classifier:production")
    assert prod.version == "v0" and prod.digest == model_artifact.digest

    # Use Model from Registry
    run = wandb.init()
    used = run.use_artifact("model-registry/production-models/sentiment-classifier:production")
    model_dir = used.download()
    assert Path(model_dir, "model.pth").read_text() == "weights"
    wandb.finish()
    doc = (registry.root / f"projects/uncategorized/runs/{run.id}.yaml").read_text()
    assert "artifact: training/sentiment-classifier" in doc
    assert "via: model-registry/production-models/sentiment-classifier:production" in doc

    # Demote from production
    artifact = api.artifact("model-registry/production-models/sentiment-classifier:production")
    artifact.aliases = ["archived"]
    artifact.save()
    again = api.artifact("model-registry/production-models/sentiment-classifier:archived")
    assert sorted(again.aliases) == ["archived", "latest"]
    with pytest.raises(wandb.NotFoundError, match="no alias 'production'"):
        api.artifact("model-registry/production-models/sentiment-classifier:production")


def test_guide_model_handoff(registry):
    declare_entities(registry.root, "ml-team")
    write("model.pth", "nlp weights")
    train_run = wandb.init(project="model-training", entity="ml-team")
    model_artifact = wandb.Artifact("nlp-model", type="model", metadata={"f1": 0.93})
    model_artifact.add_file("model.pth")
    train_run.log_artifact(model_artifact)
    train_run.link_artifact(model_artifact, "model-registry/nlp-models", aliases=["candidate"])

    eval_run = wandb.init(project="model-eval", entity="ml-team")
    model_artifact = eval_run.use_artifact("model-registry/nlp-models/nlp-model:candidate")
    metrics = {"f1": model_artifact.metadata["f1"]}
    if metrics["f1"] > 0.9:
        model_artifact.link("model-registry/nlp-models", aliases=["production"])
    wandb.finish()
    prod = wandb.Api().artifact("model-registry/nlp-models/nlp-model:production")
    assert prod.version == "v0" and sorted(prod.aliases) == ["candidate", "latest", "production"]


def test_linking_the_same_source_twice_returns_the_existing_link(registry):
    run, art = model_run()
    first = run.link_artifact(art, "model-registry/reg")
    second = run.link_artifact(art, "model-registry/reg")
    assert first.version == second.version == "v0"
    links = list((registry.root / "registries/reg/sentiment-classifier/links").iterdir())
    assert [p.name for p in links] == ["v0.yaml"]
    run, other = model_run(content="better weights")
    third = run.link_artifact(other, "model-registry/reg")
    assert third.version == "v1"
    latest = wandb.Api().artifact("model-registry/reg/sentiment-classifier:latest")
    assert latest.version == "v1" and latest.source_name == "training/sentiment-classifier:v1"


def _governed(registry, **gates: StageGate) -> Context:
    ctx = Context.open(registry.root)
    promotion.create_registry(
        ctx,
        "prod-models",
        stages=["development", "staging", "production"],
        protected=["production"],
        types=["model"],
        gates=gates or {"production": StageGate(("f1 >= 0.9",), True)},
    )
    return ctx


def test_protected_stage_is_refused_without_a_pull_request(registry):
    _governed(registry)
    run, art = model_run()
    with pytest.raises(promotion.ProtectedAliasError, match="--pr"):
        run.link_artifact(art, "model-registry/prod-models", aliases=["production"])
    assert not (registry.root / "registries/prod-models/sentiment-classifier").exists()


def test_types_are_enforced(registry):
    _governed(registry)
    write("d.csv", "x")
    run = wandb.init(project="p")
    data = wandb.Artifact("data", type="dataset")
    data.add_file("d.csv")
    run.log_artifact(data)
    with pytest.raises(wandb.ArtifactError, match="takes model artifacts, not 'dataset'"):
        run.link_artifact(data, "model-registry/prod-models")


def test_gates_and_previous_stage_decide_a_promotion(registry):
    ctx = _governed(registry, staging=StageGate(("accuracy > 0.9",)))
    run, weak = model_run(content="weak", accuracy=0.85, f1=0.8)
    run.link_artifact(weak, "model-registry/prod-models")
    with pytest.raises(promotion.GateError, match=r"accuracy > 0.9: accuracy is 0.85, needs > 0.9"):
        promotion.promote(ctx, "model-registry/prod-models/sentiment-classifier:v0", "staging")
    run, strong = model_run(content="strong", accuracy=0.95, f1=0.93)
    run.link_artifact(strong, "model-registry/prod-models")
    done = promotion.promote(
        ctx, "model-registry/prod-models/sentiment-classifier:v1", "staging", reason="eval passed"
    )
    assert done.mode == "direct" and done.previous is None and done.commit
    log = git(registry.root, "log", "-1", "--format=%B")
    assert "promote model-registry/prod-models/sentiment-classifier:v1 to staging" in log
    assert "Why: eval passed" in log and "accuracy > 0.9 -> pass" in log


def test_requires_previous_stage(registry):
    ctx = _governed(registry, production=StageGate(("f1 >= 0.9",), True))
    run, art = model_run(f1=0.95)
    run.link_artifact(art, "model-registry/prod-models")
    with pytest.raises(promotion.GateError, match="must hold 'staging' before 'production'"):
        promotion.promote(
            ctx, "model-registry/prod-models/sentiment-classifier:v0", "production", mode="pr"
        )
    promotion.promote(ctx, "model-registry/prod-models/sentiment-classifier:v0", "staging")
    done = promotion.promote(
        ctx, "model-registry/prod-models/sentiment-classifier:v0", "production"
    )
    assert done.mode == "pr"
    assert done.branch == "promote/prod-models/sentiment-classifier/production/v0"
    # The branch holds the move; the current branch does not.
    assert not (
        registry.root / "registries/prod-models/sentiment-classifier/aliases/production.yaml"
    ).exists()
    shown = git(
        registry.root,
        "show",
        f"{done.branch}:registries/prod-models/sentiment-classifier/aliases/production.yaml",
    )
    assert "version: 0" in shown


def test_unlink_removes_the_version_and_its_aliases_but_keeps_history(registry):
    run, art = model_run()
    linked = run.link_artifact(art, "model-registry/reg", aliases=["candidate"])
    linked.unlink()
    api = wandb.Api()
    with pytest.raises(wandb.NotFoundError, match="was unlinked"):
        api.artifact("model-registry/reg/sentiment-classifier:v0")
    with pytest.raises(wandb.NotFoundError, match="no alias 'candidate'"):
        api.artifact("model-registry/reg/sentiment-classifier:candidate")
    base = registry.root / "registries/reg/sentiment-classifier"
    assert (base / "links/v0.yaml").is_file() and (base / "unlinked/v0.yaml").is_file()
    relinked = run.link_artifact(art, "model-registry/reg")
    assert relinked.version == "v1"
    from registry_tool import _verbs as ops

    assert ops.check(registry=registry.root).ok


def test_api_promote_is_the_python_equivalent(registry):
    _governed(registry, staging=StageGate(("accuracy > 0.9",)))
    run, art = model_run(accuracy=0.95, f1=0.95)
    run.link_artifact(art, "model-registry/prod-models")
    done = wandb.Api().promote(
        "model-registry/prod-models/sentiment-classifier:v0", "staging", reason="ok"
    )
    assert done.mode == "direct" and done.stage == "staging"
    staged = wandb.Api().artifact("model-registry/prod-models/sentiment-classifier:staging")
    assert staged.version == "v0"
