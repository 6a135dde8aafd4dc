"""The examples of the W&B Artifacts guide (/work/shared/reference/wandb-artifacts-guide.md),
run with ``import registry_tool as wandb``.

Each test copies one example as literally as possible, creates the files it expects and
defines the helpers it calls as tiny local functions (placeholders only where the guide
leaves them undefined, such as ``train_model()``). Every section is here: cloud
references are served on 127.0.0.1 (S3 by SeaweedFS, GCS by an emulator, HTTP by a file
server standing in for ``https://example.com``), and the W&B UI steps are the CLI
(``registry-tool registry create``, ``registry-tool show``, ``registry-tool site build``).
``torch`` is not installed: ``torch.save``/``torch.load`` are local stand-ins writing and
reading plain bytes. pandas is a dev dependency: the guide's pandas code runs as written.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

import registry_tool
import registry_tool as wandb
from tests.helpers import cli_out, declare_entities, write
from tests.refservers import FileServer, GcsEmulator

# -- stand-ins for the libraries and helpers the guide assumes -----------------------------


class FakeModel:
    """What ``train_model()`` returns: something with a ``state_dict``."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def state_dict(self) -> dict[str, list[float]]:
        return {"fc.weight": list(self.weights)}

    def eval(self) -> FakeModel:
        self.training = False
        return self


def _torch_save(state: dict[str, Any], path: str) -> None:
    # torch is not installed: write the "state dict" as plain bytes.
    Path(path).write_bytes(b"FAKE-PTH\n" + json.dumps(state, sort_keys=True).encode())


def _torch_load(path: str) -> FakeModel:
    # What _torch_save wrote, back as a model.
    header, _, body = Path(path).read_bytes().partition(b"\n")
    assert header == b"FAKE-PTH", f"{path} is not a saved model"
    return FakeModel(json.loads(body)["fc.weight"])


torch = SimpleNamespace(save=_torch_save, load=_torch_load)


def train_model(data: Any = None) -> FakeModel:
    rows = len(data) if data is not None else 3
    return FakeModel([0.5, float(rows)])


def train(data: Any) -> FakeModel:
    return train_model(data)


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a CSV file, for checks outside the guide's own code."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_data(directory: str) -> dict[str, bytes]:
    """Every file under a downloaded artifact directory, by relative path."""
    root = Path(directory)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_files(registry: Any) -> list[Path]:
    base = Path(registry.root) / ".blobs" / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []


def run_doc(registry: Any, project: str, run_id: str) -> dict[str, Any]:
    """The run file in the registry repo's working tree."""
    path = Path(registry.root) / "projects" / project / "runs" / f"{run_id}.yaml"
    return yaml.safe_load(path.read_text())


@pytest.fixture
def team_entities(registry: Any) -> Any:
    """The registry answering to the entities the guide's team examples name (``team``,
    ``my-team``, ``ml-team``), declared in registry.yaml as ``init --entity`` declares them."""
    declare_entities(Path(registry.root), "team", "my-team", "ml-team")
    return registry


def log_training_data(project: str, count: int) -> list[str]:
    """Log ``count`` different versions of training-data (train.csv); their digests."""
    digests = []
    for i in range(count):
        write("src/train.csv", f"x,y\n{i},{i * 2}\n{i + 1},{i * 3}\n")
        with wandb.init(project=project, job_type="upload") as run:
            art = wandb.Artifact("training-data", type="dataset", metadata={"size": f"{i} rows"})
            art.add_file("src/train.csv")
            run.log_artifact(art)
            assert art.version == f"v{i}"
            digests.append(art.digest)
    return digests


# -- Creating Artifacts ----------------------------------------------------------------------


def test_basic_dataset_artifact(registry, s3_env, monkeypatch):
    # The guide's cloud reference, against a real S3 server on 127.0.0.1.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env.endpoint)
    client = s3_env.client()
    if "bucket" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket="bucket")
    client.put_object(Bucket="bucket", Key="data/part-0.csv", Body=b"id\n1\n")
    client.put_object(Bucket="bucket", Key="data/part-1.csv", Body=b"id\n2\n")
    write("data/train.csv", "path,label\nimages/a.jpg,cat\nimages/b.jpg,dog\n")
    write("data/images/a.jpg", b"\xff\xd8jpeg-a")
    write("data/images/sub/b.jpg", b"\xff\xd8jpeg-b")

    run = wandb.init(project="my-project")

    # Create artifact
    dataset = wandb.Artifact(
        name="training-data",
        type="dataset",
        description="ImageNet training split with augmentations",
        metadata={"size": "1.2M images", "format": "JPEG", "resolution": "224x224"},
    )

    # Add files
    dataset.add_file("data/train.csv")  # Single file
    dataset.add_dir("data/images")  # Entire directory
    dataset.add_reference("s3://bucket/data")  # Cloud reference

    # Log artifact
    run.log_artifact(dataset)
    wandb.finish()

    assert dataset.version == "v0"
    assert dataset.created is True
    got = wandb.Api().artifact("my-project/training-data:latest")
    assert got.version == "v0"
    assert got.type == "dataset"
    assert got.digest == dataset.digest
    assert got.description == "ImageNet training split with augmentations"
    assert got.metadata == {"size": "1.2M images", "format": "JPEG", "resolution": "224x224"}
    # As in W&B, a prefix reference's entries are named relative to the prefix.
    assert sorted(e.path for e in got.files()) == [
        "a.jpg",
        "part-0.csv",
        "part-1.csv",
        "sub/b.jpg",
        "train.csv",
    ]
    refs = {e.path: e.ref for e in got.files() if e.ref}
    assert refs == {
        "part-0.csv": "s3://bucket/data/part-0.csv",
        "part-1.csv": "s3://bucket/data/part-1.csv",
    }
    files = load_data(got.download())
    assert files == {
        "train.csv": b"path,label\nimages/a.jpg,cat\nimages/b.jpg,dog\n",
        "a.jpg": b"\xff\xd8jpeg-a",
        "sub/b.jpg": b"\xff\xd8jpeg-b",
        "part-0.csv": b"id\n1\n",
        "part-1.csv": b"id\n2\n",
    }
    assert got.logged_by() is not None
    assert got.logged_by().id == run.id
    assert got.logged_by().status == "finished"


def test_model_artifact(registry):
    write("config.yaml", "lr: 0.001\nbatch_size: 32\n")

    run = wandb.init(project="my-project")

    # Train model
    model = train_model()

    # Save model
    torch.save(model.state_dict(), "model.pth")

    # Create model artifact
    model_artifact = wandb.Artifact(
        name="resnet50-classifier",
        type="model",
        description="ResNet50 trained on ImageNet",
        metadata={
            "architecture": "ResNet50",
            "accuracy": 0.95,
            "loss": 0.15,
            "epochs": 50,
            "framework": "PyTorch",
        },
    )

    # Add model file
    model_artifact.add_file("model.pth")

    # Add config
    model_artifact.add_file("config.yaml")

    # Log with aliases
    run.log_artifact(model_artifact, aliases=["latest", "best"])

    wandb.finish()

    assert model_artifact.version == "v0"
    assert sorted(model_artifact.aliases) == ["best", "latest"]
    api = wandb.Api()
    best = api.artifact("my-project/resnet50-classifier:best")
    assert best.version == "v0"
    assert best.digest == model_artifact.digest
    assert sorted(best.aliases) == ["best", "latest"]
    assert best.metadata["accuracy"] == 0.95
    assert best.metadata["epochs"] == 50
    pth = Path("model.pth").read_bytes()
    downloaded = load_data(best.download())
    assert downloaded == {"model.pth": pth, "config.yaml": b"lr: 0.001\nbatch_size: 32\n"}
    assert best.get_entry("model.pth").digest == sha256(pth)


def test_preprocessed_data_artifact(registry):
    import pandas as pd

    write("raw_data.csv", "text,label\nThe Cat SAT,1\nA Dog ran,0\nthe end,1\n")

    def preprocess(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(text=df["text"].str.lower())

    run = wandb.init(project="nlp-project")

    # Preprocess data
    df = pd.read_csv("raw_data.csv")
    df_processed = preprocess(df)
    df_processed.to_csv("processed_data.csv", index=False)

    # Create artifact
    processed_data = wandb.Artifact(
        name="processed-text-data",
        type="dataset",
        metadata={
            "rows": len(df_processed),
            "columns": list(df_processed.columns),
            "preprocessing_steps": ["lowercase", "remove_stopwords", "tokenize"],
        },
    )

    processed_data.add_file("processed_data.csv")

    # Log artifact
    run.log_artifact(processed_data)
    run.finish()

    got = wandb.Api().artifact("nlp-project/processed-text-data:v0")
    assert got.metadata == {
        "rows": 3,
        "columns": ["text", "label"],
        "preprocessing_steps": ["lowercase", "remove_stopwords", "tokenize"],
    }
    rows = read_csv(Path(got.download()) / "processed_data.csv")
    assert rows == [
        {"text": "the cat sat", "label": "1"},
        {"text": "a dog ran", "label": "0"},
        {"text": "the end", "label": "1"},
    ]


# -- Using Artifacts -------------------------------------------------------------------------


def test_download_and_use(registry):
    log_training_data("my-project", 2)

    run = wandb.init(project="my-project")

    # Download artifact
    artifact = run.use_artifact("training-data:latest")
    artifact_dir = artifact.download()

    # Use files
    import pandas as pd

    df = pd.read_csv(f"{artifact_dir}/train.csv")

    # Train with artifact data
    model = train_model(df)

    assert artifact.version == "v1"
    assert df.to_dict("records") == [{"x": 1, "y": 2}, {"x": 2, "y": 3}]
    assert model.weights == [0.5, 2.0]
    assert Path(artifact_dir) == Path("artifacts/training-data:v1")
    artifact.verify(artifact_dir)
    run.finish()
    doc = run_doc(registry, "my-project", run.id)
    assert doc["inputs"] == [
        {"artifact": "my-project/training-data", "version": 1, "via": "training-data:latest"}
    ]


def test_use_specific_version(team_entities, registry):
    digests = log_training_data("my-project", 3)
    for i, aliases in enumerate((["best"], ["production"])):
        write("model.pth", f"weights {i}".encode())
        with wandb.init(project="my-project") as setup:
            model = wandb.Artifact("model", type="model")
            model.add_file("model.pth")
            setup.log_artifact(model, aliases=aliases)
    write("model.pth", b"weights from the other project")
    with wandb.init(project="other-project", entity="team") as other:
        model = wandb.Artifact("model", type="model")
        model.add_file("model.pth")
        other.log_artifact(model)
        other_digest = model.digest

    run = wandb.init(project="my-project", entity="team")

    # Use specific version
    artifact_v2 = run.use_artifact("training-data:v2")

    # Use alias
    artifact_best = run.use_artifact("model:best")
    artifact_prod = run.use_artifact("model:production")

    # Use from another project
    artifact = run.use_artifact("team/other-project/model:latest")

    assert artifact_v2.version == "v2"
    assert artifact_v2.digest == digests[2]
    assert len(set(digests)) == 3
    assert read_csv(Path(artifact_v2.download()) / "train.csv")[0] == {"x": "2", "y": "4"}
    assert (artifact_best.version, artifact_prod.version) == ("v0", "v1")
    assert load_data(artifact_best.download()) == {"model.pth": b"weights 0"}
    assert load_data(artifact_prod.download()) == {"model.pth": b"weights 1"}
    assert artifact.project == "other-project"
    assert artifact.version == "v0"
    assert artifact.digest == other_digest
    assert load_data(artifact.download()) == {"model.pth": b"weights from the other project"}
    run.finish()
    inputs = run_doc(registry, "my-project", run.id)["inputs"]
    assert [(u["artifact"], u["version"]) for u in inputs] == [
        ("my-project/training-data", 2),
        ("my-project/model", 0),
        ("my-project/model", 1),
        ("other-project/model", 0),
    ]


def test_check_artifact_metadata(registry, capsys):
    write("src/train.csv", "x\n1\n")
    with wandb.init(project="my-project") as setup:
        art = wandb.Artifact("training-data", type="dataset", metadata={"size": "1.2M images"})
        art.add_file("src/train.csv")
        expected_digest = art.digest  # computed before logging
        setup.log_artifact(art)

    run = wandb.init(project="my-project")
    artifact = run.use_artifact("training-data:latest")

    # Access metadata
    print(artifact.metadata)
    print(f"Size: {artifact.metadata['size']}")

    # Access version info
    print(f"Version: {artifact.version}")
    print(f"Created at: {artifact.created_at}")
    print(f"Digest: {artifact.digest}")

    out = capsys.readouterr().out
    assert "Size: 1.2M images" in out
    assert "Version: v0" in out
    assert artifact.metadata == {"size": "1.2M images"}
    assert artifact.digest == expected_digest == art.digest
    assert len(artifact.digest) == 64
    created = datetime.fromisoformat(artifact.created_at.replace("Z", "+00:00"))
    assert created.tzinfo is not None


# -- Model Registry ---------------------------------------------------------------------------


def test_model_registry_create_link_promote_use(registry):
    torch.save(train_model().state_dict(), "model.pth")

    # Create Model Registry: the W&B UI steps ("Registry" tab, new registry
    # "production-models", stages development, staging, production) are one command here.
    cli_out(
        "registry",
        "create",
        "production-models",
        "--stages",
        "development,staging,production",
    )

    # Link Model to Registry
    run = wandb.init(project="training")

    # Create model artifact
    model_artifact = wandb.Artifact(
        name="sentiment-classifier", type="model", metadata={"accuracy": 0.94, "f1": 0.92}
    )

    model_artifact.add_file("model.pth")

    # Log artifact
    run.log_artifact(model_artifact)

    # Link to registry
    run.link_artifact(
        model_artifact,
        "model-registry/production-models",
        aliases=["staging"],  # Deploy to staging
    )

    wandb.finish()

    # Promote Model in Registry
    # Retrieve model from registry
    api = wandb.Api()
    artifact = api.artifact("model-registry/production-models/sentiment-classifier:staging")

    # Promote to production
    artifact.link("model-registry/production-models", aliases=["production"])

    prod = api.artifact("model-registry/production-models/sentiment-classifier:production")
    assert prod.version == "v0"
    assert prod.source_name == "training/sentiment-classifier:v0"
    assert prod.digest == model_artifact.digest
    assert sorted(prod.aliases) == ["latest", "production", "staging"]
    assert prod.metadata == {"accuracy": 0.94, "f1": 0.92}

    # Use Model from Registry (before the guide's demotion, which takes production away)
    run = wandb.init()

    # Download production model
    model_artifact = run.use_artifact(
        "model-registry/production-models/sentiment-classifier:production"
    )

    model_dir = model_artifact.download()

    # Load and use
    model = torch.load(f"{model_dir}/model.pth")
    model.eval()
    wandb.finish()

    assert model.weights == train_model().weights
    assert model.training is False
    used = run_doc(registry, "uncategorized", run.id)["inputs"]
    assert used == [
        {
            "artifact": "training/sentiment-classifier",
            "version": 0,
            "via": "model-registry/production-models/sentiment-classifier:production",
        }
    ]

    # Demote from production
    artifact.aliases = ["archived"]
    artifact.save()

    archived = api.artifact("model-registry/production-models/sentiment-classifier:archived")
    assert archived.version == "v0"
    assert sorted(archived.aliases) == ["archived", "latest"]
    for gone in ("production", "staging"):
        with pytest.raises(registry_tool.NotFoundError, match=gone):
            api.artifact(f"model-registry/production-models/sentiment-classifier:{gone}")
    # The logged version itself is untouched by the registry's stages.
    assert api.artifact("training/sentiment-classifier:v0").aliases == ["latest"]


def test_promote_model_to_a_protected_stage_is_refused_with_the_way(registry):
    write("model.pth", b"weights")
    cli_out(
        "registry",
        "create",
        "production-models",
        "--stages",
        "development,staging,production",
        "--protected",
        "production",
    )
    run = wandb.init(project="training")
    model_artifact = wandb.Artifact("sentiment-classifier", type="model")
    model_artifact.add_file("model.pth")
    run.log_artifact(model_artifact)
    run.link_artifact(model_artifact, "model-registry/production-models", aliases=["staging"])
    wandb.finish()

    api = wandb.Api()
    artifact = api.artifact("model-registry/production-models/sentiment-classifier:staging")

    # Promote to production: a protected stage moves only by a reviewed pull request.
    with pytest.raises(registry_tool.ProtectedAliasError, match=r"production.*promote"):
        artifact.link("model-registry/production-models", aliases=["production"])

    with pytest.raises(registry_tool.NotFoundError):
        api.artifact("model-registry/production-models/sentiment-classifier:production")
    assert sorted(artifact.aliases) == ["latest", "staging"]


# -- Versioning & Lineage ---------------------------------------------------------------------


def test_automatic_versioning(registry):
    write("data_v1.csv", "a\n1\n")
    write("data_v2.csv", "a\n2\n")

    # First log: creates v0
    run1 = wandb.init(project="my-project")
    dataset_v0 = wandb.Artifact("my-dataset", type="dataset")
    dataset_v0.add_file("data_v1.csv")
    run1.log_artifact(dataset_v0)

    # Second log with same name: creates v1
    run2 = wandb.init(project="my-project")
    dataset_v1 = wandb.Artifact("my-dataset", type="dataset")
    dataset_v1.add_file("data_v2.csv")  # Different content
    run2.log_artifact(dataset_v1)

    # Third log with SAME content as v1: references v1 (no new version)
    run3 = wandb.init(project="my-project")
    dataset_v1_again = wandb.Artifact("my-dataset", type="dataset")
    dataset_v1_again.add_file("data_v2.csv")  # Same content as v1
    run3.log_artifact(dataset_v1_again)  # Still v1, no v2 created
    wandb.finish()

    assert (dataset_v0.version, dataset_v1.version, dataset_v1_again.version) == ("v0", "v1", "v1")
    assert (dataset_v0.created, dataset_v1.created, dataset_v1_again.created) == (True, True, False)
    assert dataset_v1_again.digest == dataset_v1.digest != dataset_v0.digest
    api = wandb.Api()
    assert [a.version for a in api.artifacts("my-project", "my-dataset")] == ["v0", "v1"]
    assert api.artifact("my-project/my-dataset:latest").version == "v1"
    with pytest.raises(registry_tool.NotFoundError):
        api.artifact("my-project/my-dataset:v2")
    # v1 was produced by run2; run3 lists it as an output too.
    assert api.artifact("my-project/my-dataset:v1").logged_by().id == run2.id
    outputs3 = run_doc(registry, "my-project", run3.id)["outputs"]
    assert outputs3 == [{"artifact": "my-project/my-dataset", "version": 1}]


def test_track_lineage(registry):
    log_training_data("my-project", 4)

    # Training run
    run = wandb.init(project="my-project")

    # Use dataset (input)
    dataset = run.use_artifact("training-data:v3")
    data = load_data(dataset.download())

    # Train model
    model = train(data)

    # Save model (output)
    model_artifact = wandb.Artifact("trained-model", type="model")
    torch.save(model.state_dict(), "model.pth")
    model_artifact.add_file("model.pth")
    run.log_artifact(model_artifact)

    # Lineage automatically tracked:
    # training-data:v3 --> [run] --> trained-model:v0
    run.finish()

    assert data == {"train.csv": b"x,y\n3,6\n4,9\n"}
    api = wandb.Api()
    model_v0 = api.artifact("my-project/trained-model:v0")
    producer = model_v0.logged_by()
    assert producer is not None and producer.id == run.id
    assert [(a.name, a.version) for a in producer.used_artifacts()] == [("training-data:v3", "v3")]
    assert [a.name for a in producer.logged_artifacts()] == ["trained-model:v0"]
    data_v3 = api.artifact("my-project/training-data:v3")
    assert [r.id for r in data_v3.used_by()] == [run.id]
    assert api.artifact("my-project/training-data:v2").used_by() == []
    assert data_v3.logged_by().id != run.id  # logged by the upload run
    assert model_v0.used_by() == []

    doc = run_doc(registry, "my-project", run.id)
    assert doc["status"] == "finished"
    assert doc["inputs"] == [{"artifact": "my-project/training-data", "version": 3}]
    assert doc["outputs"] == [{"artifact": "my-project/trained-model", "version": 0}]
    assert api.run(f"my-project/{run.id}").used_artifacts()[0].digest == data_v3.digest


@pytest.mark.slow
def test_view_lineage_graph(registry):
    log_training_data("my-project", 1)
    run = wandb.init(project="my-project")
    dataset = run.use_artifact("training-data:v0")
    model = train(load_data(dataset.download()))
    model_artifact = wandb.Artifact("trained-model", type="model")
    torch.save(model.state_dict(), "model.pth")
    model_artifact.add_file("model.pth")
    run.log_artifact(model_artifact)
    run.finish()
    producer = dataset.logged_by()

    # In W&B UI: Artifacts → Select artifact → Lineage tab. Here: `registry-tool show`
    # names the producing run, and the published site draws the graph.
    shown = json.loads(cli_out("show", "my-project/training-data:v0", "--json"))
    assert shown["run"] == producer.id
    # - Which runs produced this artifact / which runs used this artifact
    assert [r.id for r in wandb.Api().artifact("my-project/training-data:v0").used_by()] == [run.id]
    # - Parent/child artifacts: the run that made trained-model used training-data:v0
    child = wandb.Api().artifact("my-project/trained-model:v0")
    assert [a.name for a in child.logged_by().used_artifacts()] == ["training-data:v0"]

    cli_out("site", "build", "--out", "site")
    pages = [p for p in Path("site").rglob("*.html") if "training-data" in p.as_posix()]
    text = "\n".join(p.read_text() for p in pages)
    assert producer.id in text and run.id in text
    assert "trained-model" in text


# -- Artifact Types ---------------------------------------------------------------------------


def test_dataset_artifacts(registry):
    write("raw/a.txt", "RAW A")
    write("raw/nested/b.txt", "RAW B")
    write("processed/a.txt", "proc a")
    write("train.csv", "x\n1\n")
    write("val.csv", "x\n2\n")
    run = wandb.init(project="types")

    # Raw data
    raw_data = wandb.Artifact("raw-data", type="dataset")
    raw_data.add_dir("raw/")

    # Processed data
    processed_data = wandb.Artifact("processed-data", type="dataset")
    processed_data.add_dir("processed/")

    # Train/val/test splits
    train_split = wandb.Artifact("train-split", type="dataset")
    train_split.add_file("train.csv")

    val_split = wandb.Artifact("val-split", type="dataset")
    val_split.add_file("val.csv")

    for art in (raw_data, processed_data, train_split, val_split):
        run.log_artifact(art)
    run.finish()

    api = wandb.Api()
    expected = {
        "raw-data": {"a.txt": b"RAW A", "nested/b.txt": b"RAW B"},
        "processed-data": {"a.txt": b"proc a"},
        "train-split": {"train.csv": b"x\n1\n"},
        "val-split": {"val.csv": b"x\n2\n"},
    }
    for name, files in expected.items():
        got = api.artifact(f"types/{name}:latest", type="dataset")
        assert got.version == "v0"
        assert load_data(got.download()) == files


def test_model_artifacts(registry):
    write("checkpoint_epoch_10.pth", b"ckpt10")
    write("model.pth", b"final")
    write("tokenizer.json", '{"vocab": ["a", "b"]}')
    write("model_int8.onnx", b"onnx-int8")
    run = wandb.init(project="types")

    # Checkpoint during training
    checkpoint = wandb.Artifact("checkpoint-epoch-10", type="model")
    checkpoint.add_file("checkpoint_epoch_10.pth")

    # Final model
    final_model = wandb.Artifact("final-model", type="model")
    final_model.add_file("model.pth")
    final_model.add_file("tokenizer.json")

    # Quantized model
    quantized = wandb.Artifact("quantized-model", type="model")
    quantized.add_file("model_int8.onnx")

    for art in (checkpoint, final_model, quantized):
        run.log_artifact(art)
    run.finish()

    api = wandb.Api()
    assert api.artifact("types/final-model:latest", type="model").get_entry(
        "tokenizer.json"
    ).digest == sha256(b'{"vocab": ["a", "b"]}')
    assert load_data(api.artifact("types/final-model:v0").download()) == {
        "model.pth": b"final",
        "tokenizer.json": b'{"vocab": ["a", "b"]}',
    }
    assert load_data(api.artifact("types/quantized-model:v0").download()) == {
        "model_int8.onnx": b"onnx-int8"
    }
    assert api.artifact("types/checkpoint-epoch-10:v0").type == "model"
    with pytest.raises(registry_tool.NotFoundError):
        api.artifact("types/checkpoint-epoch-10:v0", type="dataset")


def test_result_artifacts(registry):
    write("predictions.csv", "id,pred\n0,cat\n")
    write("metrics.json", '{"accuracy": 0.9}')
    write("confusion_matrix.png", b"\x89PNG\r\n\x1a\nfake")
    run = wandb.init(project="types")

    # Predictions
    predictions = wandb.Artifact("test-predictions", type="predictions")
    predictions.add_file("predictions.csv")

    # Evaluation metrics
    eval_results = wandb.Artifact("evaluation", type="evaluation")
    eval_results.add_file("metrics.json")
    eval_results.add_file("confusion_matrix.png")

    run.log_artifact(predictions)
    run.log_artifact(eval_results)
    run.finish()

    api = wandb.Api()
    assert api.artifact("types/test-predictions:v0").type == "predictions"
    evaluation = api.artifact("types/evaluation:v0")
    assert evaluation.type == "evaluation"
    assert load_data(evaluation.download()) == {
        "metrics.json": b'{"accuracy": 0.9}',
        "confusion_matrix.png": b"\x89PNG\r\n\x1a\nfake",
    }


# -- Advanced Patterns ------------------------------------------------------------------------


def test_incremental_artifacts(registry, capsys):
    def process_batch(i: int, filename: str) -> None:
        write(filename, f"batch,value\n{i},{i * i}\n")

    run = wandb.init(project="my-project")

    # Create artifact
    dataset = wandb.Artifact("incremental-dataset", type="dataset")

    # Add files incrementally
    for i in range(100):
        filename = f"batch_{i}.csv"
        process_batch(i, filename)
        dataset.add_file(filename)

        # Log progress
        if (i + 1) % 10 == 0:
            print(f"Added {i + 1}/100 batches")

    # Log complete artifact
    run.log_artifact(dataset)
    run.finish()

    assert "Added 100/100 batches" in capsys.readouterr().out
    got = wandb.Api().artifact("my-project/incremental-dataset:latest")
    assert got.version == "v0"
    assert len(got.files()) == 100
    files = load_data(got.download("downloaded"))
    assert files == {f"batch_{i}.csv": f"batch,value\n{i},{i * i}\n".encode() for i in range(100)}
    assert len(blob_files(registry)) == 100

    # One more batch: a new version that stores only the new file.
    with wandb.init(project="my-project") as run2:
        more = wandb.Artifact("incremental-dataset", type="dataset")
        for i in range(101):
            filename = f"batch_{i}.csv"
            if i == 100:
                process_batch(i, filename)
            more.add_file(filename)
        run2.log_artifact(more)
    assert more.version == "v1"
    assert len(more.files()) == 101
    assert len(blob_files(registry)) == 101
    assert {e.path: e.digest for e in more.files() if e.path != "batch_100.csv"} == {
        e.path: e.digest for e in got.files()
    }


def test_artifact_tables(registry):
    import numpy as np
    from PIL import Image as PILImage

    file_image = PILImage.new("RGB", (4, 3), (255, 0, 0))
    file_image.save("cat.png")
    pil_image = PILImage.new("RGB", (5, 2), (0, 255, 0))
    array_image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    images = ["cat.png", pil_image, array_image]
    labels = ["cat", "dog", "bird"]
    predictions = ["cat", "cat", "bird"]

    run = wandb.init(project="my-project")

    # Create table
    table = wandb.Table(columns=["id", "image", "label", "prediction"])

    for idx, (img, label, pred) in enumerate(zip(images, labels, predictions, strict=True)):
        table.add_data(idx, wandb.Image(img), label, pred)

    # Log as artifact
    artifact = wandb.Artifact("predictions-table", type="predictions")
    artifact.add(table, "predictions")
    run.log_artifact(artifact)
    run.finish()

    assert artifact.version == "v0"
    paths = sorted(e.path for e in artifact.files())
    assert "predictions.table.json" in paths
    assert len([p for p in paths if p.startswith("media/images/")]) == 3

    got = wandb.Api().artifact("my-project/predictions-table:latest").get("predictions")
    assert isinstance(got, wandb.Table)
    assert got.columns == ["id", "image", "label", "prediction"]
    assert len(got) == 3
    assert got.get_column("id") == [0, 1, 2]
    assert got.get_column("label") == labels
    assert got.get_column("prediction") == predictions
    cells = got.get_column("image")
    assert all(isinstance(c, wandb.Image) for c in cells)
    root = Path("artifacts/predictions-table:v0")
    assert (root / cells[0].path).read_bytes() == Path("cat.png").read_bytes()
    with PILImage.open(root / cells[1].path) as im:
        assert im.size == (5, 2)
        assert im.convert("RGB").getpixel((0, 0)) == (0, 255, 0)
    with PILImage.open(root / cells[2].path) as im:
        assert np.array_equal(np.asarray(im), array_image)


def test_local_filesystem_reference(registry, tmp_path):
    shared = tmp_path / "mnt" / "shared"
    write(shared / "data" / "part-0.csv", "a\n1\n")
    write(shared / "data" / "sub" / "part-1.csv", "a\n2\n")
    labels = write(shared / "labels.csv", "label\ncat\n")

    run = wandb.init(project="my-project")
    dataset = wandb.Artifact("shared-data", type="dataset")
    # Local filesystem reference (for shared storage)
    dataset.add_reference(f"file://{shared / 'data'}")
    dataset.add_reference(f"file://{labels}")
    run.log_artifact(dataset)
    run.finish()

    got = wandb.Api().artifact("my-project/shared-data:v0")
    entries = {e.path: e for e in got.files()}
    # As in W&B: a folder's entries are named relative to it, a file by its basename.
    assert sorted(entries) == ["labels.csv", "part-0.csv", "sub/part-1.csv"]
    assert all(e.ref is not None and e.ref.startswith("file://") for e in entries.values())
    assert entries["labels.csv"].digest == sha256(b"label\ncat\n")
    assert blob_files(registry) == []  # referenced, not copied
    assert load_data(got.download("first")) == {
        "part-0.csv": b"a\n1\n",
        "sub/part-1.csv": b"a\n2\n",
        "labels.csv": b"label\ncat\n",
    }

    labels.write_text("label\ndog\n")
    with pytest.raises(registry_tool.VerificationError, match=r"labels\.csv"):
        got.download("second")


@pytest.fixture
def cloud(s3_env, monkeypatch):
    """The guide's reference servers on 127.0.0.1: SeaweedFS for s3:// (buckets
    ``my-bucket`` and ``bucket``), a GCS emulator for gs://, a file server for http."""
    for key in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_env.endpoint)
    client = s3_env.client()
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for name in ("my-bucket", "bucket"):
        if name not in existing:
            client.create_bucket(Bucket=name)
    with GcsEmulator() as gcs, FileServer() as web:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.host)
        yield SimpleNamespace(s3=client, gcs=gcs, web=web)


def test_artifact_references(registry, cloud, tmp_path):
    s3 = {
        "data/part-0.csv": b"x\n1\n",
        "data/sub/part-1.csv": b"x\n2\n",
        "labels/labels.csv": b"label\ncat\n",
    }
    for key, body in s3.items():
        cloud.s3.put_object(Bucket="my-bucket", Key=key, Body=body)
    cloud.gcs.put("my-bucket", "data/shard-0.bin", b"shard 0")
    cloud.gcs.put("my-bucket", "data/nested/shard-1.bin", b"shard 1")
    cloud.web.put("/data.zip", b"PK\x03\x04zip")
    shared = tmp_path / "mnt" / "shared" / "data"
    write(shared / "local.txt", "on the shared disk")
    write(shared / "more" / "notes.txt", "notes")
    https_example = cloud.web.url("/data.zip")  # 'https://example.com/data.zip'

    # S3 reference
    dataset = wandb.Artifact("s3-dataset", type="dataset")
    dataset.add_reference("s3://my-bucket/data/", name="train")
    dataset.add_reference("s3://my-bucket/labels/", name="labels")

    # GCS reference
    dataset.add_reference("gs://my-bucket/data/")

    # HTTP reference
    dataset.add_reference(https_example)

    # Local filesystem reference (for shared storage)
    dataset.add_reference(f"file://{shared}")

    with wandb.init(project="refs") as run:
        run.log_artifact(dataset)

    got = wandb.Api().artifact("refs/s3-dataset:v0")
    refs = {e.path: e.ref for e in got.files()}
    # W&B's names: under `name` when given, else relative to the prefix or folder, and a
    # single object by its basename.
    assert refs == {
        "train/part-0.csv": "s3://my-bucket/data/part-0.csv",
        "train/sub/part-1.csv": "s3://my-bucket/data/sub/part-1.csv",
        "labels/labels.csv": "s3://my-bucket/labels/labels.csv",
        "shard-0.bin": "gs://my-bucket/data/shard-0.bin",
        "nested/shard-1.bin": "gs://my-bucket/data/nested/shard-1.bin",
        "data.zip": https_example,
        "local.txt": f"file://{shared}/local.txt",
        "more/notes.txt": f"file://{shared}/more/notes.txt",
    }
    assert blob_files(registry) == []  # referenced, not copied
    assert load_data(got.download()) == {
        "train/part-0.csv": b"x\n1\n",
        "train/sub/part-1.csv": b"x\n2\n",
        "labels/labels.csv": b"label\ncat\n",
        "shard-0.bin": b"shard 0",
        "nested/shard-1.bin": b"shard 1",
        "data.zip": b"PK\x03\x04zip",
        "local.txt": b"on the shared disk",
        "more/notes.txt": b"notes",
    }


# -- Collaboration Patterns -------------------------------------------------------------------


def test_team_dataset_sharing(team_entities, registry):
    write("data/train.csv", "x\n1\n")
    write("data/test/test.csv", "x\n2\n")

    # Data engineer creates dataset
    run = wandb.init(project="data-eng", entity="my-team")
    dataset = wandb.Artifact("shared-dataset", type="dataset")
    dataset.add_dir("data/")
    run.log_artifact(dataset, aliases=["latest", "production"])
    producer = run

    # ML engineer uses dataset
    run = wandb.init(project="ml-training", entity="my-team")
    dataset = run.use_artifact("my-team/data-eng/shared-dataset:production")
    data = load_data(dataset.download())
    run.finish()

    # init() finished the data engineer's run
    assert run_doc(registry, "data-eng", producer.id)["status"] == "finished"
    assert data == {"train.csv": b"x\n1\n", "test/test.csv": b"x\n2\n"}
    assert dataset.project == "data-eng"
    assert dataset.version == "v0"
    assert sorted(dataset.aliases) == ["latest", "production"]
    assert [r.id for r in dataset.used_by()] == [run.id]
    assert dataset.logged_by().id == producer.id
    doc = run_doc(registry, "ml-training", run.id)
    assert doc["entity"] == "my-team"
    assert doc["inputs"] == [
        {
            "artifact": "data-eng/shared-dataset",
            "version": 0,
            "via": "my-team/data-eng/shared-dataset:production",
        }
    ]


def test_model_handoff(team_entities, registry):
    def evaluate_model(artifact: wandb.Artifact) -> dict[str, float]:
        model = torch.load(f"{artifact.download()}/model.pth")
        return {"f1": model.weights[0] + 0.45}

    torch.save(FakeModel([0.5, 3.0]).state_dict(), "model.pth")

    # Training team
    train_run = wandb.init(project="model-training", entity="ml-team")
    model = train_model()  # noqa: F841 (as in the guide)
    model_artifact = wandb.Artifact("nlp-model", type="model")
    model_artifact.add_file("model.pth")
    train_run.log_artifact(model_artifact)
    train_run.link_artifact(model_artifact, "model-registry/nlp-models", aliases=["candidate"])

    # Evaluation team
    eval_run = wandb.init(project="model-eval", entity="ml-team")
    model_artifact = eval_run.use_artifact("model-registry/nlp-models/nlp-model:candidate")
    metrics = evaluate_model(model_artifact)

    if metrics["f1"] > 0.9:
        # Promote to production
        model_artifact.link("model-registry/nlp-models", aliases=["production"])
    wandb.finish()

    assert metrics == {"f1": 0.95}
    api = wandb.Api()
    prod = api.artifact("model-registry/nlp-models/nlp-model:production")
    assert prod.version == "v0"
    assert sorted(prod.aliases) == ["candidate", "latest", "production"]
    assert prod.source_name == "model-training/nlp-model:v0"
    assert api.artifact("ml-team/model-training/nlp-model:v0").digest == prod.digest
    assert [r.id for r in api.artifact("model-training/nlp-model:v0").used_by()] == [eval_run.id]
    assert run_doc(registry, "model-eval", eval_run.id)["entity"] == "ml-team"


# -- Best Practices ---------------------------------------------------------------------------


def test_use_descriptive_names(registry):
    # ✅ Good: Descriptive names
    good = [
        wandb.Artifact("imagenet-train-augmented-v2", type="dataset"),
        wandb.Artifact("bert-base-sentiment-finetuned", type="model"),
    ]

    # ❌ Bad: Generic names
    bad = [
        wandb.Artifact("dataset1", type="dataset"),
        wandb.Artifact("model", type="model"),
    ]

    write("f.txt", "content")
    with wandb.init(project="names") as run:
        for art in good + bad:
            art.add_file("f.txt")
            run.log_artifact(art)
    api = wandb.Api()
    for art, (name, type_) in zip(
        good + bad,
        [
            ("imagenet-train-augmented-v2", "dataset"),
            ("bert-base-sentiment-finetuned", "model"),
            ("dataset1", "dataset"),
            ("model", "model"),
        ],
        strict=True,
    ):
        assert art.name == f"{name}:v0"
        assert art.collection_name == name
        got = api.artifact(f"names/{name}:latest")
        assert (got.type, got.version) == (type_, "v0")
    # The "-v2" suffix is part of the name, not a version selector.
    assert api.artifact("names/imagenet-train-augmented-v2").version == "v0"


def test_comprehensive_metadata(registry):
    metadata = {
        # Model info
        "architecture": "ResNet50",
        "framework": "PyTorch 2.0",
        "pretrained": True,
        # Performance
        "accuracy": 0.95,
        "f1_score": 0.93,
        "inference_time_ms": 15,
        # Training
        "epochs": 50,
        "dataset": "imagenet",
        "num_samples": 1200000,
        # Business context
        "use_case": "e-commerce product classification",
        "owner": "ml-team@company.com",
        "approved_by": "data-science-lead",
    }
    model_artifact = wandb.Artifact(
        "production-model",
        type="model",
        description="ResNet50 classifier for product categorization",
        metadata={
            # Model info
            "architecture": "ResNet50",
            "framework": "PyTorch 2.0",
            "pretrained": True,
            # Performance
            "accuracy": 0.95,
            "f1_score": 0.93,
            "inference_time_ms": 15,
            # Training
            "epochs": 50,
            "dataset": "imagenet",
            "num_samples": 1200000,
            # Business context
            "use_case": "e-commerce product classification",
            "owner": "ml-team@company.com",
            "approved_by": "data-science-lead",
        },
    )
    write("model.pth", b"weights")
    model_artifact.add_file("model.pth")
    with wandb.init(project="meta") as run:
        run.log_artifact(model_artifact)

    got = wandb.Api().artifact("meta/production-model:latest")
    assert got.description == "ResNet50 classifier for product categorization"
    assert got.metadata == metadata
    assert got.metadata["pretrained"] is True
    assert isinstance(got.metadata["num_samples"], int)
    assert isinstance(got.metadata["accuracy"], float)


def test_use_aliases_for_deployment_stages(registry):
    api = wandb.Api()
    run = wandb.init(project="deploy")

    def new_model(weights: bytes) -> wandb.Artifact:
        # Each stage logs a new model version (a logged Artifact is immutable).
        write("model.pth", weights)
        model = wandb.Artifact("model", type="model")
        model.add_file("model.pth")
        return model

    # Development
    model = new_model(b"dev weights")
    run.log_artifact(model, aliases=["dev", "latest"])

    # Staging
    model = new_model(b"staging weights")
    run.log_artifact(model, aliases=["staging"])

    # Production
    model = new_model(b"production weights")
    run.log_artifact(model, aliases=["production", "v1.2.0"])

    def where(alias: str) -> str:
        return api.artifact(f"deploy/model:{alias}").version

    assert [where(a) for a in ("dev", "staging", "production", "v1.2.0", "latest")] == [
        "v0",
        "v1",
        "v2",
        "v2",
        "v2",
    ]

    # Archive old versions
    old_artifact = api.artifact("model:production")
    old_artifact.aliases = ["archived-v1.1.0"]
    old_artifact.save()

    assert old_artifact.version == "v2"
    assert sorted(old_artifact.aliases) == ["archived-v1.1.0", "latest"]
    assert where("archived-v1.1.0") == "v2"
    assert where("latest") == "v2"  # latest always names the newest version
    assert (where("dev"), where("staging")) == ("v0", "v1")
    for gone in ("production", "v1.2.0"):
        with pytest.raises(registry_tool.NotFoundError):
            api.artifact(f"deploy/model:{gone}")
    assert sorted(api.artifact("deploy/model:v2").aliases) == ["archived-v1.1.0", "latest"]
    assert load_data(api.artifact("deploy/model:archived-v1.1.0").download()) == {
        "model.pth": b"production weights"
    }


def test_use_aliases_for_deployment_stages_one_object(registry):
    write("model.pth", b"release weights")
    model = wandb.Artifact("model", type="model")
    model.add_file("model.pth")
    run = wandb.init(project="deploy")
    api = wandb.Api()

    # Development
    run.log_artifact(model, aliases=["dev", "latest"])

    # Staging
    run.log_artifact(model, aliases=["staging"])

    # Production
    run.log_artifact(model, aliases=["production", "v1.2.0"])

    # One object logged three times is one version holding every alias, as in W&B.
    assert model.version == "v0"
    logged = api.artifact("deploy/model:production")
    assert logged.version == "v0"
    assert sorted(logged.aliases) == ["dev", "latest", "production", "staging", "v1.2.0"]
    assert [a.version for a in api.artifacts("deploy", "model")] == ["v0"]

    # Archive old versions
    old_artifact = api.artifact("model:production")
    old_artifact.aliases = ["archived-v1.1.0"]
    old_artifact.save()
    run.finish()

    assert sorted(api.artifact("deploy/model:v0").aliases) == ["archived-v1.1.0", "latest"]
    for gone in ("dev", "staging", "production", "v1.2.0"):
        with pytest.raises(registry_tool.NotFoundError):
            api.artifact(f"deploy/model:{gone}")


def test_track_data_lineage_pipeline(registry):
    write("raw/records.csv", "value\n3\n1\n2\n")
    with wandb.init(project="pipeline", job_type="ingest") as ingest:
        raw = wandb.Artifact("raw-data", type="dataset")
        raw.add_dir("raw")
        ingest.log_artifact(raw)

    def preprocess(raw_data: wandb.Artifact) -> list[int]:
        values = sorted(
            int(r["value"]) for r in read_csv(Path(raw_data.download()) / "records.csv")
        )
        write("processed.csv", "value\n" + "".join(f"{v}\n" for v in values))
        return values

    def train(processed: list[int]) -> FakeModel:
        model = FakeModel([float(v) for v in processed])
        torch.save(model.state_dict(), "model.pth")
        return model

    def create_training_pipeline():
        run = wandb.init(project="pipeline")

        # 1. Load raw data
        raw_data = run.use_artifact("raw-data:latest")

        # 2. Preprocess
        processed = preprocess(raw_data)
        processed_artifact = wandb.Artifact("processed-data", type="dataset")
        processed_artifact.add_file("processed.csv")
        run.log_artifact(processed_artifact)

        # 3. Train model
        model = train(processed)  # noqa: F841 (as in the guide)
        model_artifact = wandb.Artifact("trained-model", type="model")
        model_artifact.add_file("model.pth")
        run.log_artifact(model_artifact)

        # Lineage: raw-data → processed-data → trained-model

    create_training_pipeline()
    pipeline_run = wandb.run
    assert pipeline_run is not None
    wandb.finish()

    api = wandb.Api()
    model = api.artifact("pipeline/trained-model:latest")
    producer = model.logged_by()
    assert producer is not None and producer.id == pipeline_run.id
    processed = api.artifact("pipeline/processed-data:latest")
    assert processed.logged_by().id == producer.id
    assert [a.name for a in producer.logged_artifacts()] == [
        "processed-data:v0",
        "trained-model:v0",
    ]
    assert [a.name for a in producer.used_artifacts()] == ["raw-data:v0"]
    raw_v0 = api.artifact("pipeline/raw-data:v0")
    assert [r.id for r in raw_v0.used_by()] == [pipeline_run.id]
    assert raw_v0.logged_by().id == ingest.id
    assert load_data(processed.download()) == {"processed.csv": b"value\n1\n2\n3\n"}
    doc = run_doc(registry, "pipeline", pipeline_run.id)
    assert doc["inputs"] == [
        {"artifact": "pipeline/raw-data", "version": 0, "via": "raw-data:latest"}
    ]
    assert doc["outputs"] == [
        {"artifact": "pipeline/processed-data", "version": 0},
        {"artifact": "pipeline/trained-model", "version": 0},
    ]


def test_efficient_storage_reference_large_files(registry, cloud):
    huge = b"\x1f\x8b" + bytes(range(256)) * 4096  # a stand-in for a giant archive
    cloud.s3.put_object(Bucket="bucket", Key="huge-file.tar.gz", Body=huge)

    # ✅ Good: Reference large files
    large_dataset = wandb.Artifact("large-dataset", type="dataset")
    large_dataset.add_reference("s3://bucket/huge-file.tar.gz")

    # ❌ Bad: Upload giant files
    # large_dataset.add_file('huge-file.tar.gz')  # Don't do this

    with wandb.init(project="storage") as run:
        run.log_artifact(large_dataset)

    got = wandb.Api().artifact("storage/large-dataset:v0")
    (entry,) = got.files()
    assert entry.path == "huge-file.tar.gz"
    assert entry.ref == "s3://bucket/huge-file.tar.gz"
    assert entry.size == len(huge)
    assert got.size == len(huge)
    assert blob_files(registry) == []  # nothing uploaded
    assert load_data(got.download()) == {"huge-file.tar.gz": huge}


def test_efficient_storage_metadata_only(registry):
    metadata = {"files": 1000000, "total_bytes": 5 * 1024**4, "location": "/mnt/shared/huge"}
    write("metadata.json", json.dumps(metadata))

    # ✅ Good: Upload only metadata
    metadata_artifact = wandb.Artifact("dataset-metadata", type="dataset")
    metadata_artifact.add_file("metadata.json")  # Small file

    with wandb.init(project="storage") as run:
        run.log_artifact(metadata_artifact)

    got = wandb.Api().artifact("storage/dataset-metadata:v0")
    assert [e.path for e in got.files()] == ["metadata.json"]
    assert got.size == len(json.dumps(metadata))
    assert json.loads((Path(got.download()) / "metadata.json").read_text()) == metadata
    assert len(blob_files(registry)) == 1


def test_dedup_storage_shares_blobs(registry):
    shared = b"a large shared file\n" * 1000
    write("v0/shared.bin", shared)
    write("v0/a.txt", "only in v0")
    write("v1/shared.bin", shared)  # same bytes at another path
    write("v1/b.txt", "only in v1")

    with wandb.init(project="dedup") as run:
        first = wandb.Artifact("data", type="dataset")
        first.add_dir("v0")
        run.log_artifact(first)
    with wandb.init(project="dedup") as run:
        second = wandb.Artifact("data", type="dataset")
        second.add_dir("v1")
        run.log_artifact(second)

    assert (first.version, second.version) == ("v0", "v1")
    assert first.get_entry("shared.bin").digest == second.get_entry("shared.bin").digest
    blobs = blob_files(registry)
    assert len(blobs) == 3  # shared.bin, a.txt, b.txt: the shared file is stored once
    names = {p.name for p in blobs}
    assert hashlib.sha256(shared).hexdigest() in names
    assert load_data(wandb.Api().artifact("dedup/data:v1").download()) == {
        "shared.bin": shared,
        "b.txt": b"only in v1",
    }
