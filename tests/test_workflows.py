"""Three everyday W&B workflows, each a user script in ``tests/workflows/`` run unchanged
(``import registry_tool as wandb``) in a fresh ``python`` process against one registry:
a training script, an evaluation that promotes, a nightly dataset refresh.

The scripts are what a W&B user writes; the asserts here read what they left behind
only through ``wandb.Api()``, the CLI and the registry's files, as a teammate would. A
script that fails shows its traceback in the assertion message: the first call it
could not make is the last line of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool._store import init_registry
from tests.helpers import FakeGitHub, cli_out, git, team_clone, write

WORKFLOWS = Path(__file__).parent / "workflows"

# What train.py's "training" reaches each epoch (its VAL_ACC): epoch 1 is the best.
VAL_ACC = [0.61, 0.82, 0.77]


def run_script(name: str) -> dict[str, Any]:
    """``python tests/workflows/<name>`` in the current work folder, with this test's
    environment (the registry is ``REGISTRY_TOOL_DIR``); the JSON of its last line."""
    proc = subprocess.run(
        [sys.executable, str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing:\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def load_data(directory: str | Path) -> dict[str, bytes]:
    root = Path(directory)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_files(root: Path) -> list[Path]:
    base = root / ".blobs" / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []


def run_file(root: Path, project: str, run_id: str) -> Path:
    return root / "projects" / project / "runs" / f"{run_id}.yaml"


# -- 1. a training script ------------------------------------------------------------------


def test_training_script_logs_metrics_and_a_checkpoint_per_epoch(registry):
    result = run_script("train.py")
    run_id = result.pop("run_id")
    assert result == {"last_val_acc": 0.77, "best_val_acc": 0.82, "lr": 0.01, "momentum": 0.9}

    api = wandb.Api()
    # One version per epoch; best stayed on epoch 1 when epoch 2 did worse.
    versions = [a.version for a in api.artifacts("mnist", "mnist-cnn")]
    assert versions == ["v0", "v1", "v2"]
    for epoch in range(3):
        assert api.artifact(f"mnist/mnist-cnn:epoch-{epoch}").version == f"v{epoch}"
    best = api.artifact("mnist/mnist-cnn:best")
    assert best.version == "v1"
    assert best.metadata == {"epoch": 1, "val_acc": 0.82}
    assert sorted(best.aliases) == ["best", "epoch-1"]
    assert sorted(api.artifact("mnist/mnist-cnn:v0").aliases) == ["epoch-0"]
    assert sorted(api.artifact("mnist/mnist-cnn:latest").aliases) == ["epoch-2", "latest"]
    checkpoint = json.loads((Path(best.download()) / "model.pth").read_text())
    assert checkpoint == {"epoch": 1, "weights": [0.01, 0.82]}
    assert best.logged_by().id == run_id

    # The run as a teammate reads it: config, tags, summary, history, lineage.
    run = api.run(f"mnist/{run_id}")
    assert run.state == "finished"
    assert run.job_type == "train"
    assert sorted(run.tags) == ["baseline", "cnn"]
    assert run.config["lr"] == 0.01
    assert run.config["optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert run.summary["best_val_acc"] == 0.82
    assert run.summary["val"]["acc"] == 0.77  # the last logged value
    assert run.summary["epoch"] == 2
    rows = list(run.scan_history())
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["val.acc"] for r in rows] == VAL_ACC  # nested keys, flattened as in W&B
    assert [r["train.loss"] for r in rows] == [1.0, 0.5, 0.3333]
    history = run.history()
    assert list(history["val.acc"]) == VAL_ACC
    assert [a.name for a in run.logged_artifacts()] == [
        "mnist-cnn:v0",
        "mnist-cnn:v1",
        "mnist-cnn:v2",
    ]

    # The run file holds the summary, config and tags; the per-step history is a blob.
    path = run_file(registry.root, "mnist", run_id)
    doc = yaml.safe_load(path.read_text())
    assert doc["tags"] == ["baseline", "cnn"]
    assert doc["summary"]["best_val_acc"] == 0.82
    assert "0.61" not in path.read_text()  # epoch 0's value lives only in the history blob

    # The CLI agrees.
    shown = json.loads(cli_out("show", "mnist/mnist-cnn:best", "--json"))
    assert (shown["version"], shown["run"]) == ("v1", run_id)
    assert sorted(shown["aliases"]) == ["best", "epoch-1"]


# -- 2. an evaluation in a fresh process that promotes --------------------------------------


@pytest.fixture
def github(monkeypatch):
    fake = FakeGitHub()
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token-123")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/model-registry")
    monkeypatch.setenv("REGISTRY_TOOL_NO_GH", "1")
    yield fake
    fake.close()


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A registry clone whose remote is a bare repo, as on GitHub."""
    seed = init_registry(tmp_path / "seed", name="acme", storage=str(tmp_path / "blobs"))
    store, bare = team_clone(seed, tmp_path)
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store, bare


def test_evaluation_in_a_fresh_process_links_and_promotes(team, github):
    store, _bare = team
    # "Create Model Registry" (the W&B UI step) is the CLI here; production is protected
    # and gated on the checkpoint's validation accuracy.
    cli_out(
        "registry",
        "create",
        "mnist-models",
        "--stages",
        "development,staging,production",
        "--protected",
        "production",
        "--types",
        "model",
        "--gate",
        "production: val_acc >= 0.8",
    )
    trained = run_script("train.py")
    result = run_script("evaluate.py")
    eval_id = result["run_id"]
    assert eval_id != trained["run_id"]
    assert result["checkpoint"] == "mnist-cnn:v1"
    assert result["test_acc"] == 0.8

    api = wandb.Api()
    best = api.artifact("mnist/mnist-cnn:best")
    staged = api.artifact("model-registry/mnist-models/mnist-cnn:staging")
    assert staged.source_name == "mnist/mnist-cnn:v1"
    assert staged.digest == best.digest
    evaluation = api.run(f"mnist/{eval_id}")
    assert evaluation.job_type == "eval"
    assert [a.name for a in evaluation.used_artifacts()] == ["mnist-cnn:v1"]
    assert [a.name for a in evaluation.logged_artifacts()] == ["mnist-cnn-eval:v0"]
    assert evaluation.summary["test_acc"] == 0.8
    assert evaluation.summary["test"]["acc"] == 0.8
    assert [r.id for r in best.used_by()] == [eval_id]
    report = api.artifact("mnist/mnist-cnn-eval:latest")
    assert report.metadata == {"test_acc": 0.8}
    assert json.loads((Path(report.download()) / "metrics.json").read_text()) == {
        "test_acc": 0.8,
        "checkpoint": "mnist-cnn:v1",
    }

    # The guide's promotion line meets the protection: production moves by pull request.
    with pytest.raises(wandb.ProtectedAliasError, match="production"):
        staged.link("model-registry/mnist-models", aliases=["production"])
    out = json.loads(
        cli_out(
            "promote",
            "model-registry/mnist-models/mnist-cnn:staging",
            "--to",
            "production",
            "--pr",
            "--reason",
            f"eval run {eval_id}: test_acc 0.8",
            "--json",
        )
    )
    branch = out["branch"]
    assert out["pull_request"]["number"] == 7
    assert out["gates"] == [
        {"condition": "val_acc >= 0.8", "passed": True, "detail": "val_acc is 0.82"}
    ]
    (request,) = github.requests
    assert request["body"]["head"] == branch and request["body"]["base"] == "main"
    report_json = json.loads(cli_out("check", "--base", "main", "--head", branch, "--json"))
    assert report_json["ok"] is True

    # Merged as GitHub would: production now names the best checkpoint.
    git(
        store.root,
        "merge",
        "--quiet",
        "--no-ff",
        branch,
        "-m",
        f"Merge pull request #7 from {branch}",
    )
    git(store.root, "push", "--quiet", "origin", "main")
    prod = wandb.Api().artifact("model-registry/mnist-models/mnist-cnn:production")
    assert prod.source_name == "mnist/mnist-cnn:v1"
    assert json.loads((Path(prod.download("prod")) / "model.pth").read_text())["epoch"] == 1
    events = json.loads(
        cli_out(
            "history", "model-registry/mnist-models/mnist-cnn", "--stage", "production", "--json"
        )
    )
    assert [(e["version"], e["pull_request"]) for e in events] == [(0, 7)]
    assert events[0]["reason"] == f"eval run {eval_id}: test_acc 0.8"


# -- 3. a nightly dataset refresh -----------------------------------------------------------

DAY_1 = b"id,value\n1,10\n2,20\n"
DAY_2 = b"id,value\n3,30\n"
DAY_3 = b"id,value\n4,40\n5,50\n"
LABELS_OLD = b"id,label\n1,cat\n2,dog\n3,cat\n"
LABELS_NEW = b"id,label\n1,cat\n2,dog\n3,bird\n4,cat\n5,dog\n"
README = b"# catalog\nTwo days of rows.\n"


def test_nightly_refresh_drafts_the_next_version_from_latest(registry):
    write("snapshot/days/2026-12-01.csv", DAY_1)
    write("snapshot/days/2026-12-02.csv", DAY_2)
    write("snapshot/labels.csv", LABELS_OLD)
    write("snapshot/README.md", README)
    with wandb.init(project="catalog", job_type="ingest") as ingest:
        dataset = wandb.Artifact(
            "dataset", type="dataset", metadata={"days": 2, "refreshed": "2026-12-02"}
        )
        dataset.add_dir("snapshot")
        ingest.log_artifact(dataset)
    assert len(blob_files(registry.root)) == 4
    write("incoming/2026-12-03.csv", DAY_3)
    write("incoming/labels.csv", LABELS_NEW)

    result = run_script("refresh.py")
    run_id = result.pop("run_id")
    assert result == {
        "base": "dataset:v0",
        "version": "v1",
        "files": ["README.md", "days/2026-12-02.csv", "days/2026-12-03.csv", "labels.csv"],
    }

    api = wandb.Api()
    v0 = api.artifact("catalog/dataset:v0")
    v1 = api.artifact("catalog/dataset:latest")
    assert v1.version == "v1"
    assert sorted(v1.aliases) == ["latest", "nightly"]
    assert v1.metadata == {"days": 2, "refreshed": "2026-12-03"}
    assert v0.metadata == {"days": 2, "refreshed": "2026-12-02"}  # the base is untouched
    assert load_data(v1.download()) == {
        "README.md": README,
        "days/2026-12-02.csv": DAY_2,
        "days/2026-12-03.csv": DAY_3,
        "labels.csv": LABELS_NEW,
    }
    assert load_data(v0.download()) == {
        "README.md": README,
        "days/2026-12-01.csv": DAY_1,
        "days/2026-12-02.csv": DAY_2,
        "labels.csv": LABELS_OLD,
    }
    old = {e.path: e.digest for e in v0.files()}
    new = {e.path: e.digest for e in v1.files()}
    assert new["README.md"] == old["README.md"]
    assert new["days/2026-12-02.csv"] == old["days/2026-12-02.csv"]
    assert new["labels.csv"] == sha256(LABELS_NEW) != old["labels.csv"]
    # Only today's file and the new labels were stored.
    assert len(blob_files(registry.root)) == 6

    # Lineage: the refresh run used v0 and produced v1.
    producer = v1.logged_by()
    assert producer is not None and producer.id == run_id
    assert producer.job_type == "nightly-refresh"
    assert [a.name for a in producer.used_artifacts()] == ["dataset:v0"]
    assert [a.name for a in producer.logged_artifacts()] == ["dataset:v1"]
    assert [r.id for r in v0.used_by()] == [run_id]
    assert v0.logged_by().id == ingest.id

    shown = json.loads(cli_out("show", "catalog/dataset:nightly", "--json"))
    assert shown["version"] == "v1" and shown["run"] == run_id
    assert sorted(f["path"] for f in shown["files"]) == result["files"]
    assert json.loads(cli_out("check", "--json"))["ok"] is True
