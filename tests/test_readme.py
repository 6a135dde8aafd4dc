"""The README's 30-second tour of the Python API runs as written (so it stays true)."""

from __future__ import annotations

import re
from pathlib import Path

import registry_tool as wandb
from tests.helpers import write

README = Path(__file__).parents[1] / "README.md"


def tour() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## 30 seconds of the Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Python tour has no python block"
    return match.group(1)


def test_the_readme_python_tour_runs(registry, capsys):
    # What the tour takes as given: a dataset already logged, and the files it adds.
    write("stale.csv", "a,b\n1,2\n")
    with wandb.init(project="my-project", job_type="prepare") as run:
        data = wandb.Artifact("training-data", type="dataset")
        data.add_file("stale.csv")
        run.log_artifact(data)
    write("model.pth", "weights")
    write("tokenizer/vocab.txt", "a\nb\n")
    write("fresh.csv", "a,b\n3,4\n")
    exec(compile(tour(), str(README), "exec"), {"__name__": "__readme__"})
    prod = wandb.Api().artifact("my-project/classifier:production")
    assert prod.metadata["reviewed"] is True and "best" in prod.aliases
    run = prod.logged_by()
    assert run is not None and run.summary["best_acc"] == 0.9
    assert len(run.history()) == 3
    assert "v0" in capsys.readouterr().out
