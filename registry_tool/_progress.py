"""Progress reporting hook: the library reports, the CLI (only) draws.

>>> with task("hashing", total=10) as advance:
...     advance(10)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class ProgressSink(Protocol):
    def __call__(
        self, description: str, total: int
    ) -> AbstractContextManager[Callable[[int], None]]: ...


@contextmanager
def _silent(description: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda _n: None


_sink: ProgressSink = _silent


def set_sink(sink: ProgressSink | None) -> None:
    """Install a progress sink (the CLI installs a rich progress bar)."""
    global _sink
    _sink = sink or _silent


def files(n: int) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} file" if n == 1 else f"{n} files"


def task(description: str, total: int) -> AbstractContextManager[Callable[[int], None]]:
    """A unit of long work of ``total`` bytes; yields ``advance(n)``."""
    return _sink(description, total)
