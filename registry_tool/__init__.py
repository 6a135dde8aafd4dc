"""registry-tool: a Git-backed artifact and model registry with no server.

Written to be a drop-in for the W&B Artifacts API::

    import registry_tool as wandb

    run = wandb.init(project="my-project")
    data = wandb.Artifact("training-data", type="dataset")
    data.add_file("train.csv")
    run.log_artifact(data, aliases=["best"])
    wandb.finish()
"""

from registry_tool import errors
from registry_tool._sdk import Api, Artifact, Image, Run, Table, finish, init
from registry_tool._sdk.run import current_run as _current_run
from registry_tool._version import __version__
from registry_tool.errors import (
    ArtifactError,
    CorruptBlobError,
    DocumentError,
    GateError,
    GitError,
    InvalidNameError,
    NotFoundError,
    ProtectedAliasError,
    RegistryError,
    StorageError,
    UsageError,
    VerificationError,
)

__all__ = [
    "Api",
    "Artifact",
    "ArtifactError",
    "CorruptBlobError",
    "DocumentError",
    "GateError",
    "GitError",
    "Image",
    "InvalidNameError",
    "NotFoundError",
    "ProtectedAliasError",
    "RegistryError",
    "Run",
    "StorageError",
    "Table",
    "UsageError",
    "VerificationError",
    "__version__",
    "errors",
    "finish",
    "init",
]


def __getattr__(name: str) -> Run | None:
    # ``wandb.run`` is the current run, as in W&B.
    if name == "run":
        return _current_run()
    raise AttributeError(f"module 'registry_tool' has no attribute {name!r}")
