"""What ``bench_s3.py`` records of every operation, and how it reports them: the table of
registry-tool against dvc and boto3, the CPU of client, server and the rest of the
machine per operation, the DVC install, the machine and the command that reproduces
the run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import first_line, med
from report import (
    YES,
    align,
    fmt_s,
    footer,
    load_average,
    machine_facts,
    reproduce_command,
    statistic,
    title,
    version_of,
)

if TYPE_CHECKING:
    from bench_s3 import Bench

GOAL_DVC_RATIO = 3.0  # registry-tool at least this many times faster than dvc
GOAL_BIG_RATIO = 1.3  # registry-tool within this factor of boto3 for the big file


@dataclass
class Op:
    """One timed operation: wall and CPU seconds of every repetition."""

    wall: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    other_cpu: list[float] = field(default_factory=list)
    checks: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# operation -> what the report calls it
OPS = {
    "up_small_rt": "registry-tool log (small)",
    "up_small_dvc": "dvc push",
    "up_small_boto": "boto3 upload_file loop",
    "up_big_rt": "registry-tool log (big)",
    "up_big_boto": "boto3 upload_file (big)",
    "down_small_rt": "registry-tool get (small)",
    "down_small_dvc": "dvc pull",
    "down_small_boto": "boto3 download_file loop",
    "down_big_rt": "registry-tool get (big)",
    "down_big_boto": "boto3 download_file (big)",
}


@dataclass
class Extras:
    dvc_install_seconds: float | None = None
    dvc_install_note: str = ""
    dvc_add_seconds: list[float] = field(default_factory=list)
    dvc_checksum_env: bool = False
    boto_inner_seconds: dict[str, list[float]] = field(default_factory=dict)
    loadavg_before: float = 0.0
    loadavg_after: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)


def s3_machine_facts(bench: Bench) -> dict[str, str]:
    versions = [
        "import boto3, botocore, s3transfer",
        "print(f'boto3 {boto3.__version__}, botocore {botocore.__version__}, "
        "s3transfer {s3transfer.__version__}')",
    ]
    tools = {
        "registry-tool": version_of(bench.cli),
        "boto3": first_line([str(bench.python), "-c", "\n".join(versions)]),
        "seaweedfs": first_line([str(Path(bench.python).parent / "weed"), "version"]),
    }
    if not bench.args.skip_dvc:
        tools["dvc"] = version_of(bench.dvc)
        dvc_py = str(bench.dvc_venv / "bin" / "python")
        tools["dvc's boto"] = first_line(
            [
                dvc_py,
                "-c",
                "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                "('dvc-s3', 's3fs', 'aiobotocore', 'botocore')))",
            ]
        )
    return machine_facts(bench.python, tools)


def reproduce(args: argparse.Namespace) -> str:
    options = ("small_count", "small_kib", "big_mib", "repeat")
    return reproduce_command("bench_s3.py", args, options, ("skip_dvc", "keep", "json"))


def comparison(
    bench: Bench, operation: str, tool: str, base: str, baseline: str, kind: str
) -> dict[str, Any]:
    """One row: ``kind`` is 'faster' (ratio = baseline / registry-tool, goal >= 3x),
    'within' (ratio = registry-tool / baseline, goal <= 1.3x) or 'info' (baseline /
    registry-tool, no goal)."""
    t, b = med(bench.ops[tool].wall), med(bench.ops[base].wall)
    row: dict[str, Any] = {
        "operation": operation,
        "seconds": t,
        "baseline": baseline,
        "baseline_seconds": b,
        "ratio": None,
        "ratio_is": "registry-tool / baseline" if kind == "within" else "baseline / registry-tool",
        "goal": None,
        "met": None,
    }
    if t is None or b is None:
        return row
    if kind == "within":
        row["ratio"] = t / b
        row["goal"] = f"<= {GOAL_BIG_RATIO}x"
        row["met"] = row["ratio"] <= GOAL_BIG_RATIO
    else:
        row["ratio"] = b / t
        if kind == "faster":
            row["goal"] = f">= {GOAL_DVC_RATIO:.0f}x"
            row["met"] = row["ratio"] >= GOAL_DVC_RATIO
    return row


def results(bench: Bench) -> dict[str, Any]:
    a, x = bench.args, bench.extras
    small = f"{a.small_count} x {a.small_kib} KiB"
    big = f"1 file of {a.big_mib} MiB"
    rows = [
        comparison(bench, f"upload {small}", "up_small_rt", "up_small_dvc", "dvc push", "faster"),
        comparison(
            bench,
            f"upload {small}",
            "up_small_rt",
            "up_small_boto",
            "boto3 upload_file loop",
            "info",
        ),
        comparison(
            bench, f"upload {big}", "up_big_rt", "up_big_boto", "boto3 upload_file", "within"
        ),
        comparison(
            bench, f"download {small}", "down_small_rt", "down_small_dvc", "dvc pull", "faster"
        ),
        comparison(
            bench,
            f"download {small}",
            "down_small_rt",
            "down_small_boto",
            "boto3 download_file loop",
            "info",
        ),
        comparison(
            bench,
            f"download {big}",
            "down_big_rt",
            "down_big_boto",
            "boto3 download_file",
            "within",
        ),
    ]
    ops = {
        name: {
            "seconds": med(op.wall),
            "client_cpu": med(op.client_cpu),
            "server_cpu": med(op.server_cpu),
            "other_cpu": med(op.other_cpu),
            "other_cpu_samples": op.other_cpu,
            "samples": op.wall,
            "checks_ok": all(op.checks) if op.checks else None,
            "notes": op.notes,
        }
        for name, op in bench.ops.items()
        if op.wall
    }
    return {
        "parameters": {
            "small_count": a.small_count,
            "small_kib": a.small_kib,
            "big_mib": a.big_mib,
            "repeat": a.repeat,
            "skip_dvc": a.skip_dvc,
            "work": str(a.work),
            "statistic": statistic(a.repeat),
            "caches": "inputs read once untimed before each group (warm page cache); before "
            "each timed command an untimed write+delete of a scratch file as big as what it "
            "writes, and sync; downloads start from empty client caches; CLI, dvc and boto3 "
            "warmed up once; side order rotates per repetition",
        },
        "rows": rows,
        "operations": ops,
        "dvc": {
            "install_seconds": x.dvc_install_seconds,
            "install": x.dvc_install_note,
            "add_seconds_not_counted": med(x.dvc_add_seconds),
            "checksum_env_needed": x.dvc_checksum_env,
        }
        if not a.skip_dvc
        else None,
        "boto3_loop_seconds_without_startup": {k: med(v) for k, v in x.boto_inner_seconds.items()},
        "machine": {
            **s3_machine_facts(bench),
            "load average (1 min) before/after": load_average((x.loadavg_before, x.loadavg_after)),
        },
        "command": reproduce(a),
    }


def render(r: dict[str, Any]) -> str:
    table = [
        (
            "operation",
            "registry-tool s",
            "baseline",
            "baseline s",
            "ratio",
            "ratio is",
            "goal",
            "met?",
        )
    ]
    for row in r["rows"]:
        table.append(
            (
                row["operation"],
                fmt_s(row["seconds"]),
                row["baseline"],
                fmt_s(row["baseline_seconds"])
                if row["baseline_seconds"] is not None
                else "skipped",
                "-" if row["ratio"] is None else f"{row['ratio']:.2f}x",
                row["ratio_is"].replace("registry-tool", "rt"),
                row["goal"] or "-",
                YES[row["met"]],
            )
        )
    p, ops = r["parameters"], r["operations"]
    cpu_lines = [
        f"  {OPS[k]:<27} wall {fmt_s(v['seconds']):>7}  client CPU {fmt_s(v['client_cpu']):>7}"
        f"  server CPU {fmt_s(v['server_cpu']):>7}  other CPU {fmt_s(v['other_cpu']):>6}"
        f"  verified: {YES[v['checks_ok']]}"
        + (f" ({', '.join(v['notes'])})" if v["notes"] else "")
        + (f"  samples {', '.join(f'{s:.2f}' for s in v['samples'])}" if p["repeat"] > 1 else "")
        for k, v in ops.items()
    ]
    inner = r["boto3_loop_seconds_without_startup"]
    out = [
        title("registry-tool S3 benchmark against SeaweedFS on 127.0.0.1", p),
        "",
        *align(table, left=(0, 2, 5)),
        "",
        "per operation (seconds; CPU = user+sys; server = the SeaweedFS process; other = every"
        " other process on the machine, from /proc/stat; verified = object count after uploads,"
        " byte-for-byte compare after downloads):",
        *cpu_lines,
        *noisy_warning(ops),
        "boto3 baselines without Python start-up/imports (inside the process): "
        + ", ".join(f"{OPS[k]} {fmt_s(v)}" for k, v in inner.items()),
    ]
    if r["dvc"] is not None:
        d = r["dvc"]
        install = (
            f"{d['install_seconds']:.1f} s ({d['install']})"
            if d["install_seconds"] is not None
            else d["install"]
        )
        out.append(
            f"dvc: install {install}, not counted; dvc add (not counted) "
            f"{fmt_s(d['add_seconds_not_counted'])} s; AWS_*_CHECKSUM_*=when_required needed: "
            f"{'yes' if d['checksum_env_needed'] else 'no'}"
        )
    else:
        out.append("dvc: skipped (--skip-dvc)")
    out += [
        f"caches: {p['caches']}",
        *footer(r),
    ]
    return "\n".join(out)


def noisy_warning(ops: dict[str, Any]) -> list[str]:
    """A warning when other processes used a notable share of the CPU during a timing."""
    noisy = []
    for name, v in ops.items():
        worst = max(
            (o / w for o, w in zip(v["other_cpu_samples"], v["samples"], strict=True) if w > 0),
            default=0.0,
        )
        if worst > 0.2:
            noisy.append(f"{name} (up to {worst:.0%} of a core)")
    if not noisy:
        return []
    return [
        "WARNING: other processes were busy during some timings: "
        + ", ".join(noisy)
        + "; this machine was not quiet, so those seconds and ratios are less reliable"
    ]
