"""``wandb.init``'s arguments as W&B takes them, judged before a run starts: the
settings merged under the explicit arguments, the config filtered by
``config_include_keys``/``config_exclude_keys``, ``reinit`` read as W&B 0.31 reads it,
and the options whose work needs a W&B server refused rather than dropped.

>>> reinit_mode(True), reinit_mode(False), reinit_mode(None)
('finish_previous', 'return_previous', 'finish_previous')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_tool._sdk.settings import Settings, as_settings
from registry_tool.errors import UnsupportedError, UsageError

MODES = ("online", "offline", "shared")
REINIT = ("default", "return_previous", "finish_previous", "create_new")

# init argument -> the settings field it overrides.
_FROM_SETTINGS = {
    "entity": "entity",
    "project": "project",
    "dir": "root_dir",
    "id": "run_id",
    "name": "run_name",
    "notes": "run_notes",
    "tags": "run_tags",
    "group": "run_group",
    "job_type": "run_job_type",
    "mode": "mode",
    "reinit": "reinit",
    "resume": "resume",
    "save_code": "save_code",
    "sync_tensorboard": "sync_tensorboard",
}
# Options whose work is done by W&B's server or its integrations: refused when asked for.
_REFUSED = {
    "resume_from": "rewinding a run to a step is not supported; resume it or start a new run",
    "fork_from": "forking a run from a step is not supported; start a new run",
    "tensorboard": "it uploads TensorBoard logs to a W&B server; log the metrics with run.log",
    "sync_tensorboard": "it uploads TensorBoard logs to a W&B server; log the metrics with run.log",
    "monitor_gym": "it uploads gym videos to a W&B server; log them with run.log",
}


@dataclass
class InitArgs:
    """What ``init`` starts the run with."""

    run: dict[str, Any] = field(default_factory=dict)  # Run's keyword arguments
    settings: Settings = field(default_factory=Settings)
    reinit: str = "finish_previous"
    save_code: bool = False


def reinit_mode(value: object) -> str:
    """W&B's ``reinit``: True finishes the current run, False returns it; ``"default"``
    is ``"finish_previous"`` outside a notebook."""
    if value is None or value is True or value == "default":
        return "finish_previous"
    if value is False:
        return "return_previous"
    if value not in REINIT:
        raise UsageError(f"init: reinit: {value!r} is not one of {', '.join(REINIT)}, True, False")
    return str(value)


def filter_config(config: Any, include: Any, exclude: Any) -> Any:
    """``config`` with only the ``include`` keys, or without the ``exclude`` ones."""
    if include is None and exclude is None:
        return config
    if include is not None and exclude is not None:
        raise UsageError("init: give config_include_keys and config_exclude_keys, not both")
    if config is None:
        return None
    data = dict(config) if isinstance(config, Mapping) else dict(vars(config))
    if include is not None:
        return {k: v for k, v in data.items() if k in set(include)}
    return {k: v for k, v in data.items() if k not in set(exclude)}


def judge(args: Mapping[str, Any]) -> InitArgs:
    """``init``'s arguments (its ``locals()``) as the run's; nothing has started yet."""
    settings = as_settings(args["settings"]) if args["settings"] is not None else Settings()
    given = dict(args)
    for arg, key in _FROM_SETTINGS.items():
        if given.get(arg) is None:
            given[arg] = getattr(settings, key)
    for arg, reason in _REFUSED.items():
        if given.get(arg):
            raise UnsupportedError(f"init({arg}=...) is not supported by registry-tool: {reason}")
    mode = given["mode"]
    if mode is not None and mode not in MODES:
        if mode == "disabled":
            raise UnsupportedError(
                "init(mode='disabled'): a disabled run is not supported; runs are recorded "
                "in the registry (do not call init to record nothing)"
            )
        raise UsageError(f"init: mode: {mode!r} is not one of {', '.join(MODES)}")
    settings.update(mode=mode or "online")
    out = InitArgs(settings=settings, reinit=reinit_mode(given["reinit"]))
    out.save_code = bool(given["save_code"])
    config = filter_config(
        given["config"], given["config_include_keys"], given["config_exclude_keys"]
    )
    out.run = {k: given[k] for k in ("project", "entity", "job_type", "name", "id", "tags")}
    out.run.update({k: given[k] for k in ("notes", "group", "dir", "resume")}, config=config)
    return out
