"""The package's shape, derived from its code: layers, cycles, deferred imports, sizes,
and the public surface. ARCHITECTURE.md draws the same layers; keep the two in step."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import registry_tool

PACKAGE = Path(registry_tool.__file__).parent
ROOT = PACKAGE.parent

# Lowest first. A module may import (at module level) only from its own layer or a
# lower one; within a layer the imports must not form a cycle.
LAYERS: list[tuple[str, ...]] = [
    # base: no registry concepts
    (
        "errors",
        "_version",
        "_settings",
        "_fmt",
        "_hashing",
        "_yamlio",
        "_locking",
        "_progress",
        "_resources",
        "_secret_scan",
        "_escape",
    ),
    ("_model",),  # pure values: names, layout, manifest, records, gates
    ("_schemas", "_scaffold"),  # validation; the files `init --github` writes
    ("_store", "_blobs", "_cache", "_references", "_github"),  # git, bytes, GitHub
    ("_engine",),  # ingest, log, resolve, alias moves, download
    ("_promotion", "_checks", "_gc", "_deletion", "_verify", "_storage_admin", "_site"),
    ("_sdk",),  # the W&B facade
    ("_verbs",),  # the CLI's one door into the library
    ("cli", "demo", ""),  # "" is registry_tool/__init__.py, the public API
]

# Function-level imports of the package's own modules, each with its reason. Anything
# else must be imported at module level.
DEFERRED_INTERNAL: dict[tuple[str, str], str] = {
    ("_sdk.artifact", "_sdk.public_run"): "a run lists its artifacts and an artifact its runs",
    ("_sdk.drafts", "_sdk.run"): "save() on a draft logs it through the current run",
    ("_verbs", "_site.build"): "the site builder loads jinja2, markdown and mkdocs",
    ("_blobs", "_blobs.s3"): "S3 support (botocore's signer, http.client) only on S3",
    ("_promotion.promote", "_github"): "the GitHub client only when a pull request opens",
    ("_verbs", "_github"): "the GitHub client only for check --ci",
}

# Third-party libraries a module may import inside a function, so that importing the
# package (and starting the CLI) does not pay for them.
DEFERRED_LIBRARIES: dict[str, str] = {
    "boto3": "S3 only: 0.3 s to import",
    "botocore": "S3 only",
    "PIL": "images only, an optional extra",
    "numpy": "media conversion only",
    "rich": "the CLI's progress bars and tables only",
    "jinja2": "the site only",
    "markdown": "the site only",
    "mkdocs": "the site only",
    "nh3": "the site only",
    "graphviz": "the site only",
    "urllib3": "the S3 fast path only",
    "pandas": "Table(dataframe=...) only",
    "jsonschema": "validators are built on the first validation: 0.11 s to import",
    "referencing": "jsonschema's schema registry, with it",
    "importlib": "importlib.metadata: init --github only (it pulls in email, csv, zipfile)",
}

MAX_LINES = 600


def _unit(module: str) -> str:
    """``registry_tool._store.git`` -> ``_store``; the root package -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(module: str) -> int:
    unit = _unit(module)
    for index, names in enumerate(LAYERS):
        if unit in names:
            return index
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement names (package modules and libraries alike)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join([*base, *([node.module] if node.module else [])])
    else:
        name = node.module or ""
    modules = _modules()
    found = [f"{name}.{alias.name}" for alias in node.names if f"{name}.{alias.name}" in modules]
    return found or [name]


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.depth = 0
        self.top: list[tuple[int, str]] = []
        self.deferred: list[tuple[int, str]] = []

    def _add(self, node: ast.Import | ast.ImportFrom) -> None:
        into = self.deferred if self.depth else self.top
        into += [(node.lineno, t) for t in _targets(node, self.module, self.is_package)]

    visit_Import = _add
    visit_ImportFrom = _add

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node):  # typing-only imports cost nothing at run time
            self.generic_visit(node)

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _nested
    visit_AsyncFunctionDef = _nested
    visit_ClassDef = _nested


def _imports() -> dict[str, _Imports]:
    out = {}
    for module, path in _modules().items():
        found = _Imports(module, path.name == "__init__.py")
        found.visit(ast.parse(path.read_text(), str(path)))
        out[module] = found
    return out


def _short(module: str) -> str:
    return module.removeprefix("registry_tool.").removeprefix("registry_tool")


def test_every_module_is_in_a_layer():
    for module in _modules():
        _layer(module)


def test_module_level_imports_follow_the_layers():
    wrong = []
    for module, found in _imports().items():
        for line, target in found.top:
            if target.startswith("registry_tool") and _layer(target) > _layer(module):
                wrong.append(f"{_short(module)}:{line} imports {_short(target)} (a higher layer)")
    assert not wrong, "\n".join(wrong)


def test_module_level_imports_have_no_cycle():
    graph = {
        module: {t for _, t in found.top if t.startswith("registry_tool") and t != module}
        for module, found in _imports().items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(_short(m) for m in [*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


def test_function_level_imports_are_only_the_allowed_ones():
    wrong = []
    used = set()
    for module, found in _imports().items():
        for line, target in found.deferred:
            if target.startswith("registry_tool"):
                key = (_short(module), _short(target))
                if key in DEFERRED_INTERNAL:
                    used.add(key)
                    continue
                wrong.append(f"{_short(module)}:{line} imports {_short(target)} in a function")
            elif target.split(".")[0] not in DEFERRED_LIBRARIES:
                wrong.append(f"{_short(module)}:{line} imports {target} in a function")
    assert not wrong, "\n".join(wrong)
    assert used == set(DEFERRED_INTERNAL), f"allowed but gone: {set(DEFERRED_INTERNAL) - used}"


@pytest.mark.parametrize(
    "path",
    [*sorted(PACKAGE.rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_is_over_600_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concept"


def test_the_public_surface_is_exactly_all():
    """``import registry_tool`` exposes what ``__all__`` says and nothing else public
    (internal modules are private-named, so they never leak)."""
    code = (
        "import json, registry_tool as r;"
        "print(json.dumps([k for k in vars(r) if not k.startswith('_') or k == '__version__']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    exposed = json.loads(out)
    assert registry_tool.__all__ == sorted(registry_tool.__all__)
    assert sorted(exposed) == registry_tool.__all__


def test_the_cli_reaches_the_library_only_through_verbs():
    allowed = {"_verbs", "errors", "_fmt", "_escape", "_progress", "_version", "cli"}
    wrong = []
    for module, found in _imports().items():
        if _unit(module) != "cli":
            continue
        for line, target in found.top + found.deferred:
            if target.startswith("registry_tool.") and _unit(target) not in allowed:
                wrong.append(f"{_short(module)}:{line} imports {_short(target)}")
    assert not wrong, "\n".join(wrong)


# The repo layout's own words: a string holding one builds or parses a repo path.
LAYOUT_WORDS = re.compile(
    r"(^|/)(projects|registries)/|/(versions|aliases|links|unlinked|runs)(/|$)|/artifact\.yaml"
)


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_only_the_layout_module_knows_repo_paths():
    """Every mapping between a registry key and its repo path is in ``_model/layout.py``:
    no other module spells the layout's folders (``projects/``, ``/versions/``,
    ``aliases``, ``artifact.yaml``...) in a string."""
    wrong = []
    for module, path in _modules().items():
        if module == "registry_tool._model.layout":
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and LAYOUT_WORDS.search(node.value)
                and not node.value.endswith(".md")  # the site's own pages, not the repo's
            ):
                wrong.append(f"{_short(module)}:{node.lineno} {node.value!r}")
    assert not wrong, "repo paths spelled outside the layout module:\n" + "\n".join(wrong)
