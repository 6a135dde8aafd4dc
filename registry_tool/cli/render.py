"""Output for humans and for scripts (--json); the only place that prints.

rich is imported only when a table or a progress bar is drawn: most commands print a
line, and importing rich would cost them a twentieth of a second.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

SHOW_AFTER = 1.0  # seconds of work before a progress bar appears


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def line(text: str) -> None:
    """One line of plain text (never interpreted as markup)."""
    click.echo(text)


def error(text: str) -> None:
    """One red line on stderr."""
    click.echo(click.style("error:", fg="red") + " " + text, err=True)


def problem(text: str) -> None:
    click.echo(text, err=True)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def table(columns: list[str], rows: list[list[Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        t.add_row(*(escape("" if v is None else str(v)) for v in row))
    _console().print(t)


def _bar(description: str, total: int, done: int) -> tuple[Progress, Any]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_console(stderr=True),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(description, total=total or None, completed=done)


@contextmanager
def progress_sink(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr that appears only once work has taken a second."""
    start = time.monotonic()
    bar: Progress | None = None
    task = None
    done = 0
    tty = sys.stderr.isatty()  # asked once: advance() runs for every file

    def advance(n: int) -> None:
        nonlocal bar, task, done
        done += n
        if bar is None:
            if tty and time.monotonic() - start >= SHOW_AFTER:
                bar, task = _bar(description, total, done)
        else:
            bar.update(task, completed=done)  # type: ignore[arg-type]

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()
