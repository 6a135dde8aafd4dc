"""The model calls of ``Run`` (``log_model``, ``use_model``, ``link_model``): a file or
folder logged as a ``model`` artifact and linked into a model registry, as W&B's are."""

from __future__ import annotations

import os
from pathlib import Path

from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.run_like import RunLike
from registry_tool.errors import UsageError


class RunModels:
    """The members of ``Run`` that log, use and link models."""

    def _model(
        self: RunLike, path: str | os.PathLike[str], name: str | None, call: str
    ) -> Artifact:
        local = Path(path)
        if not local.exists():
            raise UsageError(f"{call}: {local} does not exist")
        artifact = Artifact(name or f"run-{self.id}-{local.name}", "model")
        if local.is_dir():
            artifact.add_dir(local)
        else:
            artifact.add_file(local)
        return artifact

    def log_model(
        self: RunLike,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Artifact:
        """Log a file or folder as a ``model`` artifact (named ``run-<id>-<file>`` by
        default, as W&B names it)."""
        self._check_open()
        return self.log_artifact(self._model(path, name, "log_model"), aliases=aliases)

    def use_model(self: RunLike, name: str) -> str:
        """Use a ``model`` artifact and return the folder it was downloaded to."""
        artifact = self.use_artifact(name)
        if artifact.type != "model":
            raise UsageError(
                f"use_model: {artifact.qualified_name} is of type {artifact.type!r}, not 'model'"
            )
        return artifact.download()

    def link_model(
        self: RunLike,
        path: str | os.PathLike[str],
        registered_model_name: str,
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Artifact:
        """Log a ``model`` artifact and link it into a model registry.

        ``registered_model_name`` is the collection in the ``model`` registry (W&B's
        Model registry), or ``<registry>/<collection>``, or a full
        ``model-registry/<registry>[/<collection>]`` path.
        """
        self._check_open()
        target = registered_model_name
        parts = target.split("/") if isinstance(target, str) else []
        if not parts or not all(parts):
            raise UsageError(f"link_model: registered_model_name {target!r} is empty or malformed")
        if parts[0] != "model-registry":
            if len(parts) > 2:
                raise UsageError(
                    f"link_model: registered_model_name {target!r}: expected <collection>, "
                    "<registry>/<collection> or model-registry/<registry>[/<collection>]"
                )
            target = "model-registry/" + ("/".join(parts) if len(parts) == 2 else f"model/{target}")
        artifact = self._model(path, name, "link_model")
        self.log_artifact(artifact)
        return self.link_artifact(artifact, target, aliases=aliases)
