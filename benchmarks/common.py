"""What every benchmark script shares: messages, finding the CLI and its Python, isolated
environments, running and timing commands (median of repeats; wall and CPU of children,
of a whole process tree, of a server, of the rest of the machine), the work dir's
clean-up, the common options and the run-clean-up-print tail of ``main()``.

Imported as ``common`` (the scripts run from this folder, which is therefore first on
``sys.path``, never the checkout itself).  The package under test is the one of the
environment: the CLI and ``python -c`` children inherit ``PYTHONPATH``, and the
scripts that write registry files import ``registry_tool`` the ordinary way, so
``PYTHONPATH=/work/baseline .venv/bin/python benchmarks/bench_log.py`` times the old
code.  Data builders are in ``builders``, the SeaweedFS server in ``servers``, tables,
machine facts and the reproduce command in ``report``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parent.parent
WRITE_CHUNK = 16 * 1024 * 1024
MiB = 1024 * 1024

# The fixed author of the commits the scripts make (bench_s3, bench_site).
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.test",
}


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def script_name() -> str:
    """The running benchmark (``bench_log``), for messages."""
    return Path(sys.argv[0]).stem or "bench"


# -- the CLI and its interpreter -----------------------------------------------------


def find_cli(script: str) -> Path:
    """The registry-tool CLI of this checkout's venv (or the one on PATH)."""
    for candidate in (
        REPO / ".venv" / "bin" / "registry-tool",
        Path(sys.executable).parent / "registry-tool",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("registry-tool")
    if found:
        return Path(found)
    sys.exit(f"{script}: cannot find the registry-tool CLI (.venv/bin/registry-tool)")


def python_of(cli: Path) -> Path:
    """The interpreter of the venv the CLI lives in (for ``python -c`` snippets)."""
    beside = cli.parent / "python"
    return beside if beside.exists() else Path(sys.executable)


def registry_cmd(cli: Path, registry: Path, *args: str) -> list[str]:
    """``<cli> --registry <registry> <args>...``"""
    return [str(cli), "--registry", str(registry), *args]


def log_cmd(cli: Path, registry: Path, path: Path, name: str) -> list[str]:
    """``registry-tool log PATH --name NAME --type dataset`` into ``registry``."""
    return registry_cmd(cli, registry, "log", str(path), "--name", name, "--type", "dataset")


# -- environments and subprocesses ---------------------------------------------------


def isolated_env(
    home: Path,
    *,
    unset: Iterable[str] = (),
    unset_prefixes: tuple[str, ...] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """os.environ with HOME and the XDG dirs inside ``home`` and the registry overrides
    unset; also without ``unset`` and every variable starting with ``unset_prefixes``;
    ``extra`` added on top.  The XDG dirs the result names are created."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset_prefixes)}
    for var in ("REGISTRY_TOOL_DIR", "REGISTRY_TOOL_CACHE_DIR", "XDG_CONFIG_HOME", *unset):
        env.pop(var, None)
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env.update(extra or {})
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if var in env:
            Path(env[var]).mkdir(parents=True, exist_ok=True)
    return env


class CommandFailed(RuntimeError):
    """A command exited non-zero; the message ends with what it printed last."""

    def __init__(self, cmd: list[str], code: int, stdout: str, stderr: str) -> None:
        shown = "\n".join(t.rstrip() for t in (stdout[-2000:], stderr[-3000:]) if t.strip())
        super().__init__(
            f"{script_name()}: command failed (exit {code}): {shlex.join(cmd)}\n{shown}"
        )
        self.stdout = stdout
        self.stderr = stderr


def run(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
) -> str:
    """Run a command; raise CommandFailed on a non-zero exit; return its stdout."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, input=input, capture_output=True, check=False)
    stdout = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, stdout, proc.stderr.decode("utf-8", "replace"))
    return stdout


def check_side(python: Path, env: dict[str, str], cwd: Path, tree: Path) -> None:
    """Fail unless ``python``, run in ``cwd`` with ``env``, imports the package from
    ``tree``. ``python -m`` puts its working directory first on ``sys.path``: started
    from a checkout, both sides would import that checkout, whatever PYTHONPATH says."""
    where = run([str(python), "-c", "import registry_tool; print(registry_tool.__file__)"],
                env=env, cwd=cwd).strip()  # fmt: skip
    if not Path(where).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"a side meant to run {tree} imports {where}: run it from elsewhere")


def first_line(cmd: list[str]) -> str:
    """The first line a command prints (a version string), or why it could not run."""
    try:
        out = subprocess.run(cmd, capture_output=True, check=False, text=True)
    except OSError as exc:
        return f"unavailable ({exc.strerror})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def install_venv(venv: Path, requirement: str, *, python: str) -> float:
    """``python -m venv`` + ``pip install <requirement>`` into ``venv``: the seconds."""
    start = time.perf_counter()
    run([python, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "--disable-pip-version-check", requirement])
    return time.perf_counter() - start


# -- CPU accounting and timing -------------------------------------------------------


def children_cpu() -> float:
    """User+system CPU seconds of all waited-for children (their children included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def process_cpu(pid: int) -> float:
    """User+system CPU seconds a running process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_cpu() -> float:
    """CPU seconds all processes together have spent busy so far (/proc/stat, every core)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pretouch(scratch: Path, nbytes: int) -> None:
    """Write ``nbytes`` to a scratch file and delete it (untimed), then ``sync``.

    On a VM whose RAM the host backs lazily (Firecracker, ballooned guests), the first
    touch of a guest page costs a host page fault: writing 1 GiB into never-used page
    cache measured ~3-4.6 s here, against ~0.3 s into pages used before.  Whichever
    side of a comparison runs first would pay that alone.  Writing and deleting as many
    bytes as the timed command will write leaves that many already-backed pages at the
    head of the free lists, so both sides write into warm memory.
    """
    block = bytes(WRITE_CHUNK)
    with open(scratch, "wb") as f:
        left = nbytes
        while left > 0:
            f.write(block[: min(left, WRITE_CHUNK)])
            left -= WRITE_CHUNK
    scratch.unlink()
    os.sync()


@dataclass
class Timing:
    """What one timed command took: wall and children's CPU seconds, its stdout, and with
    a server to watch, the server's CPU seconds and every other process's."""

    wall: float
    cpu: float
    stdout: str
    server_cpu: float = 0.0
    other_cpu: float = 0.0


def timed(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    *,
    scratch: Path | None = None,
    pretouch_bytes: int = 0,
    server_pid: int | None = None,
) -> Timing:
    """Run one command and time it; with ``scratch``, after an untimed pre-touch of
    ``pretouch_bytes`` and ``sync``; with ``server_pid``, also the CPU that process and
    the rest of the machine used meanwhile (other users, this script itself)."""
    if scratch is not None:
        pretouch(scratch, pretouch_bytes)
    busy0 = server0 = 0.0
    if server_pid is not None:
        busy0 = machine_busy_cpu()
        server0 = process_cpu(server_pid)
    cpu0, start = children_cpu(), time.perf_counter()
    out = run(cmd, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    timing = Timing(wall, children_cpu() - cpu0, out)
    if server_pid is not None:
        timing.server_cpu = process_cpu(server_pid) - server0
        other = machine_busy_cpu() - busy0 - timing.cpu - timing.server_cpu
        timing.other_cpu = max(0.0, other)
    return timing


@dataclass
class TreeTiming:
    """What one command and every process below it took (``timed_tree``)."""

    wall: float
    cpu: float  # user + system of the whole process tree
    max_rss_mib: float  # the largest process of the tree
    stdout: str
    watched_seconds: float = 0.0  # the watched child, seen from start to end
    before_watched_seconds: float = 0.0  # command start to the watched child's start


class ChildWatch(threading.Thread):
    """Polls /proc every ``interval`` s for children of one process and notes when each
    child with the argument ``argument`` (``mkdocs``) was first and last seen (so a
    command's time splits into its own work and that child's, to about ``interval``)."""

    def __init__(self, pid: int, argument: bytes, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.argument = argument
        self.interval = interval
        self.stopped = threading.Event()
        self.seen: dict[int, list[float]] = {}  # child pid -> [first, last]

    def run(self) -> None:
        while not self.stopped.is_set():
            now = time.perf_counter()
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    if int(stat[stat.rfind(")") + 2 :].split()[1]) != self.pid:
                        continue
                    cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
                except (OSError, ValueError, IndexError):
                    continue
                if self.argument in cmdline:
                    self.seen.setdefault(int(entry.name), [now, now])[1] = now
            self.stopped.wait(self.interval)


def timed_tree(
    cmd: list[str], env: dict[str, str], cwd: Path, logs: Path, *, watch: bytes | None = None
) -> TreeTiming:
    """Run one command after an untimed ``sync``, its output to files in ``logs``; wall,
    CPU and peak RSS come from ``wait4`` on the child, which includes every descendant
    it waited for.  With ``watch``, a thread notes when the command's child of that
    name runs."""
    os.sync()
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "stdout", logs / "stderr"
    watcher = None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        if watch is not None:
            watcher = ChildWatch(proc.pid, watch)
            watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    child = before = 0.0
    if watcher is not None:
        watcher.stopped.set()
        watcher.join()
        if watcher.seen:
            child = sum(last - first for first, last in watcher.seen.values())
            before = min(first for first, _ in watcher.seen.values()) - start
    stdout = out_path.read_text("utf-8", "replace")
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, "", err_path.read_text("utf-8", "replace"))
    cpu = usage.ru_utime + usage.ru_stime
    return TreeTiming(wall, cpu, usage.ru_maxrss / 1024, stdout, child, before)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def med(xs: list[float]) -> float | None:
    """The median, or None for no samples (a side that was skipped)."""
    return statistics.median(xs) if xs else None


def clean_work(
    work: Path,
    subs: Iterable[Path],
    *,
    keep: bool,
    kept: str,
    deleted: str,
    ignore_errors: bool = False,
) -> None:
    """Delete the ``subs`` of the work dir, and the work dir when nothing else is left in
    it; with ``keep`` (``--keep``), only tell that ``kept`` stays."""
    if keep:
        say(f"--keep: leaving {kept} under {work}")
        return
    for sub in subs:
        if sub.exists():
            shutil.rmtree(sub, ignore_errors=ignore_errors)
    with contextlib.suppress(OSError):
        work.rmdir()  # only if nothing else is in it
    say(deleted)


# -- the command line and the tail of main() ----------------------------------------


def arg_parser(description: str, default_work: Path) -> argparse.ArgumentParser:
    """A parser with the ``--work`` option every benchmark has, first."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--work", type=Path, default=default_work, help="work dir (default %(default)s)")
    return p


def add_run_args(
    p: argparse.ArgumentParser,
    *,
    repeat: int,
    repeat_help: str,
    skip: tuple[str, str] | None = None,
    keep: str,
) -> None:
    """The last options: ``--repeat`` (default ``repeat``), ``--skip-<tool>`` when ``skip``
    is (tool, help), ``--json`` and ``--keep`` (``keep`` says what it keeps)."""
    p.add_argument("--repeat", type=int, default=repeat, help=repeat_help)
    if skip is not None:
        p.add_argument(f"--skip-{skip[0]}", action="store_true", help=skip[1])
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--keep", action="store_true", help=keep)


def check_args(
    p: argparse.ArgumentParser,
    args: argparse.Namespace,
    minimum: Mapping[str, int],
    needs: Iterable[tuple[tuple[str, ...], str]] = ((("git",), "needs git on PATH"),),
) -> argparse.Namespace:
    """Every number at least its ``minimum``, every tool of ``needs`` on PATH (else the
    message that goes with it); ``args.work`` made absolute."""
    for name, low in minimum.items():
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')} must be at least {low}")
    for tools, message in needs:
        if any(shutil.which(tool) is None for tool in tools):
            p.error(message)
    args.work = args.work.expanduser().resolve()
    return args


class Benchmark(Protocol):
    cli: Path

    def run_all(self) -> None: ...

    def cleanup(self) -> None: ...


def report(
    bench: Benchmark,
    args: argparse.Namespace,
    results: Callable[[Any], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
    *,
    note: str = "",
    on_failure: Callable[[], None] | None = None,
    stop: Callable[[], None] | None = None,
) -> int:
    """Run every measurement, clean up whatever happens, print the results (``--json``:
    as JSON); the exit code.

    A command that fails is told (then ``on_failure`` runs) and the exit code is 1;
    ``stop`` (a server) runs before the clean-up, also on errors."""
    say(f"work dir {args.work}; CLI {bench.cli}{note}")
    try:
        try:
            bench.run_all()
            r = results(bench)
        except CommandFailed as exc:
            say(str(exc))
            if on_failure is not None:
                on_failure()
            return 1
        finally:
            if stop is not None:
                stop()
    finally:
        bench.cleanup()
    print(json.dumps(r, indent=2) if args.json else render(r))
    return 0
