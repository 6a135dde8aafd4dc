"""What the parts of ``Run`` kept in other modules (``run_files.py``,
``run_models.py``) use of it: typed here as a Protocol, so that those modules need
not import ``run.py``, which builds ``Run`` from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from registry_tool._engine import Context
from registry_tool._model.records import RunRecord
from registry_tool._sdk.artifact import Artifact
from registry_tool._sdk.metrics import RunMetrics
from registry_tool._sdk.public_run import Config
from registry_tool._sdk.settings import Settings


class RunLike(Protocol):
    _ctx: Context
    _metrics: RunMetrics
    _written: bool
    _saved: dict[str, tuple[Path, str]]
    _pinned: tuple[str, ...]
    _settings: Settings
    _starting_step: int
    _console: bool

    @property
    def id(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def group(self) -> str | None: ...
    @property
    def job_type(self) -> str | None: ...
    @property
    def config(self) -> Config: ...
    @property
    def url(self) -> str | None: ...
    @property
    def dir(self) -> str: ...

    def _check_open(self) -> None: ...
    def _current(self, **changes: Any) -> RunRecord: ...
    def _keep(self, name: str, source: Path) -> None: ...
    def _code_name(self, top: Path) -> str: ...
    def _model(self, path: str | os.PathLike[str], name: str | None, call: str) -> Artifact: ...
    def to_html(self, height: int = 420, hidden: bool = False) -> str: ...

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Artifact: ...

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact: ...

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact: ...
