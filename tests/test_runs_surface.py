"""The rest of W&B's run surface: ``wandb.init`` in W&B's order with its settings,
files saved into a run and restored, the code artifact, console logs, the module-level
helpers (``termlog``, ``setup``, ``require``...) and the public run's members."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool import _yamlio as yamlio
from registry_tool._model.layout import run_file, version_file
from registry_tool._store import RegistryStore
from registry_tool.errors import NotFoundError, UnsupportedError, UsageError
from tests.helpers import commit, write

ROOT = Path(__file__).resolve().parent.parent


def _doc(store: RegistryStore, project: str, run_id: str) -> dict[str, Any] | None:
    data = store.head().read(run_file(project, run_id))
    return None if data is None else yamlio.loads(data, "run")


# -- init ------------------------------------------------------------------------------


def test_init_takes_wandbs_positional_order(registry: RegistryStore, tmp_path: Path) -> None:
    run = wandb.init(
        "test-registry", "p", str(tmp_path / "d"), "r1", "the-name", "notes", ["t"], {"a": 1}
    )
    assert (run.entity, run.project, run.id, run.name) == ("test-registry", "p", "r1", "the-name")
    assert run.notes == "notes" and run.tags == ("t",) and dict(run.config) == {"a": 1}
    assert Path(run.dir).is_relative_to(tmp_path / "d")
    run.finish()


def test_init_config_include_and_exclude_keys(registry: RegistryStore) -> None:
    config = {"lr": 0.1, "batch": 32, "seed": 1}
    run = wandb.init(project="p", config=config, config_exclude_keys=["seed"])
    assert dict(run.config) == {"lr": 0.1, "batch": 32}
    run.finish()
    run = wandb.init(project="p", config=config, config_include_keys=["lr"])
    assert dict(run.config) == {"lr": 0.1}
    run.finish()
    with pytest.raises(UsageError, match="config_include_keys and config_exclude_keys"):
        wandb.init(project="p", config=config, config_include_keys=["a"], config_exclude_keys=["b"])


def test_init_reinit_finishes_or_keeps_the_current_run(registry: RegistryStore) -> None:
    first = wandb.init(project="p")
    assert wandb.init(project="p", reinit="return_previous") is first
    assert wandb.init(project="p", reinit=False) is first
    second = wandb.init(project="p", reinit="create_new")
    assert second is not first and wandb.run is second and not first._finished
    third = wandb.init(project="p", reinit="finish_previous")
    assert second._finished and not first._finished and wandb.run is third
    fourth = wandb.init(project="p")  # the default outside a notebook: finish_previous
    assert third._finished and fourth is not third
    with pytest.raises(UsageError, match="reinit: 'sometimes'"):
        wandb.init(project="p", reinit="sometimes")
    fourth.finish()
    first.finish()


def test_init_settings_and_refused_options(registry: RegistryStore) -> None:
    run = wandb.init(settings=wandb.Settings(project="sp", run_name="from-settings"))
    assert (run.project, run.name) == ("sp", "from-settings")
    assert run.settings.project == "sp" and run.settings.run_id == run.id
    run.finish()
    run = wandb.init(project="p", settings={"run_tags": ["x"], "mode": "offline"})
    assert run.tags == ("x",) and run.settings.mode == "offline"
    run.finish()
    with pytest.raises(UsageError, match="Settings: unknown field 'colour'"):
        wandb.init(project="p", settings={"colour": "red"})
    with pytest.raises(UsageError, match="settings: must be a Settings or a dict"):
        wandb.init(project="p", settings=3)
    for kwargs in ({"sync_tensorboard": True}, {"monitor_gym": True}, {"fork_from": "a?_step=1"}):
        with pytest.raises(UnsupportedError, match=next(iter(kwargs))):
            wandb.init(project="p", **kwargs)
    assert wandb.run is None  # nothing was started by a refused call


def test_settings_fields_are_checked() -> None:
    settings = wandb.Settings(silent=True)
    assert settings.silent is True and settings.project is None
    settings.update(project="p")
    assert settings.to_dict()["project"] == "p"
    with pytest.raises(UsageError, match="Settings: unknown field 'nope'"):
        wandb.Settings(nope=1)
    with pytest.raises(UsageError, match="Settings: unknown field 'nope'"):
        settings.update({"nope": 1})


# -- save and restore ------------------------------------------------------------------


def test_save_then_restore_from_a_fresh_process(registry: RegistryStore, tmp_path: Path) -> None:
    write("ckpt/model.pt", b"weights")
    write("ckpt/sub/opt.pt", b"opt")
    write("ckpt/notes.txt", "skip me")
    run = wandb.init(project="p", id="s1")
    saved = wandb.save("ckpt/**/*.pt", base_path="ckpt")
    assert sorted(Path(p).relative_to(run.dir).as_posix() for p in saved) == [
        "model.pt",
        "sub/opt.pt",
    ]
    write("ckpt/model.pt", b"weights-v2")  # "live": the final bytes are kept
    run.finish()
    code = (
        "import registry_tool as wandb, sys\n"
        "with wandb.restore('model.pt', run_path='p/s1', root=sys.argv[1]) as f:\n"
        "    print(f.read())\n"
        "print(sorted(x.name for x in wandb.Api().run('p/s1').files()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "back")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "REGISTRY_TOOL_DIR": str(registry.root)},
    ).stdout.splitlines()
    assert out == ["weights-v2", "['model.pt', 'sub/opt.pt']"]


def test_save_policy_now_keeps_the_bytes_of_the_call(registry: RegistryStore) -> None:
    write("m.bin", b"one")
    run = wandb.init(project="p")
    run.save("m.bin", policy="now")
    write("m.bin", b"two")
    run.finish()
    back = wandb.Api().run(f"p/{run.id}")
    assert back.file("m.bin").download(root="out").read_bytes() == b"one"


def test_save_and_restore_refuse_bad_input(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    with pytest.raises(UsageError, match="save: policy 'sometimes'"):
        run.save("*.txt", policy="sometimes")
    write("a.txt", "a")
    with pytest.raises(UsageError, match=r"save: .*a\.txt is not under base_path"):
        run.save(str(Path("a.txt").resolve()), base_path="elsewhere")
    assert run.save("nothing-*.bin") == []
    with pytest.raises(NotFoundError, match="run p/" + run.id + " saved no file 'missing.txt'"):
        run.restore("missing.txt")
    run.finish()
    with pytest.raises(UsageError, match=r"restore\(\): call init\(\) first or pass run_path"):
        wandb.restore("a.txt")
    with pytest.raises(NotFoundError, match="run p/nosuch"):
        wandb.restore("a.txt", run_path="p/nosuch")


def test_restore_does_not_overwrite_without_replace(registry: RegistryStore) -> None:
    write("w.bin", b"saved")
    run = wandb.init(project="p", id="s2")
    run.save("w.bin")
    run.finish()
    write("here/w.bin", b"mine")
    with wandb.restore("w.bin", run_path="p/s2", root="here") as kept:
        assert kept.read() == "mine"
    with wandb.restore("w.bin", run_path="p/s2", root="here", replace=True) as replaced:
        assert replaced.read() == "saved"


# -- code, logs and the rest of the live run ---------------------------------------------


def test_log_code_logs_the_source_as_a_code_artifact(registry: RegistryStore) -> None:
    write("src/train.py", "print(1)\n")
    write("src/requirements.txt", "numpy\n")
    write("src/data.csv", "x\n")
    write("src/.venv/lib/x.py", "no\n")
    write("src/wandb/run-x/files/y.py", "no\n")
    run = wandb.init(project="p", id="c1")
    art = run.log_code("src")
    assert art is not None and art.type == "code" and art.name.startswith("source-p-c1")
    assert sorted(art.manifest.entries) == ["requirements.txt", "train.py"]
    only = run.log_code("src", name="only-csv", include_fn=lambda path, root: path.endswith(".csv"))
    assert only is not None and sorted(only.manifest.entries) == ["data.csv"]
    assert run.log_code("src", include_fn=lambda path: path.endswith(".none")) is None
    run.finish()
    outputs = wandb.Api().run("p/c1").logged_artifacts()
    assert sorted(a.type for a in outputs) == ["code", "code"]


def test_write_logs_become_console_logs(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    run.write_logs("epoch 1\n")
    run.write_logs("epoch 2\nepoch 3\n")
    run.finish()
    back = wandb.Api().run(f"p/{run.id}")
    assert back.console_logs() == ["epoch 1", "epoch 2", "epoch 3"]
    assert back.console_logs(last=1) == ["epoch 3"]
    quiet = wandb.init(project="p")
    quiet.log({"a": 1})
    quiet.finish()
    assert wandb.Api().run(f"p/{quiet.id}").console_logs() == []


def test_the_live_run_properties(registry: RegistryStore) -> None:
    run = wandb.init(project="p", id="l1", config={"lr": 0.1})
    assert run.config_static.lr == 0.1 and run.config_static["lr"] == 0.1
    with pytest.raises(TypeError):
        run.config_static["lr"] = 2  # type: ignore[index]
    assert run.starting_step == 0 and run.project_url is None
    assert Path(run.sync_dir) == Path(run.dir).parent
    assert run.to_html() == "<p>run <code>run-l1</code> (no site URL)</p>"
    assert run.display() is False  # not in a notebook
    run.pin_config_keys(["lr"])
    with pytest.raises(UsageError, match="pin_config_keys: 'nope' is not in the config"):
        run.pin_config_keys(["nope"])
    run.log({"a": 1})
    run.finish()
    commit(registry.root, {"mkdocs.yml": "site_url: https://r.example.test/x/\n"}, "site")
    again = wandb.init(project="p", id="l1", resume="allow")
    again.name = "<b>"
    assert again.starting_step == 1
    assert again.project_url == "https://r.example.test/x/artifacts/p/index.html"
    html = again.to_html(height=300)
    assert 'href="https://r.example.test/x/runs/p/l1.html"' in html and "&lt;b&gt;" in html
    assert 'style="display:none"' in again.to_html(hidden=True)
    again.finish()


def test_distributed_artifacts_are_refused(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    for call in (run.upsert_artifact, run.finish_artifact):
        with pytest.raises(UnsupportedError, match="distributed"):
            call("x", distributed_id="d")
    run.finish()


def test_define_metric_takes_wandbs_order(registry: RegistryStore) -> None:
    run = wandb.init(project="p")
    wandb.define_metric("loss", None, None, None, "min", True)
    run.define_metric("acc", None, None, None, "best", False, "maximize")
    for v in (1.0, 3.0, 2.0):
        run.log({"loss": v, "acc": v})
    assert run.summary["loss"] == {"min": 1.0} and run.summary["acc"] == {"best": 3.0}
    run.finish()


# -- module-level helpers --------------------------------------------------------------


def test_term_functions_print_escaped_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    wandb.termlog("hello \x1b[31mred")
    wandb.termwarn("careful")
    wandb.termerror("broken", prefix=False)
    wandb.termlog("once", repeat=False)
    wandb.termlog("once", repeat=False)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "wandb: hello \\x1b[31mred",
        "wandb: WARNING careful",
        "broken",
        "wandb: once",
    ]
    wandb.termsetup(wandb.Settings(silent=True), None)
    try:
        wandb.termlog("hidden")
        assert capsys.readouterr().err == ""
    finally:
        wandb.termsetup(wandb.Settings(), None)


def test_setup_require_join_teardown(registry: RegistryStore) -> None:
    assert wandb.setup() is wandb.setup()
    assert wandb.setup(settings=wandb.Settings(project="q")).settings.project == "q"
    wandb.require("core")
    with pytest.raises(UnsupportedError, match="require: 'no-such-feature'"):
        wandb.require("no-such-feature")
    assert wandb.patched == {"tensorboard": [], "keras": [], "gym": []}
    run = wandb.init(project="p")
    wandb.pin_config_keys([])
    wandb.join()
    assert run._finished and wandb.run is None
    other = wandb.init(project="p")
    other.log({"a": 1})
    wandb.teardown(exit_code=1)
    assert other._finished
    assert wandb.Api().run(f"p/{other.id}").state == "failed"


def test_module_level_names() -> None:
    assert wandb.Error is wandb.errors.Error and wandb.CommError is wandb.errors.CommError
    assert wandb.Config is type(wandb.Config({"a": 1})) and wandb.Config(a=1).a == 1
    assert wandb.AlertLevel.WARN.value == "WARN" and wandb.ArtifactTTL.INHERIT
    with pytest.raises(UnsupportedError):
        wandb.alert(title="t", text="x", level=wandb.AlertLevel.INFO)


# -- the public run --------------------------------------------------------------------


def test_public_run_reads(registry: RegistryStore) -> None:
    run = wandb.init(project="p", id="p1", config={"lr": 0.1, "n": {"a": 1}})
    run.log({"loss": 0.5})
    run.log({"loss": 0.25})
    run.finish()
    back = wandb.Api().run("p/p1")
    assert back.summary_metrics["loss"] == 0.25
    assert back.rawconfig == {"lr": 0.1, "n": {"a": 1}}
    assert json.loads(back.json_config) == {
        "lr": {"value": 0.1, "desc": None},
        "n": {"value": {"a": 1}, "desc": None},
    }
    assert back.metadata == {} and back.system_metrics == {}
    assert back.dir.endswith(os.path.join("test-registry", "p", "p1"))
    assert [r["loss"] for r in back.beta_scan_history(keys=["loss"])] == [0.5, 0.25]
    assert list(back.scan_history(["loss"], 1000, 1, None, False)) == [{"loss": 0.25}]
    assert back.snake_to_camel("job_type_x") == "jobTypeX"
    assert back.wait_until_finished() is None
    assert back.to_html() == "<p>run <code>run-p1</code> (no site URL)</p>"
    assert back.display() is False
    assert back.files(None, "*.none") == [] and back.logged_artifacts(10) == []
    assert back.used_artifacts(10) == []


def test_public_run_load_rereads_and_save_writes(registry: RegistryStore) -> None:
    run = wandb.init(project="p", id="p2", config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.finish()
    api = wandb.Api()
    back = api.run("p/p2")
    other = api.run("p/p2")
    back.summary["best"] = 0.5
    back.config["lr"] = 0.2
    back.save()
    assert other.summary_metrics.get("best") is None
    loaded = other.load(force=True)
    assert loaded["config"] == {"lr": 0.2} and other.summary_metrics["best"] == 0.5
    assert other.load_full_data()["summary"]["best"] == 0.5
    assert _doc(registry, "p", "p2")["config"] == {"lr": 0.2}  # type: ignore[index]


def test_public_run_update_state_upload_file_and_delete(registry: RegistryStore) -> None:
    run = wandb.init(project="p", id="p3")
    run.log({"a": 1})
    run.finish()
    back = wandb.Api().run("p/p3")
    assert back.update_state("crashed") is True
    assert wandb.Api().run("p/p3").state == "crashed"
    with pytest.raises(UnsupportedError, match="pending"):
        back.update_state("pending")
    with pytest.raises(UsageError, match="update_state: 'sleeping'"):
        back.update_state("sleeping")
    write("up/dir/f.txt", "uploaded")
    entry = back.upload_file("up/dir/f.txt", root="up")
    assert entry.name == "dir/f.txt"
    assert wandb.Api().run("p/p3").file("dir/f.txt").download(root="o").read_text() == "uploaded"
    with pytest.raises(UsageError, match=r"upload_file: .* is not under"):
        back.upload_file("up/dir/f.txt", root="elsewhere")
    back.delete()
    assert _doc(registry, "p", "p3") is None
    with pytest.raises(NotFoundError):
        wandb.Api().run("p/p3")


def test_public_run_log_and_use_artifact_record_lineage(registry: RegistryStore) -> None:
    write("d.txt", "data")
    run = wandb.init(project="p", id="p4")
    run.log({"a": 1})
    run.finish()
    back = wandb.Api().run("p/p4")
    art = wandb.Artifact("later", type="dataset")
    art.add_file("d.txt")
    logged = back.log_artifact(art, aliases=["best"])
    assert logged.version == "v0" and "best" in logged.aliases
    used = back.use_artifact("p/later:v0")
    assert used.version == "v0"
    again = wandb.Api().run("p/p4")
    assert [a.name for a in again.logged_artifacts()] == ["later:v0"]
    assert [a.name for a in again.used_artifacts()] == ["later:v0"]
    with pytest.raises(UsageError, match="log_artifact: artifact must be an Artifact"):
        back.log_artifact("d.txt")  # type: ignore[arg-type]


def test_public_run_delete_with_artifacts(registry: RegistryStore) -> None:
    write("d.txt", "data")
    run = wandb.init(project="p", id="p5")
    art = wandb.Artifact("out", type="dataset")
    art.add_file("d.txt")
    run.log_artifact(art)
    run.finish()
    wandb.Api().run("p/p5").delete(delete_artifacts=True)
    assert _doc(registry, "p", "p5") is None
    version = yamlio.loads(registry.head().read(version_file("p", "out", 0)), "v")
    assert version.get("deleted")


def test_init_save_code_logs_the_main_script(
    registry: RegistryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write("proj/train.py", "print('train')\n")
    write("proj/other.py", "print('other')\n")
    monkeypatch.setattr(sys, "argv", [str(script)])
    run = wandb.init(project="p", id="sc", save_code=True)
    run.finish()
    (code,) = wandb.Api().run("p/sc").logged_artifacts()
    assert code.type == "code" and code.name == "source-p-train.py:v0"
    assert sorted(code.manifest.entries) == ["train.py"]
    plain = wandb.init(project="p", id="nosc")
    plain.log({"a": 1})
    plain.finish()
    assert wandb.Api().run("p/nosc").logged_artifacts() == []
