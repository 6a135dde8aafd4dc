"""What a check found: one ``Problem`` per thing wrong, and the ``CheckReport``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: its repo path, the JSON path of the field, why.

    >>> str(Problem("projects/p/data/versions/v3.yaml", "$.digest", "does not match"))
    'projects/p/data/versions/v3.yaml: $.digest: does not match'
    """

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckReport:
    """How many files a check read and what it found; ``ok`` when nothing."""

    files: int
    problems: list[Problem]
    root: Path | None = None  # the registry checked

    @property
    def ok(self) -> bool:
        return not self.problems
