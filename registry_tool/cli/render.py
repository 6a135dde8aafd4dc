"""Output for humans and for scripts (--json); the only place that prints.

What is printed quotes the registry (names, reasons, descriptions, paths of a hand
edit), so every line, cell and JSON document goes out inert: control characters as
visible escapes, one line per line, and nothing GitHub's runner would read as a
workflow command (``registry_tool._escape``). Help text is click's, not printed here.

rich is imported only when a table or a progress bar is drawn: most commands print a
line, and importing rich would cost them a twentieth of a second.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from registry_tool._escape import log_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

SHOW_AFTER = 1.0  # seconds of work before a progress bar appears


# Inside JSON strings (the only place they can be): what json.dumps leaves raw with
# ensure_ascii=False, and the legacy ``##[`` command marker. ``\uXXXX`` is the same
# string to every JSON reader.
_JSON_ACTING = re.compile(
    r"[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|(?<=##)\["
)


def emit_json(value: Any) -> None:
    """``value`` as JSON; non-ASCII text stays readable, acting characters are escaped."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    click.echo(_JSON_ACTING.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def line(text: str) -> None:
    """One line of plain text (never interpreted as markup)."""
    click.echo(log_line(text))


def error(text: str) -> None:
    """One red line on stderr."""
    click.echo(click.style("error:", fg="red") + " " + log_line(text), err=True)


def problem(text: str) -> None:
    """One line on stderr: something found wrong, the command goes on."""
    click.echo(log_line(text), err=True)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def table(columns: list[str], rows: list[list[Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        t.add_row(*(escape(log_line("" if v is None else str(v))) for v in row))
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
