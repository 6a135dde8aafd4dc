"""W&B's other media: histograms, HTML, audio, video, Plotly figures, model graphs,
class sets and joined tables (3-D objects and molecules are in ``media_scene.py``).

Each is stored as W&B stores it, so a W&B script's logged values read the same here:
a file under ``media/<kind>/`` named by its SHA-256 with W&B's ``<kind>-file`` cell
naming it, or, for a histogram or a class set, the JSON cell alone. They follow the
protocol of ``media_base.Media`` (``_store(root) -> (cell, files)``), so a run logs them
and an artifact holds them the way it holds an ``Image``.

HTML is untrusted text: it is stored as a file and never run by anything of ours.

>>> Histogram(np_histogram=([1, 2], [0.0, 0.5, 1.0])).to_json(".")
{'_type': 'histogram', 'values': [1, 2], 'bins': [0.0, 0.5, 1.0]}
"""

from __future__ import annotations

import io
import json
import os
import wave
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from registry_tool._sdk.media_base import Media, put_file
from registry_tool._sdk.table import Table
from registry_tool.errors import UnsupportedError, UsageError


def _numpy(what: str) -> Any:
    try:
        import numpy as np
    except ImportError:
        raise UsageError(f"{what} needs numpy: pip install numpy") from None
    return np


def _is_array(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "numpy" or hasattr(value, "__array__")


def _json_bytes(doc: Any, what: str) -> bytes:
    def default(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"{type(value).__name__} is not JSON")

    try:
        return json.dumps(doc, default=default, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{what}: cannot be written as JSON: {exc}") from None


class _FileMedia(Media):
    """A value kept as one file: a file given by path, or bytes made from data."""

    _extensions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, caption: str | None = None) -> None:
        if caption is not None and not isinstance(caption, str):
            raise UsageError(f"{type(self).__name__} caption must be text, not {caption!r}")
        self.caption = caption
        self.path: str | None = None  # inside the run or artifact, once stored
        self._source: Path | None = None
        self._bytes: bytes | None = None
        self._ext = ""

    def _from_file(self, path: Any) -> None:
        name = type(self).__name__
        if self.path_is_reference(path):
            raise UsageError(
                f"{name}: {path} is a remote URL; download it first, or track it in an"
                " artifact with add_reference"
            )
        local = Path(path)
        if not local.is_file():
            raise UsageError(f"{name}: {local} is not a file")
        self._ext = next((e for e in self._extensions if local.name.lower().endswith(e)), "")
        if not self._ext:
            raise UsageError(f"{name}: {local} is not one of {', '.join(self._extensions)}")
        self._source = local

    def _data(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        assert self._source is not None
        return self._source.read_bytes()

    def _has_file(self) -> bool:
        return self._bytes is not None or self._source is not None

    def _extra(self) -> dict[str, Any]:
        return {}

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        data = self._data()
        digest, rel = put_file(root, self._subdir, data, self._ext)
        self.path = rel
        cell: dict[str, Any] = {"_type": self._log_type, "path": rel, "sha256": digest}
        cell["size"] = len(data)
        if self.caption is not None:
            cell["caption"] = self.caption
        cell.update(self._extra())
        return cell, [rel]

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Callable[[Any], Path]) -> Any:
        value = cls.__new__(cls)
        _FileMedia.__init__(value, json_obj.get("caption"))
        value._from_file(resolve(json_obj["path"]))
        value.path = json_obj["path"]
        value._loaded(json_obj)
        return value

    def _loaded(self, json_obj: Mapping[str, Any]) -> None:
        """Set what a subclass keeps beside the file from its stored cell."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _FileMedia)
        return self.caption == other.caption and self._data() == other._data()

    __hash__ = None  # type: ignore[assignment]


class Histogram(Media):
    """Counts of values in bins, computed as ``numpy.histogram`` computes them, or
    given as ``np_histogram=(values, bin_edges)``; at most 512 bins."""

    MAX_LENGTH = 512
    _log_type = "histogram"

    def __init__(
        self,
        sequence: Sequence[Any] | None = None,
        np_histogram: Sequence[Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise UsageError("Histogram np_histogram must be (values, bin_edges)")
            values, edges = (v.tolist() if hasattr(v, "tolist") else list(v) for v in np_histogram)
        elif sequence is None:
            raise UsageError("Histogram needs a sequence or np_histogram")
        else:
            if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
                raise UsageError(f"Histogram num_bins must be a positive integer, not {num_bins!r}")
            if num_bins > self.MAX_LENGTH:
                raise UsageError(f"Histogram num_bins is at most {self.MAX_LENGTH}: {num_bins}")
            np = _numpy("Histogram")
            try:
                counts, bin_edges = np.histogram(np.asarray(sequence, dtype=float), bins=num_bins)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"Histogram: {exc}") from None
            values, edges = counts.tolist(), bin_edges.tolist()
        if len(values) > self.MAX_LENGTH:
            raise UsageError(f"Histogram has {len(values)} bins, at most {self.MAX_LENGTH}")
        if len(values) + 1 != len(edges):
            raise UsageError(
                f"Histogram needs one more bin edge than values: {len(edges)} for {len(values)}"
            )
        self.histogram: list[Any] = values
        self.bins: list[Any] = edges

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        return {"_type": self._log_type, "values": self.histogram, "bins": self.bins}, []

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Any) -> Histogram:
        return cls(np_histogram=(json_obj["values"], json_obj["bins"]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self.histogram, self.bins) == (other.histogram, other.bins)

    __hash__ = None  # type: ignore[assignment]


class Html(_FileMedia):
    """HTML from a ``.html`` file, a string or a file object, stored as a ``.html``
    file. ``inject`` adds ``<base target="_blank">`` to its head, as W&B does (W&B's
    stylesheet link to its own site is left out: nothing here fetches from it)."""

    _log_type = "html-file"
    _subdir = "media/html"
    _extensions = (".html",)

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        super().__init__()
        is_path = (
            not data_is_not_path
            and isinstance(data, (str, Path))
            and str(data).endswith(".html")
            and os.path.isfile(data)
        )
        if is_path:
            self.html = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            self.html = data
        elif hasattr(data, "read"):
            if hasattr(data, "seek"):
                data.seek(0)
            self.html = data.read()
        else:
            raise UsageError(f"Html takes text, a .html file or a file object, not {data!r}")
        if not isinstance(self.html, str):
            raise UsageError("Html: the file object gave bytes, not text")
        if inject:
            self.inject_head()
        self._bytes, self._ext = self.html.encode("utf-8"), ".html"

    def inject_head(self) -> None:
        """Put ``<base target="_blank">`` in the head, so links open apart from the page."""
        tag = '<base target="_blank">'
        if "<head>" in self.html:
            before, after = self.html.split("<head>", 1)
            self.html = f"{before}<head>{tag}{after}"
        elif "<html>" in self.html:
            before, after = self.html.split("<html>", 1)
            self.html = f"{before}<html><head>{tag}</head>{after}"
        else:
            self.html = f"{tag}{self.html}"
        self._bytes = self.html.encode("utf-8")

    def _loaded(self, json_obj: Mapping[str, Any]) -> None:
        self.html = self._data().decode("utf-8")


class Audio(_FileMedia):
    """A sound from a file, or from a numpy array of samples written as a 16-bit WAV
    (``sample_rate`` needed): 1-D mono or ``(samples, channels)``; floats in [-1, 1]."""

    _log_type = "audio-file"
    _subdir = "media/audio"
    _extensions = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac", ".opus", ".webm")

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        super().__init__(caption)
        self._sample_rate = sample_rate
        self._duration: float | None = None
        if isinstance(data_or_path, (str, Path)):
            self._from_file(data_or_path)
            self._read_wav_header()
            return
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
            raise UsageError("Audio from raw data needs sample_rate, a positive integer")
        np = _numpy("Audio from an array")
        array = np.asarray(data_or_path)
        if array.ndim not in (1, 2) or array.size == 0 or array.dtype.kind not in "iuf":
            raise UsageError(
                f"Audio: samples must be a non-empty 1-D or (samples, channels) array of"
                f" numbers, not {array.dtype} of shape {list(array.shape)}"
            )
        if array.dtype.kind == "f":
            if not np.isfinite(array).all():
                raise UsageError("Audio: the samples hold NaN or infinity")
            array = (np.clip(array, -1.0, 1.0) * 32767).astype("<i2")
        elif array.min() < -32768 or array.max() > 32767:
            raise UsageError("Audio: integer samples must fit 16 bits (-32768..32767)")
        channels = 1 if array.ndim == 1 else array.shape[1]
        buf = io.BytesIO()
        with wave.open(buf, "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(np.ascontiguousarray(array.astype("<i2")).tobytes())
        self._bytes, self._ext = buf.getvalue(), ".wav"
        self._duration = len(array) / float(sample_rate)

    def _read_wav_header(self) -> None:
        if self._ext != ".wav":
            return
        try:
            with wave.open(str(self._source), "rb") as f:
                self._sample_rate = self._sample_rate or f.getframerate()
                self._duration = f.getnframes() / float(f.getframerate())
        except (wave.Error, EOFError, ZeroDivisionError) as exc:
            raise UsageError(f"Audio: {self._source} is not a readable WAV file: {exc}") from None

    def _extra(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._sample_rate is not None:
            out["sample_rate"] = self._sample_rate
        if self._duration is not None:
            out["duration"] = self._duration
        return out

    def _loaded(self, json_obj: Mapping[str, Any]) -> None:
        self._sample_rate, self._duration = None, None
        self._read_wav_header()

    def durations(self) -> float | None:
        """The length in seconds, when known (a WAV file or an array)."""
        return self._duration

    def sample_rates(self) -> int | None:
        """The samples per second, when known."""
        return self._sample_rate


class Video(_FileMedia):
    """A video file (gif, mp4, webm or ogg). Encoding an array into a video needs an
    encoder (moviepy with ffmpeg) that registry-tool does not ship: save the video to
    a file and pass its path."""

    _log_type = "video-file"
    _subdir = "media/videos"
    _extensions = (".gif", ".mp4", ".webm", ".ogg")

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ) -> None:
        super().__init__(caption)
        if format is not None and f".{format}" not in self._extensions:
            raise UsageError(f"Video format must be one of gif, mp4, webm, ogg, not {format!r}")
        if not isinstance(data_or_path, (str, Path)) and not hasattr(data_or_path, "read"):
            raise UnsupportedError(
                "wandb.Video from an array is not supported by registry-tool: encoding video"
                " needs moviepy and ffmpeg, which it does not ship; write the video to a file"
                " and pass its path"
            )
        self._fps, self._format = fps, format
        if hasattr(data_or_path, "read"):
            if format is None:
                raise UsageError("Video from a file object needs format= (gif, mp4, webm, ogg)")
            data = data_or_path.read()
            if not isinstance(data, bytes):
                raise UsageError("Video: the file object must be opened in binary mode")
            self._bytes, self._ext = data, f".{format}"
        else:
            self._from_file(data_or_path)


class Plotly(_FileMedia):
    """A Plotly figure (anything with ``to_plotly_json``, or its dict with ``data``),
    stored as its JSON in a ``.plotly.json`` file."""

    _log_type = "plotly-file"
    _subdir = "media/plotly"
    _extensions = (".plotly.json",)

    def __init__(self, val: Any) -> None:
        super().__init__()
        if hasattr(val, "to_plotly_json"):
            doc = val.to_plotly_json()
        elif isinstance(val, Mapping) and "data" in val:
            doc = dict(val)
        elif type(val).__module__.split(".")[0] == "matplotlib":
            raise UsageError(
                "Plotly: converting a matplotlib figure needs plotly; use wandb.Image(fig) instead"
            )
        else:
            raise UsageError(f"Plotly takes a plotly figure, not {type(val).__name__}")
        self._bytes, self._ext = _json_bytes(doc, "Plotly"), ".plotly.json"

    def _loaded(self, json_obj: Mapping[str, Any]) -> None:
        self.figure = json.loads(self._data())


class Graph(_FileMedia):
    """A model's graph: nodes (``add_node``) and the edges between them
    (``add_edge``), stored as W&B's ``.graph.json``."""

    _log_type = "graph-file"
    _subdir = "media/graph"
    _extensions = (".graph.json",)

    def __init__(self, format: str = "keras") -> None:
        super().__init__()
        self.format = format
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[tuple[Any, Any]] = []

    def add_node(self, node: Mapping[str, Any] | None = None, **node_kwargs: Any) -> dict[str, Any]:
        """Add a node: ``id`` (unique) and ``name`` at least, with what else W&B keeps
        (``class_name``, ``output_shape``, ``num_parameters``, ...)."""
        doc = {**(node or {}), **node_kwargs}
        if "id" not in doc:
            raise UsageError("Graph.add_node needs an id")
        if any(n["id"] == doc["id"] for n in self.nodes):
            raise UsageError(f"Graph already has a node {doc['id']!r}")
        self.nodes.append(doc)
        return doc

    def add_edge(self, from_node: Any, to_node: Any) -> tuple[Any, Any]:
        """Add an edge between two nodes added before (by node or by id)."""
        ids = {n["id"] for n in self.nodes}
        ends = tuple(n["id"] if isinstance(n, Mapping) else n for n in (from_node, to_node))
        for end in ends:
            if end not in ids:
                raise UsageError(f"Graph.add_edge: no node {end!r}")
        edge = (ends[0], ends[1])
        self.edges.append(edge)
        return edge

    def _data(self) -> bytes:
        doc = {"format": self.format, "nodes": self.nodes, "edges": [list(e) for e in self.edges]}
        return _json_bytes(doc, "Graph")

    def _has_file(self) -> bool:
        return True

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        self._ext = ".graph.json"
        return super()._store(root)

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Callable[[Any], Path]) -> Graph:
        try:
            doc = json.loads(resolve(json_obj["path"]).read_text("utf-8"))
            graph = cls(format=doc["format"])
            for node in doc["nodes"]:
                graph.add_node(node)
            for a, b in doc["edges"]:
                graph.add_edge(a, b)
        except (OSError, ValueError, TypeError) as exc:
            raise UsageError(f"Graph: {json_obj['path']} is not a graph file ({exc})") from None
        graph.path = json_obj["path"]
        return graph


class Classes(Media):
    """A class set: ``[{"id": ..., "name": ...}, ...]``, as W&B's ``classes`` JSON."""

    _log_type = "classes"

    def __init__(self, class_set: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(class_set, (str, Mapping)) or not isinstance(class_set, Sequence):
            raise UsageError("Classes takes a list of {'id': ..., 'name': ...}")
        for index, item in enumerate(class_set):
            if not isinstance(item, Mapping) or "id" not in item or "name" not in item:
                raise UsageError(f"Classes: item {index} needs an id and a name: {item!r}")
        self._class_set = [dict(item) for item in class_set]

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        return {"_type": self._log_type, "class_set": self._class_set}, []

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Any) -> Classes:
        return cls(json_obj["class_set"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Classes):
            return NotImplemented
        return self._class_set == other._class_set

    __hash__ = None  # type: ignore[assignment]


class JoinedTable(Media):
    """Two tables and the column (or the pair of columns) that joins them."""

    _log_type = "joined-table"

    def __init__(self, table1: Table | str, table2: Table | str, join_key: str | Sequence[str]):
        for table in (table1, table2):
            if not isinstance(table, Table) and not (
                isinstance(table, str) and table.endswith(".table.json")
            ):
                raise UsageError(f"JoinedTable takes Tables or .table.json paths, not {table!r}")
        if not isinstance(join_key, str) and (
            not isinstance(join_key, (list, tuple))
            or len(join_key) != 2
            or not all(isinstance(k, str) for k in join_key)
        ):
            raise UsageError("JoinedTable join_key is a column name or a list of two")
        keys = [join_key, join_key] if isinstance(join_key, str) else list(join_key)
        for table, key in zip((table1, table2), keys, strict=True):
            if isinstance(table, Table) and key not in table.columns:
                raise UsageError(f"JoinedTable: no column {key!r} in {table.columns}")
        self._table1, self._table2 = table1, table2
        self._join_key = join_key if isinstance(join_key, str) else list(join_key)

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        files: list[str] = []
        names = []
        for table in (self._table1, self._table2):
            if isinstance(table, Table):
                cell, stored = table._store(root)
                files.extend(stored)
                names.append(cell["path"])
            else:
                names.append(table)
        cell = {"_type": self._log_type, "table1": names[0], "table2": names[1]}
        cell["join_key"] = self._join_key
        return cell, list(dict.fromkeys(files))

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Any) -> JoinedTable:
        tables = []
        for name in (json_obj["table1"], json_obj["table2"]):
            local = resolve(name)
            tables.append(Table._read(local.parents[len(Path(name).parts) - 1], name))
        return cls(tables[0], tables[1], json_obj["join_key"])


__all__ = [
    "Audio",
    "Classes",
    "Graph",
    "Histogram",
    "Html",
    "JoinedTable",
    "Plotly",
    "Video",
]
