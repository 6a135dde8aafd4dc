"""registry-tool: a Git-backed artifact and model registry with no server.

Written to be a drop-in for the W&B Artifacts API::

    import registry_tool as wandb

    run = wandb.init(project="my-project", config={"lr": 0.01})
    wandb.log({"loss": 0.3})
    data = wandb.Artifact("training-data", type="dataset")
    data.add_file("train.csv")
    run.log_artifact(data, aliases=["best"])
    wandb.finish()

``wandb.run``, ``wandb.config`` and ``wandb.summary`` are the current run's (before
``init`` the first is None and the others say to call it).
"""

from typing import Any as _Any

from registry_tool import errors
from registry_tool._sdk import Api, Artifact, Image, Run, Table, finish, init
from registry_tool._sdk import unsupported as _unsupported
from registry_tool._sdk.artifact_ttl import ArtifactTTL
from registry_tool._sdk.calls import (
    define_metric,
    join,
    link_model,
    log,
    log_artifact,
    log_model,
    patched,
    pin_config_keys,
    require,
    restore,
    save,
    setup,
    teardown,
    use_artifact,
    use_model,
)
from registry_tool._sdk.media import (
    Audio,
    Classes,
    Graph,
    Histogram,
    Html,
    JoinedTable,
    Molecule,
    Object3D,
    Plotly,
    Video,
    box3d,
)
from registry_tool._sdk.public_run import Config
from registry_tool._sdk.public_run import PreInit as _PreInit
from registry_tool._sdk.run import current_run as _current_run
from registry_tool._sdk.settings import (
    AlertLevel,
    Settings,
    termerror,
    termlog,
    termsetup,
    termwarn,
)
from registry_tool._version import __version__
from registry_tool.errors import (
    ArtifactError,
    CommError,
    CorruptBlobError,
    DocumentError,
    Error,
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
    "AlertLevel",
    "Api",
    "Artifact",
    "ArtifactError",
    "ArtifactTTL",
    "Audio",
    "Classes",
    "CommError",
    "Config",
    "CorruptBlobError",
    "DocumentError",
    "Error",
    "GateError",
    "GitError",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "InvalidNameError",
    "JoinedTable",
    "Molecule",
    "NotFoundError",
    "Object3D",
    "Plotly",
    "ProtectedAliasError",
    "RegistryError",
    "Run",
    "Settings",
    "StorageError",
    "Table",
    "UsageError",
    "VerificationError",
    "Video",
    "__version__",
    "box3d",
    "define_metric",
    "errors",
    "finish",
    "init",
    "join",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "patched",
    "pin_config_keys",
    "require",
    "restore",
    "save",
    "setup",
    "teardown",
    "termerror",
    "termlog",
    "termsetup",
    "termwarn",
    "use_artifact",
    "use_model",
]
# W&B's module-level calls that need a W&B server (``wandb.watch``, ``wandb.login``...):
# each raises UnsupportedError saying why.
__all__ += _unsupported.install_module(globals())
__all__.sort()


def __getattr__(name: str) -> _Any:
    # ``wandb.run``, ``wandb.config`` and ``wandb.summary`` follow the current run, as
    # in W&B: they are looked up on each use, never bound at import.
    run = _current_run()
    if name == "run":
        return run
    if name in ("config", "summary"):
        return getattr(run, name) if run is not None else _PreInit(name)
    raise AttributeError(f"module 'registry_tool' has no attribute {name!r}")
