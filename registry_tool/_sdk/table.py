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


class Table:
    """Rows of plain values and ``Image`` cells under named columns, as W&B's Table.

    >>> t = Table(columns=["a"], data=[[1], [2]])
    >>> t.add_column("b", ["x", "y"])
    >>> t.get_column("b"), len(t)
    (['x', 'y'], 2)
    """

    MAX_ROWS = 10000
    MAX_ARTIFACT_ROWS = 200000

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
        doc = {
            "_type": "table",
            "columns": self.columns,
            "data": rows,
            "ncols": len(self.columns),
            "nrows": len(rows),
        }
        target = root / table_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")
        return [table_name, *dict.fromkeys(files)]

    @classmethod
    def _read(cls, root: Path, table_name: str) -> Table:
        """The table a file holds; a file that is not one is an error naming it."""
        try:
            doc = json.loads((root / table_name).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ArtifactError(f"table {table_name}: not a table file ({exc})") from None
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("columns"), list)
            or not isinstance(doc.get("data"), list)
            or not all(isinstance(row, list) for row in doc["data"])
        ):
            raise ArtifactError(f"table {table_name}: columns and data (a list of rows) needed")

        def resolve(rel: Any) -> Path:
            if not isinstance(rel, str):
                raise ArtifactError(f"table {table_name}: an image path is not text: {rel!r}")
            return root / validate_entry_path(rel)

        try:
            rows = [
                [
                    Image._from_cell(root, cell, resolve)
                    if isinstance(cell, dict) and cell.get("_type") == "image-file"
                    else cell
                    for cell in row
                ]
                for row in doc["data"]
            ]
            try:
                return cls(columns=doc["columns"], data=rows)
            except UsageError:  # written with allow_mixed_types=True
                return cls(columns=doc["columns"], data=rows, allow_mixed_types=True)
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
