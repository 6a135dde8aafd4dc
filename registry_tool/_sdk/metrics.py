"""What ``run.log`` records: the metric history (one JSON line per step, stored as one
blob), the summary (the last value of each metric, or what ``define_metric`` asks for)
and the media a row holds (a ``Table`` or an ``Image`` becomes a file of the run).

Steps are counted as W&B counts them: each ``log`` without ``step`` commits a row and
moves to the next step; ``commit=False`` adds to the current row; an explicit ``step``
holds the row open until a later step (or ``finish``) commits it; a step lower than the
current one is dropped with a warning.

>>> h = History()
>>> h.log({"loss": 0.5}, step=None, commit=False)
>>> h.log({"acc": 0.9}, step=None, commit=None)
>>> [(r["_step"], r["loss"], r["acc"]) for r in h.committed]
[(0, 0.5, 0.9)]
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from registry_tool._blobs import BlobStore
from registry_tool._model.names import validate_entry_path, validate_line
from registry_tool._model.records import HistoryRef, RunFile, RunRecord
from registry_tool._sdk.media import Image, Media, Table
from registry_tool.errors import UsageError

SUMMARY_MODES = ("min", "max", "mean", "first", "last", "best", "none")
GOALS = ("minimize", "maximize")
MAX_KEY = 256
FLUSH_SECONDS = 300.0  # how long a run's history waits in its folder before a commit
HISTORY_FILE = "history.jsonl"
_MAX_DEPTH = 32
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def plain_metric(value: Any, *, where: str, _depth: int = 0) -> Any:
    """``value`` as JSON/YAML data. Unlike config and metadata, a metric may be NaN or
    infinite (a diverging loss is worth recording); numpy scalars and arrays become
    Python values, as wandb converts them."""
    if _depth > _MAX_DEPTH:
        raise UsageError(f"{where}: nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[check_key(key, where)] = plain_metric(
                item, where=f"{where}.{key}", _depth=_depth + 1
            )
        return out
    if isinstance(value, (list, tuple)):
        return [
            plain_metric(v, where=f"{where}[{i}]", _depth=_depth + 1) for i, v in enumerate(value)
        ]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return plain_metric(tolist(), where=where, _depth=_depth)
    raise UsageError(f"{where}: {type(value).__name__} is not a number, string, list or dict")


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def summary_doc(value: Any) -> Any:
    """A summary as the run file keeps it: YAML holds no NaN or infinity there (the
    schema refuses them), so they are written as JSON spells them, ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"``, and ``summary_value`` reads them back."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: summary_doc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summary_doc(v) for v in value]
    return value


def summary_value(value: Any) -> Any:
    """The inverse of ``summary_doc``."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, Mapping):
        return {k: summary_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [summary_value(v) for v in value]
    return value


def check_key(key: object, where: str) -> str:
    """A metric or summary key: a string of one line, at most ``MAX_KEY`` characters."""
    if not isinstance(key, str):
        raise UsageError(f"{where}: key {key!r} is not a string")
    validate_line(key, field=f"{where} key")
    if not key or len(key) > MAX_KEY:
        raise UsageError(f"{where}: key {key[:40]!r} must be 1 to {MAX_KEY} characters")
    return key


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b`` keys, as W&B's history columns name them; a media cell
    (a dict with ``_type``) stays one value."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and "_type" not in value and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def encode_rows(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)


def decode_rows(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        if line.strip():
            yield json.loads(line)


class AttrDict(dict[str, Any]):
    """A dict that also reads and writes its keys as attributes (``config.lr``), as
    W&B's config and summary do."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class Summary(AttrDict):
    """The run summary (``run.summary.best``). ``log`` keeps it at the last value of
    each key; what the user sets stays until a later ``log`` of the same key."""


def parse_rule(
    name: object,
    *,
    summary: str | None,
    goal: str | None,
    step_metric: str | None,
    hidden: bool | None,
) -> dict[str, Any]:
    """A ``define_metric`` call as the run file keeps it; bad arguments say which."""
    check_key(name, "define_metric")
    rule: dict[str, Any] = {}
    if summary is not None:
        modes = [m.strip() for m in str(summary).split(",") if m.strip()]
        for mode in modes:
            if mode not in SUMMARY_MODES:
                raise UsageError(
                    f"define_metric: summary {mode!r} is not one of {', '.join(SUMMARY_MODES)}"
                )
        rule["summary"] = list(dict.fromkeys(modes))
    if goal is not None:
        if goal not in GOALS:
            raise UsageError(f"define_metric: goal {goal!r} is not one of {', '.join(GOALS)}")
        rule["goal"] = goal
    if step_metric is not None:
        rule["step_metric"] = check_key(step_metric, "define_metric step_metric")
    if hidden is not None:
        rule["hidden"] = bool(hidden)
    return rule


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class History:
    """The rows of one run, as W&B counts steps; committed rows wait in ``committed``
    until the run writes them (``take``)."""

    def __init__(self, start_step: int = 0, rows: int = 0, started: float | None = None) -> None:
        self.step = start_step
        self.rows = rows  # rows taken so far (a resumed run counts on from its own)
        self.pending: dict[str, Any] = {}
        self.committed: list[dict[str, Any]] = []
        self.started = time.time() if started is None else started

    def log(self, data: dict[str, Any], *, step: int | None, commit: bool | None) -> None:
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise UsageError(f"log: step must be a whole number >= 0, not {step!r}")
            if step < self.step:
                warnings.warn(
                    f"log: step {step} is less than the current step {self.step}; steps "
                    "must increase, so this data is dropped",
                    UserWarning,
                    stacklevel=4,
                )
                return
            if step > self.step:
                self.commit()
                self.step = step
        _merge(self.pending, data)
        if commit or (commit is None and step is None):
            self.commit()

    def commit(self) -> None:
        """Close the current row (if it holds anything) and move to the next step."""
        if not self.pending:
            return
        now = time.time()
        row = {
            **self.pending,
            "_step": self.step,
            "_timestamp": round(now, 3),
            "_runtime": round(now - self.started, 3),
        }
        self.committed.append(row)
        self.pending = {}
        self.step += 1

    def take(self) -> list[dict[str, Any]]:
        rows, self.committed = self.committed, []
        self.rows += len(rows)
        return rows


def _merge(into: dict[str, Any], data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping) and "_type" not in value and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def update_summary(
    summary: dict[str, Any],
    row: Mapping[str, Any],
    rules: Mapping[str, Mapping[str, Any]],
    means: dict[str, tuple[float, int]],
) -> None:
    """Fold one committed row into the summary: each key's last value, or the
    aggregates its ``define_metric`` rule names (``{"min": 0.1, "last": 0.2}``)."""
    for name, value in flatten(row).items():
        rule = _rule_for(name, rules)
        modes = (rule or {}).get("summary") or ["last"]
        if "none" in modes:
            continue
        path = [name] if name.startswith("_") else name.split(".")
        if modes == ["last"]:
            _put(summary, path, value)
            continue
        old = _get(summary, path)
        agg: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
        goal = (rule or {}).get("goal", "minimize")
        for mode in modes:
            if mode == "last":
                agg["last"] = value
            elif mode == "first":
                agg.setdefault("first", value)
            elif not _number(value) or (isinstance(value, float) and math.isnan(value)):
                continue
            elif mode == "mean":
                total, count = means.get(name, (0.0, 0))
                means[name] = (total + value, count + 1)
                agg["mean"] = means[name][0] / means[name][1]
            else:
                low = mode == "min" or (mode == "best" and goal == "minimize")
                held = agg.get(mode)
                better = held is None or (value < held if low else value > held)
                agg[mode] = value if better else held
        _put(summary, path, agg)


def _rule_for(name: str, rules: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    if name in rules:
        return rules[name]
    for pattern, rule in rules.items():
        if "*" in pattern and fnmatch.fnmatchcase(name, pattern):
            return rule
    return None


def _get(tree: Mapping[str, Any], path: list[str]) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _put(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict) or "_type" in child:
            child = node[part] = {}
        node = child
    node[path[-1]] = value


# -- one run's metrics ---------------------------------------------------------------


def _ignore(_n: int) -> None:
    pass


class RunMetrics:
    """What a live run logs: its history (appended to ``history.jsonl`` in the run's
    folder as rows commit, stored as one blob when the run writes its file), its
    summary, its ``define_metric`` rules and its media files (each a blob)."""

    def __init__(self, blobs: BlobStore, folder: Path) -> None:
        self._blobs = blobs
        self.folder = folder
        self.summary = Summary()
        self.rules: dict[str, dict[str, Any]] = {}
        self.files: dict[str, RunFile] = {}
        self.history = History()
        self.history_ref: HistoryRef | None = None
        self._means: dict[str, tuple[float, int]] = {}
        self._flushed_at = time.monotonic()

    @property
    def dir(self) -> Path:
        folder = self.folder / "files"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def history_file(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / HISTORY_FILE

    def resume(self, record: RunRecord, history: bytes | None) -> None:
        """Carry on from a run's file and its history blob's bytes."""
        self.summary.update(summary_value(record.summary))
        self.rules = {k: dict(v) for k, v in record.metrics.items()}
        self.files = {f.path: f for f in record.files}
        if history is not None and record.history is not None:
            self.history_file.write_bytes(history)
            last = max((row.get("_step", -1) for row in decode_rows(history)), default=-1)
            self.history = History(start_step=last + 1, rows=record.history.rows)
            self.history_ref = record.history

    def log(self, data: Mapping[str, Any], step: int | None, commit: bool | None) -> bool:
        """Log one call's data; whether the history is due to be written (it waited
        ``FLUSH_SECONDS``)."""
        if not isinstance(data, Mapping):
            raise UsageError(f"log: data must be a dict, not {type(data).__name__}")
        # Every value is checked and made plain before the row takes any of them.
        row, written = media_cells(data, self.history.step, self.dir)
        for path in written:
            if path not in self.files:
                local = self.dir / path
                hexdigest, _ = self._blobs.ingest(local, None, _ignore)
                self.files[path] = RunFile(path, f"sha256:{hexdigest}", local.stat().st_size)
        self.history.log(row, step=step, commit=commit)
        self.spool()
        return time.monotonic() - self._flushed_at > FLUSH_SECONDS

    def define(self, name: str, **kwargs: Any) -> None:
        overwrite = kwargs.pop("overwrite", None)
        rule = parse_rule(name, **kwargs)
        if overwrite is False and name in self.rules:
            rule = {**rule, **self.rules[name]}
        self.rules[name] = rule

    def spool(self) -> None:
        """Fold committed rows into the summary and append them to the history file."""
        rows = self.history.take()
        if not rows:
            return
        for row in rows:
            update_summary(self.summary, row, self.rules, self._means)
        with self.history_file.open("ab") as out:
            out.write(encode_rows(rows))

    def flush(self) -> None:
        """Store the history file as one blob and name it in ``history_ref``."""
        self.spool()
        self._flushed_at = time.monotonic()
        if self.history.rows:
            hexdigest, _ = self._blobs.ingest(self.history_file, None, _ignore)
            self.history_ref = HistoryRef(f"sha256:{hexdigest}", self.history.rows)

    def finish(self) -> None:
        self.history.commit()
        self.flush()

    def record(self, record: RunRecord, where: str) -> RunRecord:
        """``record`` with this run's summary, rules, history and files."""
        return replace(
            record,
            summary=summary_doc(plain_metric(dict(self.summary), where=f"{where} summary")),
            metrics={k: dict(v) for k, v in self.rules.items()},
            history=self.history_ref,
            files=tuple(self.files.values()),
        )


# -- media ---------------------------------------------------------------------------


def media_cells(
    data: Mapping[str, Any], step: int, root: Path, *, where: str = "log"
) -> tuple[dict[str, Any], list[str]]:
    """``data`` with each ``Image`` and ``Table`` written under ``root`` and replaced by
    the cell W&B's history holds for it (``_type``, ``path``, ``sha256``, ``size``);
    the other values made plain. Returns the row and the files written (paths relative
    to ``root``)."""
    files: list[str] = []
    out: dict[str, Any] = {}
    for key, value in data.items():
        check_key(key, where)
        here = f"{where}: {key}" if where == "log" else f"{where}.{key}"
        if isinstance(value, Image):
            out[key], stored = value._store(root)
            files.extend(stored)
        elif isinstance(value, Table):
            name = _table_name(key, step, value)
            written = value._write(root, name)
            raw = (root / name).read_bytes()
            files.extend(written)
            out[key] = {
                "_type": "table-file",
                "path": name,
                "sha256": hashlib.sha256(raw).hexdigest(),
                "size": len(raw),
                "ncols": len(value.columns),
                "nrows": len(value.data),
            }
        elif isinstance(value, Media):  # Histogram, Html, Audio, Object3D...
            out[key], stored = value._store(root)
            files.extend(stored)
        elif isinstance(value, Mapping):
            out[key], more = media_cells(value, step, root, where=here)
            files.extend(more)
        else:
            out[key] = plain_metric(value, where=here)
    return out, list(dict.fromkeys(files))


def _table_name(key: str, step: int, table: Table) -> str:
    seed = json.dumps([table.columns, repr(table.data)]).encode()
    digest = hashlib.sha256(seed).hexdigest()[:20]
    return validate_entry_path(f"media/table/{_UNSAFE.sub('_', key)}_{step}_{digest}.table.json")


__all__ = [
    "FLUSH_SECONDS",
    "HISTORY_FILE",
    "History",
    "RunMetrics",
    "Summary",
    "check_key",
    "decode_rows",
    "encode_rows",
    "flatten",
    "media_cells",
    "parse_rule",
    "plain_metric",
    "summary_doc",
    "summary_value",
    "update_summary",
]
