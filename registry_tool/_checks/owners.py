"""CODEOWNERS follows the policy: on a registry set up for GitHub (it has ``.github/``),
every path that governs the registry has an owner whose review GitHub requires.

A protected stage is protected by review; the review is CODEOWNERS' (with "Require
review from Code Owners" on ``main``). Making a stage protected without CODEOWNERS
naming its alias files would leave it movable by any approver, so ``check`` reports
each governing path CODEOWNERS leaves without an owner: the root ``registry.yaml``,
every model registry's, each protected stage's alias files, link and unlink files,
``site_templates/``, ``mkdocs.yml`` and ``.github/`` (see
``registry_tool._model.codeowners.required_paths``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from registry_tool._checks.report import Problem
from registry_tool._model import codeowners
from registry_tool._model.governance import ModelRegistryConfig

MISSING = (
    "missing: the registry is set up for GitHub (.github/), so CODEOWNERS must name the "
    "owners of what governs it (registry-tool init --github --owners @org/team writes it)"
)


def owner_problems(
    read: Callable[[str], bytes | None],
    has_github: bool,
    configs: Iterable[ModelRegistryConfig],
) -> list[Problem]:
    """What CODEOWNERS (read with ``read(path)``) leaves without an owner."""
    if not has_github:
        return []
    for location in codeowners.LOCATIONS:
        data = read(location)
        if data is not None:
            break
    else:
        return [Problem(codeowners.CODEOWNERS, "$", MISSING)]
    text = data.decode("utf-8", "replace")
    required = codeowners.required_paths(None, configs)
    return [
        Problem(
            location,
            "$",
            f"{pattern} has no owner here: a change to it would merge without the review "
            "CODEOWNERS requires",
        )
        for pattern in codeowners.uncovered(text, required)
    ]
