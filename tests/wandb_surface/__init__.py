"""The recorded surface of the real wandb package, and how registry-tool compares."""
