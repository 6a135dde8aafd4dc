"""What ``bench_site.py`` records of every build and how it reports them: the size and
pages of OUT (the largest page, its navigation, the search index), per size the full
and incremental builds against the goals, the machine and the command that reproduces
the run."""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench_site_build import (
    COLLECTIONS_PER_PROJECT,
    LINKED,
    MODEL_REGISTRY,
    STAGES,
    VERSIONS_PER_COLLECTION,
    Shape,
)
from common import REPO, TreeTiming, first_line, median
from report import (
    YES,
    align,
    footer,
    load_average,
    machine_facts,
    repo_state,
    reproduce_command,
    statistic,
    title,
    version_of,
)

if TYPE_CHECKING:
    from bench_site import Bench

GOAL_FULL_SECONDS = 120.0
GOAL_FULL_AT = 10_000  # versions the full-build goal applies to
GOAL_PAGE_BYTES = 100_000  # 100 KB
GOAL_INCREMENTAL_RATIO = 5.0


# -- measuring OUT -------------------------------------------------------------------


_NAV_OPEN = re.compile(r'<nav class="md-nav md-nav--primary"')
_NAV_TAG = re.compile(r"<nav\b|</nav>")


def nav_bytes(html: str) -> int:
    """Bytes of mkdocs-material's primary navigation (the left sidebar) in a page."""
    m = _NAV_OPEN.search(html)
    if not m:
        return 0
    depth = 0
    for tag in _NAV_TAG.finditer(html, m.start()):
        depth += 1 if tag.group() == "<nav" else -1
        if depth == 0:
            return len(html[m.start() : tag.end()].encode("utf-8"))
    return 0


@dataclass
class OutStats:
    total_bytes: int
    files: int
    html_pages: int
    largest_bytes: int
    largest_path: str
    largest_nav_bytes: int
    search_entries: int
    search_pages: int
    search_bytes: int
    version_pages: int
    version_page_avg: float


_VERSION_PAGE = re.compile(r"^artifacts/[^/]+/[^/]+/v[0-9]+\.html$")


def out_stats(out: Path) -> OutStats:
    total = files = pages = 0
    largest, largest_path = 0, ""
    version_sizes = []
    for dirpath, _dirs, names in os.walk(out):
        for name in names:
            path = Path(dirpath) / name
            size = path.stat().st_size
            total += size
            files += 1
            if name.endswith(".html"):
                pages += 1
                rel = path.relative_to(out).as_posix()
                if size > largest:
                    largest, largest_path = size, rel
                if _VERSION_PAGE.match(rel):
                    version_sizes.append(size)
    nav = nav_bytes((out / largest_path).read_text("utf-8")) if largest_path else 0
    entries, search_pages, search_size = search_index(out)
    return OutStats(
        total_bytes=total,
        files=files,
        html_pages=pages,
        largest_bytes=largest,
        largest_path=largest_path,
        largest_nav_bytes=nav,
        search_entries=entries,
        search_pages=search_pages,
        search_bytes=search_size,
        version_pages=len(version_sizes),
        version_page_avg=statistics.mean(version_sizes) if version_sizes else 0.0,
    )


def search_index(out: Path) -> tuple[int, int, int]:
    """(entries, distinct pages, bytes) of the search index."""
    path = out / "search" / "search_index.json"
    try:
        data = path.read_bytes()
        docs = json.loads(data).get("docs", [])
    except (OSError, ValueError):
        return 0, 0, 0
    return len(docs), len({d.get("location", "").split("#")[0] for d in docs}), len(data)


@dataclass
class Rep:
    full: TreeTiming
    full_report: dict[str, Any]
    full_out: OutStats
    incr: dict[str, TreeTiming] = field(default_factory=dict)
    incr_report: dict[str, dict[str, Any]] = field(default_factory=dict)
    incr_search: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    incr_new_page: dict[str, bool] = field(default_factory=dict)
    incr_out: dict[str, OutStats] = field(default_factory=dict)


@dataclass
class SizeResult:
    shape: Shape
    check_seconds: float
    check_files: int
    generate_seconds: float
    reps: list[Rep] = field(default_factory=list)


# -- reporting -----------------------------------------------------------------------


def package_version(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return first_line([str(python), "-c", code])


def library_commit() -> str:
    """The project's git commit, and whether registry_tool/ has uncommitted changes."""
    head, changed = repo_state("registry_tool", "site_templates")
    return head + (" + uncommitted changes to registry_tool/" if changed else "")


def site_machine_facts(cli: Path, python: Path) -> dict[str, str]:
    tools = {
        "dot": first_line(["dot", "-V"]),
        "mkdocs": package_version(python, "mkdocs"),
        "mkdocs-material": package_version(python, "mkdocs-material"),
        "registry-tool": version_of(cli),
        "library commit": library_commit(),
    }
    return machine_facts(python, tools)


def reproduce(args: argparse.Namespace) -> str:
    work = str(args.work)
    if args.work.is_relative_to(REPO):  # an outside work dir stays absolute
        work = args.work.relative_to(REPO).as_posix()
    sizes = {"sizes": ",".join(map(str, args.sizes))}
    return reproduce_command(
        "bench_site.py", args, ("sizes", "repeat"), ("keep", "json"), values=sizes, work=work
    )


def size_summary(size: int, sr: SizeResult) -> dict[str, Any]:
    reps = sr.reps
    full = median([r.full.wall for r in reps])
    last = reps[-1]
    out: dict[str, Any] = {
        "versions": size,
        "shape": vars(sr.shape),
        "generate_seconds": sr.generate_seconds,
        "check": {"passed": True, "files": sr.check_files, "seconds": sr.check_seconds},
        "full": {
            "seconds": full,
            "cpu_seconds": median([r.full.cpu for r in reps]),
            "max_rss_mib": max(r.full.max_rss_mib for r in reps),
            "cli_seconds": median([float(r.full_report["seconds"]) for r in reps]),
            "before_mkdocs_seconds": median([r.full.before_watched_seconds for r in reps]),
            "mkdocs_seconds": median([r.full.watched_seconds for r in reps]),
            "pages": last.full_report["pages"],
            "html_pages": last.full_out.html_pages,
            "out_bytes": last.full_out.total_bytes,
            "out_files": last.full_out.files,
            "largest_page_bytes": max(r.full_out.largest_bytes for r in reps),
            "largest_page": last.full_out.largest_path,
            "largest_page_nav_bytes": last.full_out.largest_nav_bytes,
            "version_pages": last.full_out.version_pages,
            "version_page_avg_bytes": last.full_out.version_page_avg,
            "search_index_entries": last.full_out.search_entries,
            "search_index_pages": last.full_out.search_pages,
            "search_index_bytes": last.full_out.search_bytes,
        },
        "incremental": {},
        "samples": {
            "full": [r.full.wall for r in reps],
            **{f"incr_{k}": [r.incr[k].wall for r in reps] for k in last.incr},
        },
    }
    if size == GOAL_FULL_AT:
        out["full"]["goal"] = f"< {GOAL_FULL_SECONDS:.0f} s"
        out["full"]["met"] = full < GOAL_FULL_SECONDS
    out["full"]["largest_goal"] = f"< {GOAL_PAGE_BYTES // 1000} KB"
    out["full"]["largest_met"] = out["full"]["largest_page_bytes"] < GOAL_PAGE_BYTES
    for kind in last.incr:
        secs = median([r.incr[kind].wall for r in reps])
        ratio = full / secs
        entries, pages, size_b = last.incr_search[kind]
        out["incremental"][kind] = {
            "seconds": secs,
            "cpu_seconds": median([r.incr[kind].cpu for r in reps]),
            "before_mkdocs_seconds": median([r.incr[kind].before_watched_seconds for r in reps]),
            "mkdocs_seconds": median([r.incr[kind].watched_seconds for r in reps]),
            "written": last.incr_report[kind]["written"],
            "removed": last.incr_report[kind]["removed"],
            "pages": last.incr_report[kind]["pages"],
            "ratio": ratio,
            "goal": f">= {GOAL_INCREMENTAL_RATIO:.0f}x",
            "met": ratio >= GOAL_INCREMENTAL_RATIO,
            "new_page_in_out": all(r.incr_new_page[kind] for r in reps),
            "search_index_entries": entries,
            "search_index_pages": pages,
            "search_index_bytes": size_b,
            "largest_page_bytes": last.incr_out[kind].largest_bytes,
        }
    return out


def results(bench: Bench) -> dict[str, Any]:
    a = bench.args
    return {
        "parameters": {
            "sizes": a.sizes,
            "repeat": a.repeat,
            "work": str(a.work),
            "statistic": statistic(a.repeat),
            "caches": "full build: fresh HOME/XDG cache dir and empty OUT; incremental: the "
            "same cache dir and OUT; sync before every timed command; one untimed warm-up "
            "build",
            "shape": f"{VERSIONS_PER_COLLECTION} versions per collection, "
            f"{COLLECTIONS_PER_PROJECT} collections per project (a pipeline), one run per "
            "version using the previous collection's version of the same round, model "
            f"registry '{MODEL_REGISTRY}' with stages {', '.join(STAGES)} holding the last 3 "
            f"versions of every project's '{LINKED}'",
        },
        "sizes": {str(size): size_summary(size, sr) for size, sr in bench.results.items()},
        "machine": {
            **site_machine_facts(bench.cli, bench.python),
            "load average (1 min) before/after": load_average(bench.loadavg),
        },
        "command": reproduce(a),
    }


def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def render(r: dict[str, Any]) -> str:
    p = r["parameters"]
    rows: list[tuple[str, ...]] = [
        (
            "versions",
            "collections",
            "runs",
            "pages (md/html)",
            "full s",
            "CPU s",
            "peak RSS",
            "OUT",
            "largest page",
            "incr log s",
            "full/log",
            "incr run s",
            "full/run",
        )
    ]
    for s in r["sizes"].values():
        f, inc = s["full"], s["incremental"]
        log, rn = inc.get("log", {}), inc.get("run", {})
        rows.append(
            (
                f"{s['versions']:,}",
                f"{s['shape']['collections']:,}",
                f"{s['shape']['runs']:,}",
                f"{f['pages']:,}/{f['html_pages']:,}",
                f"{f['seconds']:.1f}",
                f"{f['cpu_seconds']:.1f}",
                f"{f['max_rss_mib']:.0f} MiB",
                mb(f["out_bytes"]),
                kb(f["largest_page_bytes"]),
                f"{log.get('seconds', 0):.1f}",
                f"{log.get('ratio', 0):.1f}x",
                f"{rn.get('seconds', 0):.1f}",
                f"{rn.get('ratio', 0):.1f}x",
            )
        )
    goals: list[tuple[str, ...]] = [("goal", "versions", "measured", "met?")]
    for s in r["sizes"].values():
        f = s["full"]
        if "goal" in f:
            goals.append(
                (
                    f"full build {f['goal']}",
                    f"{s['versions']:,}",
                    f"{f['seconds']:.1f} s",
                    YES[f["met"]],
                )
            )
    for s in r["sizes"].values():
        f = s["full"]
        goals.append(
            (
                f"largest page {f['largest_goal']}",
                f"{s['versions']:,}",
                f"{f['largest_page_bytes']:,} B",
                YES[f["largest_met"]],
            )
        )
    for s in r["sizes"].values():
        for kind, inc in s["incremental"].items():
            goals.append(
                (
                    f"full / incremental ({kind}) {inc['goal']}",
                    f"{s['versions']:,}",
                    f"{inc['ratio']:.1f}x",
                    YES[inc["met"]],
                )
            )
    details = []
    for s in r["sizes"].values():
        f, shape = s["full"], s["shape"]
        details.append(
            f"{s['versions']:,} versions: {shape['projects']} projects, {shape['links']} links;"
            f" {shape['files']:,} registry files + {shape['blobs']:,} blobs generated in"
            f" {s['generate_seconds']:.1f} s; 'registry-tool check' passed on"
            f" {s['check']['files']:,} files in {s['check']['seconds']:.1f} s"
        )
        details.append(
            f"  full: {f['seconds']:.1f} s wall ({f['cli_seconds']:.1f} s by the CLI's own"
            f" clock), {f['cpu_seconds']:.1f} s CPU; {f['before_mkdocs_seconds']:.1f} s before"
            f" mkdocs starts (load, render, dot) + {f['mkdocs_seconds']:.1f} s in mkdocs;"
            f" {f['out_files']:,} files in OUT;"
            f" largest page {f['largest_page_bytes']:,} B {f['largest_page']}"
            f" (of which mkdocs-material nav {f['largest_page_nav_bytes']:,} B);"
            f" {f['version_pages']:,} version pages, avg {f['version_page_avg_bytes']:,.0f} B;"
            f" search index {f['search_index_entries']:,} entries from"
            f" {f['search_index_pages']:,} pages, {f['search_index_bytes']:,} B"
        )
        for kind, inc in s["incremental"].items():
            how = (
                "registry-tool log DIR --name proj000/model (no run)"
                if kind == "log"
                else "API run: use_artifact('model:latest'), log_artifact(tuned)"
            )
            details.append(
                f"  incremental {kind} [{how}]: {inc['seconds']:.1f} s wall,"
                f" {inc['cpu_seconds']:.1f} s CPU; {inc['before_mkdocs_seconds']:.1f} s before"
                f" mkdocs + {inc['mkdocs_seconds']:.1f} s in mkdocs; {inc['written']} pages written of"
                f" {inc['pages']:,}, {inc['removed']} removed; new page in OUT:"
                f" {YES[inc['new_page_in_out']]}; search index after it:"
                f" {inc['search_index_entries']:,} entries from {inc['search_index_pages']:,}"
                f" pages (full build: {f['search_index_entries']:,} from"
                f" {f['search_index_pages']:,})"
            )
    samples = []
    if p["repeat"] > 1:
        for s in r["sizes"].values():
            samples.append(
                f"samples (s) {s['versions']:,}: "
                + "; ".join(
                    f"{k} {', '.join(f'{x:.1f}' for x in v)}" for k, v in s["samples"].items()
                )
            )
    out = [
        title("registry-tool site build benchmark", p),
        "",
        *align(rows, rstrip=True),
        "",
        *align(goals, rstrip=True),
        "",
        *details,
        *samples,
        "",
        f"shape: {p['shape']}",
        f"caches: {p['caches']}",
        "KB = 1,000 bytes; peak RSS = the largest process of the build's tree",
        *footer(r),
    ]
    return "\n".join(out)
