"""An evaluation as a W&B user writes it, in a process of its own after training: the
``best`` checkpoint fetched through ``wandb.Api()``, downloaded, scored; an evaluation
run that uses it, logs the score and an evaluation artifact, and links the checkpoint
into the model registry at ``staging``. Production is protected here: the test moves it
by ``registry-tool promote --pr`` (where a W&B user would click in the UI).

The registry comes from ``REGISTRY_TOOL_DIR``. The last line printed is JSON the test
reads.
"""

import json

import registry_tool as wandb

api = wandb.Api()
artifact = api.artifact("mnist/mnist-cnn:best")
model_dir = artifact.download()

with open(f"{model_dir}/model.pth") as f:
    weights = json.load(f)["weights"]
test_acc = round(weights[1] - 0.02, 4)  # "evaluation": a little below validation

run = wandb.init(project="mnist", job_type="eval", config={"checkpoint": artifact.name})
model = run.use_artifact(artifact)
wandb.log({"test": {"acc": test_acc}})
run.summary["test_acc"] = test_acc

with open("metrics.json", "w") as f:
    json.dump({"test_acc": test_acc, "checkpoint": artifact.name}, f)
report = wandb.Artifact("mnist-cnn-eval", type="evaluation", metadata={"test_acc": test_acc})
report.add_file("metrics.json")
run.log_artifact(report)

linked = run.link_artifact(model, "model-registry/mnist-models", aliases=["staging"])

print(
    json.dumps(
        {
            "run_id": run.id,
            "checkpoint": artifact.name,
            "test_acc": test_acc,
            "linked": linked.name,
        }
    )
)
wandb.finish()
