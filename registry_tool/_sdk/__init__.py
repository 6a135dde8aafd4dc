"""The wandb-style facade (Run, Artifact, Api, Table, Image) over the store and blobs."""

from registry_tool._engine.download import VerifyReport
from registry_tool._sdk import unsupported
from registry_tool._sdk.api import Api
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.media import Image, Table
from registry_tool._sdk.public_run import PublicRun
from registry_tool._sdk.run import Run, current_run, finish, init

# W&B members that need a W&B server, where these classes do not define them: each
# raises UnsupportedError saying why (``_sdk/unsupported.py``).
unsupported.install()

__all__ = [
    "Api",
    "Artifact",
    "Image",
    "PublicRun",
    "Run",
    "Table",
    "VerifyReport",
    "current_run",
    "finish",
    "init",
]
