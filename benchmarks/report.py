"""How the benchmarks report: the machine they ran on, the command that reproduces a run,
aligned tables, and the lines every text report starts and ends with."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from common import REPO, first_line

YES: dict[bool | None, str] = {True: "yes", False: "NO", None: "-"}


def statistic(repeat: int) -> str:
    return "median" if repeat > 1 else "single run"


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def load_average(values: Iterable[float]) -> str:
    """Load averages (1 min) as ``before / after``."""
    return " / ".join(f"{x:.2f}" for x in values)


# -- the machine ---------------------------------------------------------------------


def machine_facts(python: Path | str, tools: Mapping[str, str]) -> dict[str, str]:
    """CPUs, memory, OS, Python and git, then ``tools`` (name -> version), in order."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(ValueError, OSError):
        mem = f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB"
    return {
        "nproc": first_line(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_version()} ({python})",
        "git": first_line(["git", "--version"]),
        **tools,
    }


def version_of(cli: Path | str) -> str:
    """What ``<cli> --version`` prints first."""
    return first_line([str(cli), "--version"])


def repo_state(*paths: str) -> tuple[str, int]:
    """This checkout's HEAD (12 hex digits) and how many files under ``paths`` differ."""
    head = first_line(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"])
    proc = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    return head, len(proc.stdout.splitlines())


# -- the command that reproduces a run -----------------------------------------------


def relative_work(work: Path) -> str:
    """The work dir relative to the checkout (``..`` where it is outside)."""
    try:
        return os.path.relpath(work, REPO)
    except ValueError:
        return str(work)


def reproduce_command(
    script: str,
    args: argparse.Namespace,
    options: Iterable[str],
    flags: Iterable[str],
    *,
    values: Mapping[str, str] | None = None,
    work: str | None = None,
) -> str:
    """``cd <checkout> && .venv/bin/python benchmarks/<script> --work W --option V ...``
    for the ``options`` (attribute names of ``args``; ``values`` spells some of them)
    and the ``flags`` that are set."""
    parts = [
        ".venv/bin/python",
        f"benchmarks/{script}",
        "--work",
        relative_work(args.work) if work is None else work,
    ]
    for name in options:
        value = (values or {}).get(name, str(getattr(args, name)))
        parts += ["--" + name.replace("_", "-"), value]
    parts += ["--" + flag.replace("_", "-") for flag in flags if getattr(args, flag)]
    return f"cd {shlex.quote(str(REPO))} && {shlex.join(parts)}"


# -- text ----------------------------------------------------------------------------


def align(
    rows: Sequence[Sequence[str]], *, left: Iterable[int] = (0,), rstrip: bool = False
) -> list[str]:
    """Rows as columns, a rule under the header: the ``left`` columns flush left, the
    others right."""
    flush_left = set(left)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        line = "  ".join(
            c.ljust(w) if j in flush_left else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        lines.append(line.rstrip() if rstrip else line)
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def title(what: str, parameters: Mapping[str, Any]) -> str:
    """``<what> (median of N repetitions)`` or ``<what> (single run)``."""
    repeat = parameters["repeat"]
    return (
        f"{what} ({parameters['statistic']}"
        + (f" of {repeat} repetitions" if repeat > 1 else "")
        + ")"
    )


def footer(r: Mapping[str, Any]) -> list[str]:
    """The machine facts and the command that reproduces the run."""
    return [
        "",
        "machine: " + "; ".join(f"{k} {v}" for k, v in r["machine"].items()),
        "",
        f"reproduce: {r['command']}",
    ]
