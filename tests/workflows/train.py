"""A training script as a W&B user writes it, run unchanged with ``import registry_tool
as wandb``: config and tags given to ``init``, per-epoch metrics logged with nested
dicts, a checkpoint logged every epoch (``latest`` and ``epoch-N`` on each, ``best``
moving to the best one), the summary read at the end.

Run in a fresh process from a work folder; the registry comes from
``REGISTRY_TOOL_DIR``. The last line printed is JSON the test reads.
"""

import json

import registry_tool as wandb

# What "training" reaches each epoch: epoch 1 is the best, epoch 2 is the last.
VAL_ACC = [0.61, 0.82, 0.77]

config = {
    "lr": 0.01,
    "epochs": 3,
    "batch_size": 32,
    "optimizer": {"name": "sgd", "momentum": 0.9},
}

run = wandb.init(project="mnist", job_type="train", config=config, tags=["baseline", "cnn"])

best_acc = 0.0
for epoch in range(wandb.config.epochs):
    train_loss = round(1.0 / (epoch + 1), 4)
    val_acc = VAL_ACC[epoch]
    wandb.log(
        {
            "epoch": epoch,
            "train": {"loss": train_loss},
            "val": {"acc": val_acc, "loss": round(1 - val_acc, 4)},
        }
    )

    checkpoint_path = f"checkpoint_epoch_{epoch}.pth"
    with open(checkpoint_path, "w") as f:
        json.dump({"epoch": epoch, "weights": [wandb.config.lr * epoch, val_acc]}, f)

    checkpoint = wandb.Artifact(
        "mnist-cnn", type="model", metadata={"epoch": epoch, "val_acc": val_acc}
    )
    checkpoint.add_file(checkpoint_path, name="model.pth")
    aliases = ["latest", f"epoch-{epoch}"]
    if val_acc > best_acc:
        best_acc = val_acc
        aliases.append("best")
    run.log_artifact(checkpoint, aliases=aliases)

run.summary["best_val_acc"] = best_acc
print(
    json.dumps(
        {
            "run_id": run.id,
            "last_val_acc": run.summary["val"]["acc"],
            "best_val_acc": run.summary["best_val_acc"],
            "lr": run.config["lr"],
            "momentum": wandb.config.optimizer["momentum"],
        }
    )
)
wandb.finish()
