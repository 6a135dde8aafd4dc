"""Output for humans (rich) and for scripts (--json); the only place that prints."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SHOW_AFTER = 1.0  # seconds of work before a progress bar appears


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def table(columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        t.add_row(*(escape("" if v is None else str(v)) for v in row))
    out.print(t)


def line(text: str) -> None:
    """One line of plain text; user strings in it are escaped, not interpreted."""
    out.print(escape(text))


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


@contextmanager
def progress_sink(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr that appears only once work has taken a second."""
    start = time.monotonic()
    bar: Progress | None = None
    task = None
    done = 0

    def advance(n: int) -> None:
        nonlocal bar, task, done
        done += n
        if bar is None:
            if time.monotonic() - start < SHOW_AFTER or not sys.stderr.isatty():
                return
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            bar.start()
            task = bar.add_task(description, total=total or None, completed=done)
        else:
            assert task is not None
            bar.update(task, completed=done)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()
