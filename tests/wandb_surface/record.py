"""Record the public surface of the real ``wandb`` package as a JSON listing.

The surface test compares registry-tool with this listing, and it must run without
``wandb`` installed, so the listing is recorded once, from a side virtualenv that has
the real package, and checked in::

    python3 -m venv /tmp/wandb-venv
    /tmp/wandb-venv/bin/pip install wandb==0.31.0
    WANDB_MODE=offline /tmp/wandb-venv/bin/python tests/wandb_surface/record.py

Nothing is called on the classes: members are read with ``inspect.getattr_static``,
class annotations, pydantic fields, and the ``self.name = ...`` assignments of
``__init__`` (read from its source), so no run starts and no server is asked. The same
functions describe registry-tool's classes in ``compare.py``, so both sides are read
the same way. Only what the package itself defines counts: members a class inherits
from ``object``, pydantic or ``abc`` are not part of its surface.
"""

from __future__ import annotations
import __future__

import ast
import functools
import inspect
import json
import os
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# What is recorded: a name for each target, and where it lives in wandb.
CLASSES: dict[str, str] = {
    "Artifact": "wandb.sdk.artifacts.artifact.Artifact",
    "Api": "wandb.apis.public.api.Api",
    "Run": "wandb.sdk.wandb_run.Run",
    "PublicRun": "wandb.apis.public.runs.Run",
    "Table": "wandb.sdk.data_types.table.Table",
    "Image": "wandb.sdk.data_types.image.Image",
    "ArtifactManifestEntry": "wandb.sdk.artifacts.artifact_manifest_entry.ArtifactManifestEntry",
    "ArtifactCollection": "wandb.apis.public.artifacts.ArtifactCollection",
}
MODULES: dict[str, str] = {"wandb": "wandb", "wandb.errors": "wandb.errors"}

# Submodules are not recorded as members (integrations such as ``wandb.keras`` and the
# package's internals), except the ones users reach by attribute as part of the API.
KEPT_SUBMODULES = {"wandb": {"errors"}}


def _params(obj: Any, *, bound: bool) -> list[dict[str, Any]] | None:
    """The parameters of a callable, without ``self``/``cls`` when it is called bound."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if bound and params and params[0].kind != inspect.Parameter.VAR_POSITIONAL:
        params = params[1:]
    return [
        {"name": p.name, "kind": p.kind.name, "default": p.default is not inspect.Parameter.empty}
        for p in params
    ]


def init_attributes(cls: type, own: tuple[str, ...]) -> set[str]:
    """Public names that ``__init__`` assigns on ``self``: instance attributes, which the
    class itself does not show."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(own):
            continue
        init = klass.__dict__.get("__init__")
        if not isinstance(init, types.FunctionType):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(init))
        except (OSError, TypeError):
            continue
        for node in ast.walk(ast.parse(source)):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = list(node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets = [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    names.add(target.attr)
    return {n for n in names if not n.startswith("_")}


def describe_static(value: Any) -> dict[str, Any]:
    if isinstance(value, staticmethod):
        return {"kind": "staticmethod", "params": _params(value.__func__, bound=False)}
    if isinstance(value, classmethod):
        return {"kind": "classmethod", "params": _params(value.__func__, bound=True)}
    if isinstance(value, property):
        return {"kind": "property", "settable": value.fset is not None}
    if isinstance(value, functools.cached_property):
        return {"kind": "property", "settable": True}
    if isinstance(value, (types.FunctionType, functools.partialmethod)):
        return {"kind": "method", "params": _params(value, bound=True)}
    if isinstance(value, type):
        return {"kind": "class"}
    return {"kind": "attribute"}


def describe_class(cls: type, own: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Every public member of ``cls`` that a class of the ``own`` packages defines, less
    the ones it only overrides from a foreign base (pydantic's ``model_dump``...)."""
    out: dict[str, dict[str, Any]] = {}
    foreign = {n for k in cls.__mro__ if not k.__module__.startswith(own) for n in vars(k)}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith(own):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and name not in foreign:
                out[name] = describe_static(value)
        for name in getattr(klass, "__annotations__", {}):
            if not name.startswith("_") and name not in out:
                out[name] = {"kind": "attribute"}
        for name in getattr(klass, "model_fields", None) or {}:
            if not name.startswith("_"):
                out[name] = {"kind": "attribute"}
    for name in init_attributes(cls, own):
        out.setdefault(name, {"kind": "attribute"})
    return dict(sorted(out.items()))


def describe_value(value: Any) -> dict[str, Any]:
    """A module-level name: a class, a function, a submodule or a value."""
    if isinstance(value, type):
        return {"kind": "class"}
    if isinstance(value, types.ModuleType):
        return {"kind": "module"}
    if callable(value):
        # ``wandb.log`` and its kind wrap ``Run.log`` until ``init`` replaces them with
        # the run's bound method: what a script calls takes no ``self``.
        wrapped = getattr(value, "__wrapped__", None)
        bound = "." in getattr(wrapped, "__qualname__", "") and not isinstance(value, type)
        return {"kind": "function", "params": _params(value, bound=bound)}
    return {"kind": "attribute"}


def _recorded(module: str, name: str, value: Any) -> bool:
    """Whether a module-level name is part of the surface: not a submodule (but those
    kept), and not a ``from __future__ import`` left in the namespace."""
    if isinstance(value, types.ModuleType):
        return name in KEPT_SUBMODULES.get(module, set())
    return not isinstance(value, __future__._Feature)


def describe_module(module: types.ModuleType, names: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in sorted(names):
        value = getattr(module, name)
        if _recorded(module.__name__, name, value):
            out[name] = describe_value(value)
    return out


def _load(dotted: str) -> Any:
    module, _, attr = dotted.rpartition(".")
    return getattr(__import__(module, fromlist=[attr]), attr)


def record() -> dict[str, Any]:
    import wandb  # the side virtualenv's wandb; registry-tool never imports it

    modules = {}
    skipped = {}
    for key, dotted in MODULES.items():
        module = __import__(dotted, fromlist=["_"])
        names = [n for n in dir(module) if not n.startswith("_")]
        modules[key] = {"source": dotted, "members": describe_module(module, names)}
        skipped[key] = sorted(n for n in names if not _recorded(dotted, n, getattr(module, n)))
    classes = {
        key: {"source": dotted, "members": describe_class(_load(dotted), ("wandb",))}
        for key, dotted in CLASSES.items()
    }
    return {
        "wandb_version": wandb.__version__,
        "python": ".".join(map(str, sys.version_info[:2])),
        "recorded_by": "tests/wandb_surface/record.py",
        "skipped_submodules": skipped,
        "targets": {**modules, **classes},
    }


def main() -> None:
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    listing = record()
    out = HERE / f"wandb-{listing['wandb_version']}.json"
    out.write_text(json.dumps(listing, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
