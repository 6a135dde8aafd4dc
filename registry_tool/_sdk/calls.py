"""The module-level calls of ``wandb`` that act on the current run (``wandb.log``,
``wandb.log_artifact``...), with W&B's own signatures, so that a script calling them
with W&B's keywords, or positionally, works unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

from registry_tool._engine import Context
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.run import Run, current_run, finish
from registry_tool._sdk.run_files import find_run, restore_file
from registry_tool._sdk.settings import Settings, as_settings
from registry_tool.errors import UnsupportedError, UsageError

# W&B's record of the libraries it patched for its integrations: none here.
patched: dict[str, list[Any]] = {"tensorboard": [], "keras": [], "gym": []}
# ``wandb.require`` names of W&B's internal process: nothing here depends on them.
_REQUIREMENTS = ("core", "service", "legacy-service")


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
    overwrite: bool | None = None,
    goal: str | None = None,
) -> None:
    """``wandb.define_metric``: ``Run.define_metric`` of the current run."""
    _require("define_metric()").define_metric(
        name, step_metric, step_sync, hidden, summary, overwrite, goal
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


def save(
    glob_str: str | os.PathLike[str] | None = None,
    base_path: str | os.PathLike[str] | None = None,
    policy: str = "live",
    glob: str | os.PathLike[str] | None = None,
) -> list[str]:
    """``wandb.save``: ``Run.save`` of the current run."""
    return _require("save()").save(glob_str, base_path, policy, glob)


def restore(
    name: str,
    run_path: str | None = None,
    replace: bool = False,
    root: str | os.PathLike[str] | None = None,
) -> IO[str]:
    """``wandb.restore``: a file a run saved, written under ``root`` (the current run's
    ``dir``, else the current folder) and opened for reading."""
    run = current_run()
    if run is not None:
        return run.restore(name, run_path, replace, root)
    if run_path is None:
        raise UsageError("restore(): call init() first or pass run_path")
    ctx = Context.open()
    return restore_file(ctx, find_run(ctx, run_path, None), name, root or ".", replace)


def pin_config_keys(keys: Any = None) -> None:
    """``wandb.pin_config_keys``: ``Run.pin_config_keys`` of the current run."""
    _require("pin_config_keys()").pin_config_keys(keys)


class _Setup:
    """What ``wandb.setup()`` returns: the settings later runs start with."""

    def __init__(self) -> None:
        self.settings = Settings()


_SETUP: list[_Setup] = []


def setup(settings: Settings | dict[str, Any] | None = None) -> _Setup:
    """``wandb.setup``: the one setup object of this process (made on first use), its
    settings updated with ``settings``."""
    if not _SETUP:
        _SETUP.append(_Setup())
    if settings is not None:
        _SETUP[0].settings.update(as_settings(settings))
    return _SETUP[0]


def teardown(exit_code: int | None = None) -> None:
    """``wandb.teardown``: finish the current run (failed for a non-zero exit code) and
    forget the setup."""
    finish(exit_code)
    _SETUP.clear()


def join(exit_code: int | None = None) -> None:
    """``wandb.join``: W&B's old name of ``finish``."""
    finish(exit_code)


def require(requirement: str | None = None, experiment: str | None = None) -> None:
    """``wandb.require``: W&B's switches of its internal process (``"core"``,
    ``"service"``) change nothing here; any other is refused, as W&B refuses one it does
    not know."""
    for name in (requirement, experiment):
        if name is not None and name not in _REQUIREMENTS:
            raise UnsupportedError(
                f"require: {name!r} is not supported (known: {', '.join(_REQUIREMENTS)})"
            )
