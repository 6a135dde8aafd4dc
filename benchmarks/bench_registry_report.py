"""How ``bench_registry.py`` reports: each registry-tool command (cold and warm) next to
the GTO command that answers the same question, the goals, how the registry and the
GTO repo were built, the machine and the command that reproduces the run."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from common import med
from report import (
    YES,
    align,
    fmt_s,
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
    from bench_registry import Bench

GOAL_CHECK_PR = 2.0
GOAL_HISTORY = 1.0


def reproduce(args: argparse.Namespace) -> str:
    options = ("collections", "links", "moves", "repeat")
    return reproduce_command("bench_registry.py", args, options, ("skip_gto", "keep", "json"))


def library_state() -> str:
    """Which registry-tool code ran: the repo's HEAD and whether registry_tool/ differs."""
    head, changed = repo_state("registry_tool", "schemas")
    return f"{head}" + (f" + {changed} uncommitted changes" if changed else " (clean)")


# registry-tool row -> (GTO row it is compared with, goal in seconds)
PAIRS: dict[str, tuple[str | None, float | None]] = {
    "check_pr": (None, GOAL_CHECK_PR),
    "check_pr_hot": (None, GOAL_CHECK_PR),
    "check_full": (None, None),
    "history_stage": ("gto_history", GOAL_HISTORY),
    "history_all": ("gto_history", None),
    "resolve": ("gto_show_one", None),
    "ls": ("gto_show_all", None),
}


def results(bench: Bench) -> dict[str, Any]:
    a, lay = bench.args, bench.layout
    rows = []
    for key, (other, goal) in PAIRS.items():
        m = bench.measures[key]
        cold = med(m.cold_s)
        assert cold is not None
        base = bench.measures.get(other) if other else None
        base_s = med(base.cold_s) if base else None
        row = {
            "key": key,
            "operation": m.operation,
            "seconds": cold,
            "warm_seconds": med(m.warm_s),
            "cpu_seconds": med(m.cpu_s),
            "samples": m.cold_s,
            "warm_samples": m.warm_s,
            "baseline": base.operation if base else None,
            "baseline_seconds": base_s,
            "baseline_samples": base.cold_s if base else None,
            "ratio": cold / base_s if base_s else None,
            "goal": f"< {goal:g} s" if goal else None,
            "met": cold < goal if goal else None,
        }
        rows.append(row)
    return {
        "parameters": {
            "collections": lay.collections,
            "links_per_collection": lay.links,
            "links": lay.collections * lay.links,
            "hot_collection": lay.hot,
            "moves": lay.moves,
            "repeat": a.repeat,
            "statistic": statistic(a.repeat),
            "work": str(a.work),
            "caches": "each repetition a fresh HOME/XDG_CACHE_HOME: 'seconds' is the cold run "
            "(empty document cache, what CI sees), 'warm' a second run on the cache it left; "
            "one untimed warm-up run of every command before timing",
        },
        "rows": rows,
        "setup": bench.setup,
        "machine": {
            **machine_facts(sys.executable, {"registry-tool": version_of(bench.cli)}),
            "gto": (bench.setup.get("gto_install") or {}).get("version", "skipped"),
            "load average (1 min) before/after": load_average(bench.loadavg),
            "registry-tool code (start -> end)": " -> ".join(bench.library),
        },
        "command": reproduce(a),
    }


def render(r: dict[str, Any]) -> str:
    table = [("operation", "cold s", "warm s", "GTO s", "ratio", "goal", "met?")]
    for row in r["rows"]:
        table.append(
            (
                row["operation"],
                fmt_s(row["seconds"]),
                fmt_s(row["warm_seconds"]),
                fmt_s(row["baseline_seconds"]),
                f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-",
                row["goal"] or "-",
                YES[row["met"]],
            )
        )
    p, setup = r["parameters"], r["setup"]
    reg = setup["registry"]
    paired: dict[str, list[str]] = {}  # GTO command -> the rows it is compared with
    for row in r["rows"]:
        if row["baseline"]:
            paired.setdefault(row["baseline"], []).append(row["key"])
    out = [
        title("registry-tool model-registry benchmark", p)
        + f": {p['collections']} collections x {p['links_per_collection']} links"
        f" = {p['links']} links, hot collection {p['hot_collection']} with {p['moves']} moves",
        "",
        *align(table),
        "",
        f"(*) the production gate needs the link to have held canary: the check reads the"
        f" canary history ({p['moves']} moves) of {p['hot_collection']}",
        "GTO s: the cold median of "
        + "; ".join(f"`{gto}` next to {', '.join(keys)}" for gto, keys in paired.items())
        + "; ratio = registry-tool cold / GTO (below 1: registry-tool is faster)",
        "CPU seconds (cold, children included): "
        + "; ".join(f"{row['key']} {row['cpu_seconds']:.2f}" for row in r["rows"]),
        f"caches: {p['caches']}",
    ]
    if p["repeat"] > 1:
        out.append(
            "samples (cold s): "
            + "; ".join(
                f"{row['key']} " + ", ".join(f"{x:.2f}" for x in row["samples"])
                for row in r["rows"]
            )
        )
    reused = " (reused from a kept build)" if reg.get("reused") else ""
    out += [
        "",
        f"setup{reused}: registry built in {reg['seconds']:.1f} s: {reg['files_written']} files,"
        f" {reg['commits_on_main']} commits on main; the hot history is {2 * p['moves']} moves"
        f" in {reg['hot_history_commits']} commits ({reg['hot_merge_commits']} PR merge commits"
        f" and their branch commits); .git {reg['pack_mib']} MiB;"
        " steps: " + "; ".join(f"{k} {v:.1f} s" for k, v in reg["steps"].items()),
        f"PR branches: {reg['staging_branch']}, {reg['hot_branch']}; files checked: "
        + ", ".join(f"{k} {v}" for k, v in setup.get("checked_files", {}).items()),
    ]
    if "gto_repo" in setup:
        inst, repo = setup["gto_install"], setup["gto_repo"]
        installed = (
            f"installed in {inst['seconds']:.1f} s" if inst["seconds"] is not None else "reused"
        )
        out.append(
            f"GTO {inst['version']} ({installed}); repo built in {repo['seconds']:.1f} s"
            + (" (reused)" if repo.get("reused") else "")
            + f": {repo['commits']} commits, {repo['tags']} annotated tags"
            f" ({repo['assignment_tags']} stage assignments), refs packed; verified: gto show"
            f" --json has every artifact, the latest version and the stage holders of"
            f" {', '.join(setup['gto_sample_checked'])}; gto history lists"
            f" {setup['gto_history_events']} events"
        )
    out += footer(r)
    return "\n".join(out)
