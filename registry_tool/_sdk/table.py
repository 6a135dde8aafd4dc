"""``Table``: rows of values under named columns, stored as ``<name>.table.json``.

The file is W&B's table JSON (``_type: "table"``, ``columns``, ``data``, ``ncols``,
``nrows``), so a table written here reads as W&B's. Each column keeps one kind of value
(numbers, text, booleans, images, lists or dicts), as W&B's typed columns do, so a
stray string in a column of accuracies is refused when it is added rather than found
by whoever reads the table; ``allow_mixed_types=True`` lifts that. ``None`` is allowed
where the column is optional.

pandas is imported only for ``Table(dataframe=...)`` (or a DataFrame as ``data``) and
``get_dataframe()``; numpy only for ``get_column(..., convert_to="numpy")``.

>>> t = Table(columns=["id", "label"])
>>> t.add_data(0, "cat")
>>> t.data
[[0, 'cat']]
>>> list(t.iterrows())
[(0, [0, 'cat'])]
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from registry_tool._model.names import validate_entry_path
from registry_tool._model.plain import to_plain
from registry_tool._sdk.image import Image
from registry_tool._sdk.media_base import Media, put_file
from registry_tool.errors import ArtifactError, InvalidNameError, UsageError

DEFAULT_COLUMNS = ["Input", "Output", "Expected"]  # what wandb names columns it is not told
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
# A Python type given as ``dtype`` -> the kind of value a column holds.
_DTYPE_KINDS: dict[Any, str] = {
    int: "number",
    float: "number",
    str: "text",
    bool: "boolean",
    dict: "dict",
    list: "list",
    Image: "image",
}


def _kind(value: Any) -> str | None:
    """The kind of a cell: what a column must keep to (None for a missing value)."""
    if value is None:
        return None
    if isinstance(value, Image):
        return "image"
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "dict"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        return "list"
    return type(value).__name__


def _is_dataframe(value: Any) -> bool:
    kind = type(value)
    return kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "DataFrame"


def _cells_equal(a: Any, b: Any) -> bool:
    if hasattr(a, "tolist") and hasattr(b, "tolist"):  # numpy values compare element-wise
        return bool(a.tolist() == b.tolist())
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class TableIndex(int):
    """A row index that knows its table (W&B's ``_TableIndex``), from ``index_ref``."""

    table: Table


class Table(Media):
    """Rows of plain values and ``Image`` cells under named columns, as W&B's Table.

    >>> t = Table(columns=["a"], data=[[1], [2]])
    >>> t.add_column("b", ["x", "y"])
    >>> t.get_column("b"), len(t)
    (['x', 'y'], 2)
    """

    MAX_ROWS = 10000
    MAX_ARTIFACT_ROWS = 200000
    _log_type = "table"
    _subdir = "media/table"

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        if log_mode is not None and log_mode not in LOG_MODES:
            raise UsageError(f"Table log_mode must be one of {', '.join(LOG_MODES)}: {log_mode!r}")
        self.log_mode = log_mode
        self._mixed = bool(allow_mixed_types)
        if dataframe is None and _is_dataframe(data):
            dataframe, data = data, None
        if dataframe is not None:
            if not _is_dataframe(dataframe):
                raise UsageError(
                    f"Table dataframe must be a pandas DataFrame, not {type(dataframe).__name__}"
                )
            columns = list(dataframe.columns)
            rows = [list(r) for r in dataframe.itertuples(index=False, name=None)]
        else:
            rows = _rows(data if data is not None else rows)
        self.columns = _check_columns(DEFAULT_COLUMNS if columns is None else columns)
        self._optional = _per_column(optional, self.columns, "optional")
        self._kinds = _dtype_kinds(dtype, self.columns)
        self.data: list[list[Any]] = []
        self._pk: str | None = None
        self._fks: dict[str, tuple[Table, str]] = {}
        self._logged = False
        for row in rows:
            self.add_data(*row)

    # -- adding --------------------------------------------------------------------

    def _check(self, index: int, value: Any, kinds: list[str | None], row: int) -> None:
        name = self.columns[index]
        kind = _kind(value)
        if kind is None:
            if not self._optional[index]:
                raise UsageError(f"Table column {name!r} is not optional: row {row} has None")
            return
        if kinds[index] is None:
            kinds[index] = kind
        elif kinds[index] != kind and not self._mixed:
            raise UsageError(
                f"Table column {name!r} holds {kinds[index]} values: row {row} has"
                f" {kind} {str(value)[:40]!r} (allow_mixed_types=True allows it)"
            )

    def add_data(self, *data: Any) -> None:
        """Add one row: a value for each column, in order."""
        if len(data) != len(self.columns):
            raise UsageError(
                f"Table row has {len(data)} values for {len(self.columns)} columns {self.columns}"
            )
        kinds = list(self._kinds)
        for index, value in enumerate(data):
            self._check(index, value, kinds, len(self.data))
        self._kinds = kinds
        self.data.append(list(data))

    add_row = add_data  # wandb's older name

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Add a column with one value per row (the first column makes the rows)."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"Table column name must be text, not {name!r}")
        if name in self.columns:
            raise UsageError(f"Table already has a column {name!r}")
        values = _column_values(data, name)
        if self.columns and len(values) != len(self.data):
            raise UsageError(
                f"Table column {name!r} has {len(values)} values for {len(self.data)} rows"
            )
        self.columns.append(name)
        self._optional.append(bool(optional))
        kinds = [*self._kinds, None]
        try:
            for row, value in enumerate(values):
                self._check(len(self.columns) - 1, value, kinds, row)
        except UsageError:
            self.columns.pop()
            self._optional.pop()
            raise
        self._kinds = kinds
        if len(self.columns) == 1:
            self.data = [[value] for value in values]
        else:
            for cells, value in zip(self.data, values, strict=True):
                cells.append(value)

    def add_computed_columns(self, fn: Callable[[int, dict[str, Any]], Mapping[str, Any]]) -> None:
        """Add the columns ``fn(index, row_as_dict)`` returns for every row."""
        computed: dict[str, list[Any]] = {}
        for index, row in self.iterrows():
            for key, value in fn(index, dict(zip(self.columns, row, strict=True))).items():
                computed.setdefault(key, []).append(value)
        for key, values in computed.items():
            self.add_column(key, values)

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> None:
        """Fix the kind of a column (a Python type or ``Image``); its values must fit."""
        index = self._index(col_name)
        kind = _dtype_kind(dtype, col_name)
        saved = (self._optional[index], self._kinds)
        self._optional[index] = bool(optional)
        kinds = list(self._kinds)
        kinds[index] = kind
        try:
            for row, values in enumerate(self.data):
                self._check(index, values[index], kinds, row)
        except UsageError:
            self._optional[index], self._kinds = saved
            raise
        self._kinds = kinds

    # -- keys ----------------------------------------------------------------------

    def _key_column(self, col_name: str, what: str) -> int:
        index = self._index(col_name)
        for row, values in enumerate(self.data):
            value = values[index]
            if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
                raise UsageError(
                    f"Table {what} {col_name!r}: row {row} has {value!r}, not text or an integer"
                )
        return index

    def set_pk(self, col_name: str) -> None:
        """Make ``col_name`` the primary key: text or integer values, each row's own."""
        index = self._key_column(col_name, "primary key")
        seen: set[Any] = set()
        for row, values in enumerate(self.data):
            if values[index] in seen:
                raise UsageError(
                    f"Table primary key {col_name!r}: row {row} repeats {values[index]!r}"
                )
            seen.add(values[index])
        self._pk = col_name

    def set_fk(self, col_name: str, table: Table, table_col: str) -> None:
        """Make ``col_name`` a foreign key into ``table``'s column ``table_col``."""
        if col_name == self._pk:
            raise UsageError(f"Table column {col_name!r} is the primary key, not a foreign key")
        if not isinstance(table, Table):
            raise UsageError(f"Table.set_fk takes a Table, not {type(table).__name__}")
        table._index(table_col)
        self._key_column(col_name, "foreign key")
        self._fks[col_name] = (table, table_col)

    def index_ref(self, index: int) -> TableIndex:
        """Row ``index`` as a reference that knows this table."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self):
            raise UsageError(f"Table.index_ref: {index!r} is not a row of {len(self)}")
        ref = TableIndex(index)
        ref.table = self
        return ref

    def bind_to_run(self, *args: Any, **kwargs: Any) -> None:
        """Tie the table to ``(run, key, step)``, as every media value (W&B's Table
        takes them as ``*args, **kwargs``)."""
        super().bind_to_run(*args, **kwargs)

    def has_been_logged(self) -> bool:
        """Whether the table was written to a run or an artifact."""
        return self._logged or self._run is not None

    def to_data_array(self) -> list[list[Any]]:
        """The rows, as lists (a copy: changing it leaves the table as it is)."""
        return [list(row) for row in self.data]

    # -- reading -------------------------------------------------------------------

    def _index(self, name: str) -> int:
        if name not in self.columns:
            raise UsageError(f"Table has no column {name!r} (columns: {self.columns})")
        return self.columns.index(name)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of one column, a list (or a numpy array with ``convert_to="numpy"``)."""
        if convert_to not in (None, "numpy"):
            raise UsageError(f"Table.get_column convert_to is None or 'numpy', not {convert_to!r}")
        index = self._index(name)
        values = [row[index] for row in self.data]
        if convert_to == "numpy":
            try:
                import numpy as np
            except ImportError:
                raise UsageError("get_column(convert_to='numpy') needs numpy") from None
            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        """The row indexes, 0 to ``len(table) - 1``."""
        return list(range(len(self.data)))

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """Each row with its index, as ``(index, row)``."""
        for index, row in enumerate(self.data):
            yield index, list(row)

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame (pandas needed)."""
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("Table.get_dataframe needs pandas: pip install pandas") from None
        return pd.DataFrame.from_records(self.data, columns=self.columns)

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return (
            self.columns == other.columns
            and len(self.data) == len(other.data)
            and all(
                len(a) == len(b) and all(_cells_equal(x, y) for x, y in zip(a, b, strict=True))
                for a, b in zip(self.data, other.data, strict=True)
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Table {len(self.columns)} columns, {len(self.data)} rows>"

    # -- storing -------------------------------------------------------------------

    def _write(self, root: Path, table_name: str) -> list[str]:
        """Write the table and its images under ``root``; return their paths."""
        doc, files = self._doc(root)
        target = root / table_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
        self._logged = True
        return [table_name, *dict.fromkeys(files)]

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        """The table as a file named by its content, and W&B's ``table-file`` cell."""
        doc, files = self._doc(root)
        raw = json.dumps(doc, ensure_ascii=False, allow_nan=False).encode()
        digest, rel = put_file(root, self._subdir, raw, ".table.json")
        self._logged = True
        cell = {"_type": "table-file", "path": rel, "sha256": digest, "size": len(raw)}
        cell.update(ncols=len(self.columns), nrows=len(self.data))
        return cell, [rel, *dict.fromkeys(files)]

    def to_json(self, run_or_artifact: Any) -> dict[str, Any]:
        """W&B's JSON: into an artifact, the table document itself (its images
        stored as entries); for a run, the ``table-file`` cell naming its file."""
        if callable(getattr(run_or_artifact, "_staging_dir", None)):
            run_or_artifact._require_draft()
            root = run_or_artifact._staging_dir()
            doc, files = self._doc(root)
            for rel in dict.fromkeys(files):
                if rel not in run_or_artifact._files:
                    run_or_artifact._add(rel, str(root / rel))
            self._logged = True
            return doc
        return super().to_json(run_or_artifact)

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Any) -> Table:
        if json_obj.get("_type") == "table-file":
            local = resolve(json_obj["path"])
            root = local.parents[len(Path(json_obj["path"]).parts) - 1]
            return cls._read(root, json_obj["path"])
        return cls._from_doc(dict(json_obj), "the JSON", lambda rel: resolve(rel))

    def _has_file(self) -> bool:
        return True

    def _doc(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        files = []
        rows = []
        for r, row in enumerate(self.data):
            out = []
            for c, value in enumerate(row):
                if isinstance(value, Image):
                    cell, stored = value._store(root)
                    files.extend(stored)
                    out.append(cell)
                else:
                    out.append(to_plain(value, where=f"Table row {r} column {self.columns[c]!r}"))
            rows.append(out)
        doc: dict[str, Any] = {
            "_type": "table",
            "columns": self.columns,
            "data": rows,
            "ncols": len(self.columns),
            "nrows": len(rows),
        }
        if self._pk is not None:
            doc["primary_key"] = self._pk
        return doc, files

    @classmethod
    def _read(cls, root: Path, table_name: str) -> Table:
        """The table a file holds; a file that is not one is an error naming it."""
        try:
            doc = json.loads((root / table_name).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ArtifactError(f"table {table_name}: not a table file ({exc})") from None

        def resolve(rel: Any) -> Path:
            if not isinstance(rel, str):
                raise ArtifactError(f"table {table_name}: an image path is not text: {rel!r}")
            return root / validate_entry_path(rel)

        return cls._from_doc(doc, table_name, resolve)

    @classmethod
    def _from_doc(cls, doc: Any, table_name: str, resolve: Callable[[Any], Path]) -> Table:
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("columns"), list)
            or not isinstance(doc.get("data"), list)
            or not all(isinstance(row, list) for row in doc["data"])
        ):
            raise ArtifactError(f"table {table_name}: columns and data (a list of rows) needed")
        try:
            rows = [
                [
                    Image._from_cell(Path(), cell, resolve)
                    if isinstance(cell, dict) and cell.get("_type") == "image-file"
                    else cell
                    for cell in row
                ]
                for row in doc["data"]
            ]
            try:
                table = cls(columns=doc["columns"], data=rows)
            except UsageError:  # written with allow_mixed_types=True
                table = cls(columns=doc["columns"], data=rows, allow_mixed_types=True)
            if doc.get("primary_key") is not None:
                table.set_pk(doc["primary_key"])
            return table
        except (UsageError, InvalidNameError, KeyError, TypeError, AttributeError) as exc:
            raise ArtifactError(f"table {table_name}: {exc}") from None


def _rows(data: Any) -> list[Sequence[Any]]:
    if data is None:
        return []
    if type(data).__module__.split(".")[0] == "numpy":
        if getattr(data, "ndim", 0) != 2:
            raise UsageError(
                f"Table data as an array must be 2-D, not {getattr(data, 'shape', '')}"
            )
        return list(data.tolist())
    if not isinstance(data, (list, tuple)):
        raise UsageError(f"Table data must be a list of rows, not {type(data).__name__}")
    for index, row in enumerate(data):
        if not isinstance(row, (list, tuple)):
            raise UsageError(f"Table row {index} must be a list, not {type(row).__name__}")
    return list(data)


def _check_columns(columns: Any) -> list[str]:
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise UsageError(f"Table columns must be a list of names, not {columns!r}")
    names = []
    for column in columns:
        if isinstance(column, bool) or not isinstance(column, (str, int)):
            raise UsageError(f"Table column names are text or integers, not {column!r}")
        names.append(str(column))
    if len(set(names)) != len(names):
        raise UsageError(f"Table columns must be unique: {names}")
    return names


def _per_column(value: Any, columns: list[str], what: str) -> list[bool]:
    if isinstance(value, bool):
        return [value] * len(columns)
    if not isinstance(value, (list, tuple)) or len(value) != len(columns):
        raise UsageError(f"Table {what} is one bool or one per column ({len(columns)})")
    return [bool(v) for v in value]


def _dtype_kind(dtype: Any, column: str) -> str:
    kind = _DTYPE_KINDS.get(dtype)
    if kind is None:
        raise UsageError(
            f"Table dtype for column {column!r}: {dtype!r} is not one of"
            " int, float, str, bool, dict, list, Image"
        )
    return kind


def _dtype_kinds(dtype: Any, columns: list[str]) -> list[str | None]:
    if dtype is None:
        return [None] * len(columns)
    if isinstance(dtype, (list, tuple)):
        if len(dtype) != len(columns):
            raise UsageError(f"Table dtype is one type or one per column ({len(columns)})")
        return [
            None if d is None else _dtype_kind(d, c) for d, c in zip(dtype, columns, strict=True)
        ]
    return [_dtype_kind(dtype, c) for c in columns]


def _column_values(data: Any, name: str) -> list[Any]:
    if type(data).__module__.split(".")[0] == "numpy" and hasattr(data, "tolist"):
        return list(data.tolist()) if getattr(data, "ndim", 1) else [data.tolist()]
    if not isinstance(data, (list, tuple)):
        raise UsageError(f"Table column {name!r} data must be a list, not {type(data).__name__}")
    return list(data)
