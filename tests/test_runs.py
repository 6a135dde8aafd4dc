"""Runs as W&B users write them: ``run.log`` and its history, the summary, the config,
tags, notes and group, models, URIs as artifacts, and the run read back by ``Api``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import registry_tool as wandb
from registry_tool import _yamlio as yamlio
from registry_tool._engine import Context
from registry_tool._engine.live import live_blobs
from registry_tool._model.layout import run_file
from registry_tool._model.records import RunRecord
from registry_tool._sdk import metrics
from registry_tool._store import RegistryStore
from registry_tool.errors import UsageError
from tests.helpers import cli_out, commit, create_prod_registry, write
from tests.refservers import FileServer


def _run_doc(store: RegistryStore, project: str, run_id: str) -> dict[str, Any]:
    path = run_file(project, run_id)
    doc = yamlio.loads(store.head().read(path), path)
    assert isinstance(doc, dict)
    return doc


def _blob(store: RegistryStore, digest: str) -> Path:
    local = Context(store).blobs.local_path(digest.removeprefix("sha256:"))
    assert local is not None
    return local


def _train(epochs: int = 5) -> wandb.Run:
    """A training script as W&B users write it: config from argparse, nested metrics
    per epoch, an image and a table."""
    args = argparse.Namespace(lr=0.01, epochs=epochs)
    run = wandb.init(project="p", config=args, job_type="train")
    for epoch in range(epochs):
        loss = 1.0 / (epoch + 1)
        row: dict[str, Any] = {"epoch": epoch, "train": {"loss": loss, "acc": np.float32(0.5)}}
        if epoch == 3:
            row["sample"] = wandb.Image(np.zeros((4, 6, 3), dtype=np.uint8), caption="zeros")
        wandb.log(row)
    table = wandb.Table(columns=["id", "pred"], data=[[0, "cat"], [1, "dog"]])
    run.log({"predictions": table}, commit=False)
    run.finish()
    return run


def test_a_training_loop_reads_back_from_a_fresh_api(registry: RegistryStore) -> None:
    run = _train()
    back = wandb.Api().run(f"p/{run.id}")
    assert back.config["lr"] == 0.01 and back.config.epochs == 5
    assert back.summary["train"]["loss"] == pytest.approx(0.2)
    assert back.summary["train"]["acc"] == 0.5
    assert back.summary["_step"] == 5  # the table went into a row of its own, step 5
    frame = back.history()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["_step"]) == [0, 1, 2, 3, 4, 5]
    assert frame["train.loss"].iloc[4] == pytest.approx(0.2)
    rows = back.history(pandas=False)
    assert isinstance(rows, list) and rows[3]["sample"]["_type"] == "image-file"
    assert rows[5]["predictions"]["_type"] == "table-file"
    only_loss = list(back.scan_history(keys=["train.loss"], page_size=2))
    assert [set(r) for r in only_loss] == [{"train.loss"}] * 5
    assert len(back.history(samples=2, pandas=False)) == 2
    logged = {f.name: f for f in back.files()}
    image = rows[3]["sample"]["path"]
    assert image in logged and rows[5]["predictions"]["path"] in logged
    assert logged[image].download(root="out").read_bytes()[:4] == b"\x89PNG"


def test_the_history_is_one_blob_that_the_run_file_names(registry: RegistryStore) -> None:
    run = _train()
    doc = _run_doc(registry, "p", run.id)
    assert doc["history"]["rows"] == 6
    lines = _blob(registry, doc["history"]["digest"]).read_text().splitlines()
    assert [json.loads(line)["_step"] for line in lines] == [0, 1, 2, 3, 4, 5]
    # The YAML holds the last values, never the series.
    assert b"0.3333" not in yamlio.dumps(doc)
    assert doc["summary"]["epoch"] == 4
    for entry in doc["files"]:
        assert _blob(registry, entry["digest"]).stat().st_size == entry["size"]


def test_gc_keeps_the_history_and_the_media_blobs(registry: RegistryStore) -> None:
    run = _train()
    doc = _run_doc(registry, "p", run.id)
    kept = [doc["history"]["digest"], *(f["digest"] for f in doc["files"])]
    stray = Context(registry).blobs
    stray_hex, _ = stray.ingest(write("stray.bin", b"nobody names me"), None, lambda _n: None)
    cli_out("gc", "--grace", "0", "--force")
    assert not stray.has(stray_hex)  # gc did run
    for digest in kept:
        assert _blob(registry, digest).exists(), digest
    # verify --all and storage sync read one commit exactly: they see the run's blobs.
    live = live_blobs(registry)
    for digest in kept:
        assert live.labels(digest.removeprefix("sha256:")) == [f"run p/{run.id}"]


def test_steps_are_counted_as_wandb_counts_them(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    run.log({"a": 1}, commit=False)
    run.log({"b": 2})  # the same step as a
    run.log({"c": 3}, step=5)  # held until a later step
    run.log({"d": 4}, step=5)
    with pytest.warns(UserWarning, match="step 2 .* less than the current step 5"):
        run.log({"e": 5}, step=2)
    run.log({"f": 6})
    assert run.step == 6
    run.finish()
    rows = wandb.Api().run(f"p/{run.id}").history(pandas=False)
    assert [(r["_step"], sorted(k for k in r if not k.startswith("_"))) for r in rows] == [
        (0, ["a", "b"]),
        (5, ["c", "d", "f"]),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("loss", "log: data must be a dict, not str"),
        ({1: 2.0}, "log: key 1 is not a string"),
        ({"bad": object()}, "log: bad: object is not"),
        ({"deep": {"x": {1, 2}}}, "log: deep.x: set is not"),
    ],
)
def test_bad_input_to_log_is_one_clear_error(
    registry: RegistryStore, data: Any, message: str
) -> None:
    run = wandb.init(project="p")
    run.log({"ok": 1})
    with pytest.raises(UsageError, match=message):
        run.log(data)
    run.finish()
    rows = wandb.Api().run(f"p/{run.id}").history(pandas=False)
    assert [sorted(r) for r in rows] == [["_runtime", "_step", "_timestamp", "ok"]]


def test_nan_is_kept_in_the_history_and_the_summary(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    run.log({"loss": float("nan")})
    run.finish()
    back = wandb.Api().run(f"p/{run.id}")
    assert np.isnan(back.history(pandas=False)[0]["loss"])
    assert np.isnan(back.summary["loss"])


def test_summary_is_editable_and_follows_define_metric(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    run.define_metric("val/*", summary="min")
    run.define_metric("acc", summary="max,last")
    for loss, acc in [(3.0, 0.1), (1.0, 0.9), (2.0, 0.5)]:
        wandb.log({"val/loss": loss, "acc": acc})
    assert run.summary["val/loss"] == {"min": 1.0}
    assert run.summary["acc"] == {"max": 0.9, "last": 0.5}
    run.summary["best"] = 0.9
    wandb.summary.update({"note": "hand"})
    run.finish()
    back = wandb.Api().run(f"p/{run.id}")
    assert back.summary["best"] == 0.9 and back.summary["note"] == "hand"
    assert back.summary["val/loss"] == {"min": 1.0}
    with pytest.raises(UsageError, match="define_metric: summary 'median'"):
        wandb.init(project="p").define_metric("x", summary="median")


def test_config_as_wandb_has_it(registry: RegistryStore) -> None:
    run = wandb.init(project="p", config={"lr": 0.1})
    wandb.config.batch = 32
    wandb.config.update({"layers": [1, 2]})
    assert run.config.setdefault("lr", 9) == 0.1
    assert wandb.config.as_dict() == {"lr": 0.1, "batch": 32, "layers": [1, 2]}
    run.finish()
    assert wandb.Api().run(f"p/{run.id}").config == {"lr": 0.1, "batch": 32, "layers": [1, 2]}


def test_module_calls_before_init_say_to_call_init() -> None:
    with pytest.raises(UsageError, match=r"log\(\): call init\(\) first"):
        wandb.log({"a": 1})
    with pytest.raises(UsageError, match=r"config: call init\(\) first"):
        wandb.config.lr = 1
    assert wandb.run is None


def test_tags_notes_group_and_name_round_trip(registry: RegistryStore) -> None:
    run = wandb.init(project="p", tags=["baseline", "v1"], notes="first\ntry", group="sweep-1")
    run.tags = (*run.tags, "extra")
    run.name = "renamed"
    run.log({"a": 1})
    run.finish()
    back = wandb.Api().run(f"test-registry/p/{run.id}")
    assert back.tags == ["baseline", "v1", "extra"]
    assert (back.notes, back.group, back.name) == ("first\ntry", "sweep-1", "renamed")
    assert back.path == ["test-registry", "p", run.id]
    assert back.job_type is None and back.state == "finished" and back.created_at


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tags": "one"}, "tags: must be a list of strings"),
        ({"tags": ["a\nb"]}, "tags"),
        ({"tags": ["x" * 65]}, "tags: longer than 64"),
        ({"group": "a\nb"}, "group"),
        ({"mode": "sometimes"}, "mode: 'sometimes'"),
        ({"resume": "must", "id": "nosuchrun"}, "resume='must': run p/nosuchrun does not exist"),
    ],
)
def test_bad_init_arguments_are_refused(
    registry: RegistryStore, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        wandb.init(project="p", **kwargs)


def test_resume_continues_the_history(registry: RegistryStore) -> None:
    first = wandb.init(project="p", id="r1", tags=["t"])
    first.log({"loss": 2.0})
    first.finish()
    again = wandb.init(project="p", id="r1", resume="allow")
    assert again.step == 1 and again.tags == ("t",) and again.summary["loss"] == 2.0
    again.log({"loss": 1.0})
    again.finish()
    rows = wandb.Api().run("p/r1").history(pandas=False)
    assert [(r["_step"], r["loss"]) for r in rows] == [(0, 2.0), (1, 1.0)]
    with pytest.raises(UsageError, match="resume='never': run p/r1 exists"):
        wandb.init(project="p", id="r1", resume="never")


def test_the_run_dir_and_url(registry: RegistryStore) -> None:
    run = wandb.init(project="p", dir="scratch")
    assert Path(run.dir).is_dir() and Path(run.dir).is_relative_to(Path("scratch").resolve())
    assert run.url is None
    run.finish()
    commit(registry.root, {"mkdocs.yml": "site_url: https://r.example.test/\n"}, "site")
    run = wandb.init(project="p")
    assert run.url == f"https://r.example.test/runs/p/{run.id}.html"
    run.finish()


def test_log_use_and_link_a_model(registry: RegistryStore) -> None:
    write("model/weights.bin", b"w1")
    write("model/config.json", b"{}")
    with wandb.init(project="p", job_type="train") as run:
        model = run.log_model("model", name="clf", aliases=["best"])
        assert model.type == "model"
    with wandb.init(project="p", job_type="eval") as run:
        path = Path(run.use_model("clf:best"))
        assert (path / "weights.bin").read_bytes() == b"w1"
        run.link_model("model", "prod/classifier", aliases=["candidate"])
    linked = wandb.Api().artifact("model-registry/prod/classifier:candidate")
    assert linked.digest == wandb.Api().artifact("p/clf:best").digest
    with wandb.init(project="p") as run, pytest.raises(UsageError, match="link_model"):
        run.link_model("model", "a/b/c/d")


def test_create_prod_registry_then_link_model(registry: RegistryStore) -> None:
    create_prod_registry()
    write("m.bin", b"m")
    with wandb.init(project="p") as run:
        run.link_model("m.bin", "model-registry/prod", name="clf", aliases=["staging"])
    assert wandb.Api().artifact("model-registry/prod/clf:staging").name.startswith("clf")


def test_log_artifact_of_a_uri_is_a_reference(registry: RegistryStore) -> None:
    data = write("remote/data.csv", b"a,b\n")
    with FileServer() as server:
        server.put("/files/page.txt", b"hello")
        with wandb.init(project="p") as run:
            local = run.log_artifact(data.resolve().as_uri(), name="csv", type="dataset")
            web = run.log_artifact(server.url("/files/page.txt"), aliases=["web"])
        entries = wandb.Api().artifact("p/csv:latest")._logged().entries
        assert [e.ref for e in entries] == [data.resolve().as_uri()]
        assert web.name.startswith("page.txt") and web.type == "unspecified"
        assert local.type == "dataset"
        back = wandb.Api().artifact("p/page.txt:web").download("got")
        assert (Path(back) / "page.txt").read_bytes() == b"hello"


def test_a_run_file_without_the_new_keys_still_reads() -> None:
    old = {
        "kind": "run",
        "id": "r1",
        "project": "p",
        "name": "r1",
        "job_type": None,
        "status": "finished",
        "started_at": "2024-01-01T00:00:00Z",
        "finished_at": None,
        "code": None,
        "config": {},
        "inputs": [],
        "outputs": [],
    }
    record = RunRecord.from_doc(old)
    assert record.tags == () and record.summary == {} and record.history is None
    assert record.to_doc() == old


def test_a_long_run_writes_its_history_as_it_goes(
    registry: RegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.0)
    run = wandb.init(project="p")
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    # Readable before finish: a crash later keeps what was logged so far.
    back = wandb.Api().run(f"p/{run.id}")
    assert back.state == "running" and back.summary["loss"] == 0.5
    assert [r["loss"] for r in back.scan_history()] == [1.0, 0.5]
    run.finish()
    assert _run_doc(registry, "p", run.id)["history"]["rows"] == 2
