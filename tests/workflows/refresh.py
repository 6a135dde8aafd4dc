"""A nightly dataset refresh as a W&B user writes it: the current ``dataset:latest``
taken as a draft of the next version (``new_draft()``), today's file added, the labels
replaced, the oldest day removed, logged with a ``nightly`` alias. Files that did not
change are not uploaded again.

Run in a fresh process from a work folder holding ``incoming/``; the registry comes
from ``REGISTRY_TOOL_DIR``. The last line printed is JSON the test reads.
"""

import json

import registry_tool as wandb

run = wandb.init(project="catalog", job_type="nightly-refresh")

dataset = run.use_artifact("dataset:latest")
draft = dataset.new_draft()

draft.add_file("incoming/2026-12-03.csv", name="days/2026-12-03.csv")  # today's rows
draft.add_file("incoming/labels.csv", name="labels.csv", overwrite=True)  # new labels
draft.remove("days/2026-12-01.csv")  # older than the window
draft.metadata["days"] = 2
draft.metadata["refreshed"] = "2026-12-03"

run.log_artifact(draft, aliases=["nightly"])
draft.wait()  # as in W&B: the version is known once logging is done

print(
    json.dumps(
        {
            "run_id": run.id,
            "base": dataset.name,
            "version": draft.version,
            "files": sorted(entry.name for entry in draft.files()),
        }
    )
)
wandb.finish()
