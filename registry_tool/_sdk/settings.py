"""``wandb.Settings``, ``wandb.AlertLevel`` and the terminal lines of ``wandb.termlog``.

W&B's settings object has hundreds of fields, most of them about its server and its
service process. The ones a script commonly sets are accepted here; the run fields
(``project``, ``run_name``...) start the run, ``mode`` is checked as ``init`` checks it
and ``silent``/``quiet``/``show_*`` quiet the terminal lines. A misspelt or unknown
field is an error naming it, never silently dropped.

>>> Settings(project="p", silent=True).to_dict()["project"]
'p'
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

from registry_tool._escape import printable
from registry_tool.errors import UsageError

# The fields accepted, with their defaults.
FIELDS: dict[str, Any] = {
    "allow_val_change": None,
    "anonymous": None,
    "console": "auto",
    "disable_code": False,
    "disable_git": False,
    "entity": None,
    "init_timeout": 90.0,
    "job_type": None,
    "mode": "online",
    "program": None,
    "project": None,
    "quiet": False,
    "reinit": "default",
    "resume": None,
    "root_dir": None,
    "run_group": None,
    "run_id": None,
    "run_job_type": None,
    "run_name": None,
    "run_notes": None,
    "run_tags": None,
    "save_code": None,
    "show_errors": True,
    "show_info": True,
    "show_warnings": True,
    "silent": False,
    "start_method": None,
    "sync_tensorboard": None,
}


class Settings:
    """W&B's ``wandb.Settings``: the common fields, each an attribute."""

    def __init__(self, **kwargs: Any) -> None:
        for key, value in FIELDS.items():
            object.__setattr__(self, key, value)
        self.update(kwargs)

    def update(self, settings: Settings | Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set fields from another ``Settings``, a dict or keywords; an unknown field is
        refused before any is set."""
        given = dict(settings.to_dict() if isinstance(settings, Settings) else settings or {})
        given.update(kwargs)
        for key in given:
            if key not in FIELDS:
                raise UsageError(f"Settings: unknown field {key!r}", field=str(key))
        for key, value in given.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __getattr__(self, key: str) -> Any:
        raise AttributeError(f"Settings has no field {key!r}")

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in FIELDS}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_dict().items() if v != FIELDS[k]}
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def as_settings(value: object) -> Settings:
    """``init``'s ``settings``: a ``Settings`` or a dict of its fields."""
    if isinstance(value, Settings):
        return value
    if isinstance(value, Mapping):
        return Settings(**value)
    raise UsageError(
        f"settings: must be a Settings or a dict, not {type(value).__name__}", field="settings"
    )


class AlertLevel(Enum):
    """W&B's alert levels (``wandb.alert`` itself needs a W&B server)."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


# -- terminal lines --------------------------------------------------------------------

_TERM: dict[str, Any] = {"settings": Settings(), "logger": None}
_SEEN: set[str] = set()


def termsetup(settings: Settings | Mapping[str, Any], logger: Any) -> None:
    """Set what the terminal lines obey (``silent``, ``quiet``, ``show_*``) and a
    ``logging`` logger that receives each line too, as W&B's ``termsetup`` does."""
    _TERM["settings"] = as_settings(settings)
    _TERM["logger"] = logger


def _line(string: str, newline: bool, repeat: bool, prefix: str | None, level: str) -> None:
    settings: Settings = _TERM["settings"]
    text = printable(str(string))
    if not repeat:
        if text in _SEEN:
            return
        _SEEN.add(text)
    logger = _TERM["logger"]
    if logger is not None:
        getattr(logger, level)(text)
    hidden = {
        "info": settings.quiet or not settings.show_info,
        "warning": not settings.show_warnings,
        "error": not settings.show_errors,
    }
    if settings.silent or hidden[level]:
        return
    sys.stderr.write(f"{prefix or ''}{text}{chr(10) if newline else ''}")
    sys.stderr.flush()


def termlog(
    string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True
) -> None:
    """A line to stderr as ``wandb: <string>``, escaped (control characters shown, not
    sent); with ``repeat=False`` a line already shown is not shown again."""
    _line(string, newline, repeat, "wandb: " if prefix else None, "info")


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog`` as a warning: ``wandb: WARNING <string>``."""
    _line(string, newline, repeat, "wandb: WARNING " if prefix else None, "warning")


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """``termlog`` as an error: ``wandb: ERROR <string>``."""
    _line(string, newline, repeat, "wandb: ERROR " if prefix else None, "error")
