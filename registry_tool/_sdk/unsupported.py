"""The W&B calls that have no meaning without a W&B server, refused by name.

A W&B user's script that calls ``wandb.watch(model)`` or ``api.create_team(...)`` should
learn at that line, and in plain words, that registry-tool has no server to do it: not
meet an ``AttributeError`` that reads like a typo. Each such member is listed here with
its reason and installed as a stand-in that raises ``UnsupportedError`` naming the call
and the reason.

A stand-in is installed only where registry-tool does not define the name, so that a
member built for real always wins; installing twice changes nothing. Only members that
need the server itself are here (accounts, teams, sweeps, launch queues, automations,
the app's charts); one that could work on a registry is left to be built. The surface
test (``tests/test_wandb_surface.py``) finds the stand-ins by the mark they carry,
``UNSUPPORTED_MARK``, without calling them.

>>> import registry_tool as wandb                       # doctest: +SKIP
>>> wandb.watch(model)                                  # doctest: +SKIP
Traceback (most recent call last):
registry_tool.errors.UnsupportedError: wandb.watch() is not supported by registry-tool: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, NoReturn

from registry_tool._sdk.api import Api
from registry_tool._sdk.public_run import PublicRun
from registry_tool._sdk.run import Run
from registry_tool.errors import UnsupportedError

UNSUPPORTED_MARK = "__unsupported_reason__"

_ACCOUNTS = "accounts live on a W&B server and registry-tool has none; people are git authors"
_SWEEPS = "sweeps are scheduled by a W&B server's sweep controller, which registry-tool has not"
_LAUNCH = "Launch jobs and queues are run by a W&B server, which registry-tool has not"
_AUTOMATIONS = "automations are triggers a W&B server runs; with registry-tool, CI reacts to pushes"
_CHARTS = "custom charts are Vega presets stored on a W&B server and drawn by its web app"
_GRADIENTS = (
    "it streams a model's gradients and parameters to a W&B server's charts; "
    "log the values you need with run.log"
)
_SERVICE = "it talks to W&B's service process, which registry-tool does not run"
_DISTRIBUTED = (
    "distributed artifacts gather the parts several runs upsert on a W&B server before one "
    "of them finishes the version; log the artifact from one run with run.log_artifact"
)

# Module-level names: name -> reason. ``api`` is W&B's internal server client.
MODULE: dict[str, str] = {
    "agent": _SWEEPS,
    "alert": "alerts are sent by a W&B server to Slack or e-mail, and registry-tool has none",
    "api": "it is W&B's internal client of its server; read the registry with wandb.Api()",
    "attach": _SERVICE,
    "controller": _SWEEPS,
    "ensure_configured": "it reads the W&B server login settings, and there is no server",
    "EvalTable": (
        "it writes evaluation rows to W&B's Weave or CoreWeave evaluation service, not to"
        " files; log a wandb.Table instead"
    ),
    "login": "there is no W&B server to log in to; the registry is a git repository",
    "mark_preempting": "a W&B server requeues preempted runs, and registry-tool has none",
    "plot_table": _CHARTS,
    "sagemaker_auth": "it writes W&B server credentials for SageMaker, and there is no server",
    "sweep": _SWEEPS,
    "unwatch": _GRADIENTS,
    "visualize": _CHARTS,
    "watch": _GRADIENTS,
}

# Class members: class -> name -> (kind, reason); kind is "method", "classmethod" or
# "attribute" (read on an instance).
CLASSES: dict[type, dict[str, tuple[str, str]]] = {
    Api: {
        "api_key": ("attribute", "there is no W&B server account, so no API key"),
        "automation": ("method", _AUTOMATIONS),
        "automations": ("method", _AUTOMATIONS),
        "create_automation": ("method", _AUTOMATIONS),
        "create_custom_chart": ("method", _CHARTS),
        "create_run": ("method", "runs are begun with wandb.init(), not created on a server"),
        "create_run_queue": ("method", _LAUNCH),
        "create_team": ("method", _ACCOUNTS),
        "create_user": ("method", _ACCOUNTS),
        "delete_automation": ("method", _AUTOMATIONS),
        "integrations": ("method", "Slack and webhook integrations are set up on a W&B server"),
        "job": ("method", _LAUNCH),
        "list_jobs": ("method", _LAUNCH),
        "organization": ("method", _ACCOUNTS),
        "queued_run": ("method", _LAUNCH),
        "reports": ("method", "reports are documents of a W&B server's web app"),
        "run_queue": ("method", _LAUNCH),
        "slack_integrations": ("method", "Slack integrations are set up on a W&B server"),
        "sweep": ("method", _SWEEPS),
        "sync_tensorboard": ("method", "it uploads TensorBoard logs to a W&B server"),
        "team": ("method", _ACCOUNTS),
        "update_automation": ("method", _AUTOMATIONS),
        "upsert_run_queue": ("method", _LAUNCH),
        "user": ("method", _ACCOUNTS),
        "user_agent": ("attribute", "it is the HTTP client name sent to a W&B server"),
        "users": ("method", _ACCOUNTS),
        "viewer": ("attribute", _ACCOUNTS),
        "webhook_integrations": ("method", "webhook integrations are set up on a W&B server"),
    },
    Run: {
        "alert": ("method", MODULE["alert"]),
        "finish_artifact": ("method", _DISTRIBUTED),
        "mark_preempting": ("method", MODULE["mark_preempting"]),
        "status": ("method", "it reports how far a run has synced to a W&B server"),
        "sweep_id": ("attribute", _SWEEPS),
        "sweep_url": ("attribute", _SWEEPS),
        "unwatch": ("method", _GRADIENTS),
        "upsert_artifact": ("method", _DISTRIBUTED),
        "watch": ("method", _GRADIENTS),
    },
    PublicRun: {
        "create": ("classmethod", "runs are begun with wandb.init(), not created on a server"),
        "download_history_exports": (
            "method",
            "history exports are Parquet files a W&B server prepares; use history()",
        ),
        "server_provides_internal_id_field": (
            "attribute",
            "it is a capability flag of a W&B server",
        ),
        "stop": ("method", "it asks a W&B server to stop a run in another process"),
        "storage_id": ("attribute", "it is a W&B server's database id for the run"),
        "sweep": ("attribute", _SWEEPS),
        "sweep_name": ("attribute", _SWEEPS),
        "username": ("attribute", _ACCOUNTS),
    },
}


def _message(call: str, reason: str) -> str:
    return f"{call} is not supported by registry-tool: {reason}"


def _refusal(call: str, reason: str) -> Callable[..., NoReturn]:
    """A function that takes any arguments and raises, so that the script's call fails
    on the missing server, not on a signature it could not know."""

    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        raise UnsupportedError(_message(call, reason))

    refused.__name__ = call.rpartition(".")[2].removesuffix("()")
    refused.__qualname__ = call.removesuffix("()")
    refused.__doc__ = f"Not supported: {reason}."
    setattr(refused, UNSUPPORTED_MARK, reason)
    return refused


class RefusedAttribute:
    """An attribute that raises when read on an instance. It has no ``__set__``, so a
    value the instance sets for itself is read instead (it never shadows real data)."""

    def __init__(self, call: str, reason: str) -> None:
        self.call = call
        self.reason = reason
        setattr(self, UNSUPPORTED_MARK, reason)

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise UnsupportedError(_message(self.call, self.reason))


class RefusedValue:
    """A module-level value (``wandb.api``) that raises on any use: called or read."""

    def __init__(self, call: str, reason: str) -> None:
        object.__setattr__(self, "_call", call)
        object.__setattr__(self, UNSUPPORTED_MARK, reason)

    def __getattr__(self, name: str) -> NoReturn:
        # Private names are Python's own questions (``hasattr(x, "__wrapped__")`` from
        # inspect, copy, pickle): they get the usual AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        raise UnsupportedError(_message(self._call, getattr(self, UNSUPPORTED_MARK)))

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnsupportedError(_message(self._call, getattr(self, UNSUPPORTED_MARK)))


def _defines(cls: type, name: str) -> bool:
    return any(name in vars(klass) for klass in cls.__mro__)


def stand_ins(cls: type) -> dict[str, Any]:
    """The stand-ins ``cls`` lacks, by name: what ``install`` would put on it."""
    out: dict[str, Any] = {}
    for name, (kind, reason) in CLASSES.get(cls, {}).items():
        if _defines(cls, name):
            continue
        call = f"{cls.__name__}.{name}"
        if kind == "attribute":
            out[name] = RefusedAttribute(call, reason)
        elif kind == "classmethod":
            out[name] = classmethod(_refusal(f"{call}()", reason))
        else:
            out[name] = _refusal(f"{call}()", reason)
    return out


def module_stand_ins(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The module-level stand-ins ``namespace`` lacks, by name."""
    out: dict[str, Any] = {}
    for name, reason in sorted(MODULE.items()):
        if name in namespace:
            continue
        if name == "api":
            out[name] = RefusedValue(f"wandb.{name}", reason)
        else:
            out[name] = _refusal(f"wandb.{name}()", reason)
    return out


def install() -> list[str]:
    """Install the class members registry-tool does not define; return what it added,
    as ``Class.member``."""
    added = []
    for cls in CLASSES:
        for name, value in stand_ins(cls).items():
            setattr(cls, name, value)
            added.append(f"{cls.__name__}.{name}")
    return added


def install_module(namespace: MutableMapping[str, Any]) -> list[str]:
    """Put the module-level refusals into ``namespace`` (the package's ``globals()``)
    where it does not define the name; return the names added, for ``__all__``."""
    added = module_stand_ins(namespace)
    namespace.update(added)
    return sorted(added)
