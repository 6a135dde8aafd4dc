from __future__ import annotations

import registry_tool as wandb
from tests.helpers import git_log, write


def test_log_and_use_roundtrip(registry):
    write("data/train.csv", "a,b\n1,2\n")
    run = wandb.init(project="p")
    art = wandb.Artifact("data", type="dataset")
    art.add_file("data/train.csv")
    run.log_artifact(art)
    assert art.version == "v0"
    run.finish()
    got = wandb.Api().artifact("p/data:latest")
    assert got.digest == art.digest
    assert git_log(registry.root)[0].startswith("finish run")
