"""registry-tool against the recorded public surface of wandb 0.31.0: the listing is
sound, CONFORMANCE.md says what the code does, nothing is missing, every refusal says
what and why, and the classifier's rules hold at their edges. wandb is not needed."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import registry_tool
from registry_tool._sdk import unsupported
from registry_tool._sdk.api import Api
from registry_tool.errors import UnsupportedError, UsageError
from tests.wandb_surface import compare as cmp
from tests.wandb_surface.record import describe_class, describe_static

ROOT = Path(__file__).resolve().parent.parent
KINDS = set(cmp.FAMILY)
PARAM_KINDS = {
    "POSITIONAL_ONLY",
    "POSITIONAL_OR_KEYWORD",
    "VAR_POSITIONAL",
    "KEYWORD_ONLY",
    "VAR_KEYWORD",
}


@pytest.fixture(scope="module", autouse=True)
def stand_ins_installed() -> None:
    """The stand-ins as the package installs them at import (idempotent)."""
    unsupported.install()


@pytest.fixture(scope="module")
def verdicts() -> list[cmp.Verdict]:
    return cmp.compare()


def test_the_listing_is_well_formed_and_recorded_from_wandb_0_31_0():
    text = cmp.LISTING.read_text()
    listing = json.loads(text)
    assert listing["wandb_version"] == "0.31.0"
    assert json.dumps(listing, indent=1, sort_keys=True) + "\n" == text  # stable: sorted
    assert set(listing["targets"]) == set(cmp.OURS)
    for target, recorded in listing["targets"].items():
        assert recorded["source"].startswith("wandb"), target
        assert recorded["members"], f"{target}: no members recorded"
        for name, member in recorded["members"].items():
            where = f"{target}.{name}"
            assert not name.startswith("_"), where
            assert member["kind"] in KINDS, where
            if member["kind"] in ("method", "function", "classmethod", "staticmethod"):
                assert isinstance(member["params"], list), where
                for param in member["params"]:
                    assert set(param) == {"name", "kind", "default"}, where
                    assert param["kind"] in PARAM_KINDS, where
                    assert isinstance(param["default"], bool), where
            if member["kind"] == "property":
                assert isinstance(member["settable"], bool), where
    # What W&B users call first is there, with the shape they call it with.
    members = listing["targets"]["wandb"]["members"]
    assert [p["name"] for p in members["log"]["params"]] == ["data", "step", "commit"]
    assert members["errors"] == {"kind": "module"}
    assert "keras" not in members  # an integration submodule, not a member


def test_conformance_md_is_what_compare_computes_now(verdicts):
    document = (ROOT / "CONFORMANCE.md").read_text()
    expected = cmp.render(verdicts)
    assert cmp.generated_part(document) == expected, (
        "CONFORMANCE.md is stale: run .venv/bin/python -m tests.wandb_surface.compare"
    )


def test_no_wandb_member_is_missing(verdicts):
    missing = sorted(f"{v.target}.{v.member}" for v in verdicts if v.status == "missing")
    assert not missing, f"{len(missing)} wandb members missing:\n" + "\n".join(missing)


def test_no_wandb_member_takes_other_arguments(verdicts):
    different = sorted(
        f"{v.target}.{v.member}: {v.detail}" for v in verdicts if v.status == "different"
    )
    assert not different, "\n".join(different)


def _call_stand_in(target: str, member: str) -> None:
    """Call a refused member the way a script would reach it, with made-up arguments."""
    if target == "wandb":
        value = vars(registry_tool).get(member) or unsupported.module_stand_ins(
            vars(registry_tool)
        ).get(member)
        if isinstance(value, unsupported.RefusedValue):
            value.anything  # noqa: B018 - reading it is the use
        else:
            value("model", log="all")
        return
    cls = cmp._import(cmp.OURS[target])
    raw = inspect.getattr_static(cls, member)
    if isinstance(raw, unsupported.RefusedAttribute):
        raw.__get__(object(), cls)
    elif isinstance(raw, classmethod):
        getattr(cls, member)("x", project="p")
    else:
        raw(object(), "x", project="p")


def test_every_refused_member_raises_a_message_naming_it_and_why(verdicts):
    refused = [v for v in verdicts if v.status == "refused"]
    assert len(refused) >= 40  # the server-only calls: accounts, sweeps, Launch, ...
    for v in refused:
        with pytest.raises(UnsupportedError) as caught:
            _call_stand_in(v.target, v.member)
        message = str(caught.value)
        owner = "wandb" if v.target == "wandb" else v.target
        assert f"{owner}.{v.member}" in message, message
        assert v.detail and v.detail in message, message
        assert "\n" not in message
        assert isinstance(caught.value, UsageError)


def test_a_fresh_import_installs_the_stand_ins():
    """The package installs them itself: a script that never imports the module that
    holds them still gets a sentence, not an AttributeError."""
    code = (
        "import registry_tool as w\n"
        "from registry_tool._sdk.unsupported import UNSUPPORTED_MARK as M\n"
        "print(hasattr(getattr(w.Api, 'create_team', None), M),"
        " hasattr(getattr(w, 'watch', None), M),"
        " 'watch' in w.__all__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["True", "True", "True"], out


# --- the classifier's rules, at their edges -------------------------------------


def _params(fn: Any) -> list[dict[str, Any]] | None:
    described = describe_static(fn)
    params: list[dict[str, Any]] | None = described["params"]
    return params


def _theirs(self, data, step=None, *, commit=None): ...


@pytest.mark.parametrize(
    ("ours", "problem"),
    [
        (lambda self, data, step=None, *, commit=None: None, None),
        (lambda self, data, step=None, commit=None, extra=1: None, None),  # extra, with default
        (lambda self, data, step=None, *, commit=None, extra: None, "extra: required here"),
        (lambda self, data, step, *, commit=None: None, "step: required here"),
        (lambda self, values, step=None, *, commit=None: None, "position 1 is 'values'"),
        (lambda self, data, *, step=None, commit=None: None, "step: not accepted in position 2"),
        (lambda self, data, step=None, **kw: None, "commit: not accepted by name"),
        (lambda self, data, step=None, *args, commit=None: None, None),
    ],
    ids=[
        "same",
        "extra-default",
        "extra-required",
        "required",
        "renamed",
        "kw-only",
        "kwargs",
        "varargs",
    ],
)
def test_signature_rules(ours, problem):
    found = cmp.signature_problems(_params(_theirs), _params(ours))
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def test_kinds_read_alike_count_as_the_same_and_setters_matter():
    class Theirs:
        @property
        def tags(self) -> list[str]:
            return []

        @tags.setter
        def tags(self, value: list[str]) -> None: ...

        @classmethod
        def make(cls, name: str) -> None: ...

        def save(self) -> None: ...

    class ReadOnly:
        tags = property(lambda self: [])

        @staticmethod
        def make(name: str) -> None: ...

        save = property(lambda self: None)

    class Attr:
        def __init__(self) -> None:
            self.tags: list[str] = []

    theirs = describe_class(Theirs, ("tests",))
    ours = describe_class(ReadOnly, ("tests",))
    assert cmp._judge(theirs["tags"], ours["tags"]) == (
        "different",
        "read-only here, settable in wandb",
    )
    assert cmp._judge(theirs["make"], ours["make"]) == ("compatible", "")
    assert cmp._judge(theirs["save"], ours["save"])[0] == "different"
    assert cmp._judge(theirs["tags"], describe_class(Attr, ("tests",))["tags"]) == (
        "compatible",
        "",
    )


def test_a_stand_in_is_found_by_its_mark_without_being_called():
    stand_in = unsupported.stand_ins(type("Nothing", (), {}))  # no such class: nothing
    assert stand_in == {}
    raw = inspect.getattr_static(Api, "create_team")
    assert cmp._refused(raw) == unsupported.CLASSES[Api]["create_team"][1]
    assert cmp._refused(Api.artifact) is None


# --- the stand-ins -----------------------------------------------------------------


def test_a_stand_in_never_replaces_a_member_that_exists():
    class Mine:
        def watch(self) -> str:
            return "mine"

    unsupported.CLASSES[Mine] = {
        "watch": ("method", "r"),
        "username": ("attribute", "r"),
        "alert": ("method", "r"),
    }
    try:
        assert sorted(unsupported.install()) == ["Mine.alert", "Mine.username"]
        assert unsupported.install() == []  # twice changes nothing
        assert Mine().watch() == "mine"
        instance = Mine()
        with pytest.raises(UnsupportedError, match=r"^Mine\.username is not supported"):
            instance.username  # noqa: B018
        instance.username = "set by the instance"  # an instance's own value wins
        assert instance.username == "set by the instance"
        assert hasattr(Mine, "username")  # on the class: the stand-in itself
    finally:
        del unsupported.CLASSES[Mine]


def test_module_stand_ins_fill_only_free_names_and_keep_introspection_working():
    namespace: dict[str, Any] = {"watch": "defined"}
    added = unsupported.install_module(namespace)
    assert "watch" not in added and namespace["watch"] == "defined"
    assert added == sorted(unsupported.MODULE.keys() - {"watch"})
    api = namespace["api"]
    assert not hasattr(api, "__wrapped__")  # Python's own questions: AttributeError
    with pytest.raises(UnsupportedError, match=r"^wandb\.api is not supported"):
        api.artifact("p/a:v0")
    with pytest.raises(UnsupportedError, match=r"^wandb\.login\(\) is not supported"):
        namespace["login"](key="k", relogin=True)
