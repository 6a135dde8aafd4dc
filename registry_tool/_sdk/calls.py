"""The module-level calls of ``wandb`` that act on the current run (``wandb.log``,
``wandb.log_artifact``...), with W&B's own signatures, so that a script calling them
with W&B's keywords, or positionally, works unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.run import Run, current_run
from registry_tool.errors import UsageError


def _require(call: str) -> Run:
    run = current_run()
    if run is None:
        raise UsageError(f"{call}: call init() first")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``wandb.log``: log a row to the current run (``Run.log``)."""
    _require("log()").log(data, step=step, commit=commit)


def define_metric(
    name: str,
    step_metric: str | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> None:
    """``wandb.define_metric``: ``Run.define_metric`` of the current run."""
    _require("define_metric()").define_metric(
        name, step_metric, step_sync, hidden, summary, goal, overwrite
    )


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> Artifact:
    """``wandb.log_artifact``: ``Run.log_artifact`` of the current run."""
    return _require("log_artifact()").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: list[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    """``wandb.use_artifact``: ``Run.use_artifact`` of the current run."""
    return _require("use_artifact()").use_artifact(artifact_or_name, type, aliases, use_as)


def log_model(
    path: str | os.PathLike[str], name: str | None = None, aliases: list[str] | None = None
) -> Artifact:
    """``wandb.log_model``: ``Run.log_model`` of the current run."""
    return _require("log_model()").log_model(path, name, aliases)


def use_model(name: str) -> str:
    """``wandb.use_model``: ``Run.use_model`` of the current run."""
    return _require("use_model()").use_model(name)


def link_model(
    path: str | os.PathLike[str],
    registered_model_name: str,
    name: str | None = None,
    aliases: list[str] | None = None,
) -> Artifact:
    """``wandb.link_model``: ``Run.link_model`` of the current run."""
    return _require("link_model()").link_model(path, registered_model_name, name, aliases)
