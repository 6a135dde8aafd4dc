"""``Image``: a picture in a table cell (and in a run's logged media), kept as a file.

The bytes are stored under ``media/images/`` named by their SHA-256, so the same
picture in many rows is one file; the cell that names it is W&B's ``image-file`` JSON
(path, digest, size, format, width, height) with the caption, grouping, classes, boxes
and masks beside it. Arrays are turned into pixels the way ``wandb.Image`` turns them,
so that a W&B script logs the same picture here: values in [0, 1] are scaled to 0..255,
values in [-1, 1] mapped onto 0..255, anything else clipped.

Pillow is needed for arrays and PIL images (and for ``.image``); a file path or encoded
bytes work without it. numpy is needed only for arrays and masks, and is imported only
when one is given.

>>> Image(b"not a picture")
Traceback (most recent call last):
...
registry_tool.errors.UsageError: Image: the bytes are not a PNG, JPEG, GIF, BMP or WebP image
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from registry_tool._model.plain import to_plain
from registry_tool._sdk.media_base import Media, put_file
from registry_tool.errors import UsageError

IMAGE_DIR = "media/images"
MASK_DIR = "media/images/mask"
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg"}
# What an array or a PIL image may be saved as (wandb's list).
DATA_FORMATS = ("png", "jpg", "jpeg", "bmp")
_PIL_FORMAT = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
_POSITION_CORNERS = ("minX", "maxX", "minY", "maxY")


def _pil() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise UsageError(
            "Image needs Pillow for arrays, PIL images and .image: pip install 'registry-tool[images]'"
        ) from None
    return PILImage


def _numpy() -> Any:
    try:
        import numpy as np
    except ImportError:
        raise UsageError("Image from an array needs numpy: pip install numpy") from None
    return np


class Image(Media):
    """A picture from a file path, a PIL image, a numpy array or encoded bytes.

    ``mode`` is the PIL mode for an array (guessed from its shape: ``L``, ``RGB`` or
    ``RGBA``); ``file_type`` what an array or PIL image is saved as (``png`` unless
    told); ``boxes``, ``masks`` and ``classes`` are checked in W&B's shapes and kept
    beside the picture.

    >>> Image.get_media_subdir()
    'media/images'
    """

    MAX_ITEMS = 108
    MAX_DIMENSION = 65500
    _log_type = "image-file"
    _subdir = IMAGE_DIR

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        if caption is not None and not isinstance(caption, str):
            raise UsageError(f"Image caption must be text, not {type(caption).__name__}")
        if grouping is not None and (isinstance(grouping, bool) or not isinstance(grouping, int)):
            raise UsageError(f"Image grouping must be an integer, not {grouping!r}")
        self.caption = caption
        self.grouping = grouping
        self.path: str | None = None  # inside the artifact, once stored
        self._path: Path | None = None  # the file the picture comes from
        self._bytes: bytes | None = None  # or its encoded bytes
        self._image: Any = None  # the PIL image, when one was made or opened
        self.format: str | None = None
        if isinstance(data_or_path, Image):
            self._copy(data_or_path)
        elif isinstance(data_or_path, (str, Path)):
            self._from_path(Path(data_or_path))
        elif isinstance(data_or_path, (bytes, bytearray, memoryview)):
            self._from_bytes(bytes(data_or_path))
        else:
            self._from_data(data_or_path, mode, file_type, normalize=normalize)
        self._width, self._height = self._size()
        self._boxes = _check_boxes(boxes)
        self._masks = _check_masks(masks)
        self._classes = _merge_classes(classes, self._boxes, self._masks)

    # -- construction --------------------------------------------------------------

    def _copy(self, other: Image) -> None:
        self._path, self._bytes, self._image = other._path, other._bytes, other._image
        self.format = other.format
        self.caption = self.caption if self.caption is not None else other.caption
        self.grouping = self.grouping if self.grouping is not None else other.grouping

    def _from_path(self, path: Path) -> None:
        if not path.is_file():
            raise UsageError(f"Image: {path} is not a file")
        if path.suffix.lower() not in _EXTENSIONS:
            raise UsageError(
                f"Image: {path} is not a known image type ({', '.join(sorted(_EXTENSIONS))})"
            )
        self._path = path
        self.format = path.suffix[1:]

    def _from_bytes(self, data: bytes) -> None:
        fmt = next((f for magic, f in _MAGIC if data.startswith(magic)), None)
        if fmt is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            fmt = "webp"
        if fmt is None:
            raise UsageError("Image: the bytes are not a PNG, JPEG, GIF, BMP or WebP image")
        self._bytes = data
        self.format = fmt

    def _from_data(
        self, data: Any, mode: str | None, file_type: str | None, *, normalize: bool
    ) -> None:
        fmt = file_type or "png"
        if fmt not in DATA_FORMATS:
            raise UsageError(
                f"Image file_type must be one of {', '.join(DATA_FORMATS)}, not {fmt!r}"
            )
        pil = _pil()
        if isinstance(data, pil.Image):
            image = data
        elif hasattr(data, "__array_interface__") or hasattr(data, "__array__"):
            image = self._from_array(_numpy().asarray(data), mode, fmt, normalize=normalize)
        else:
            raise UsageError(f"Image: cannot make an image from {type(data).__name__}")
        if _PIL_FORMAT[fmt] == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")  # JPEG holds no transparency
        buf = io.BytesIO()
        try:
            image.save(buf, format=_PIL_FORMAT[fmt])
        except (OSError, ValueError) as exc:
            raise UsageError(f"Image: cannot save a {image.mode} image as {fmt}: {exc}") from None
        self._bytes, self._image, self.format = buf.getvalue(), image, fmt

    def _from_array(self, array: Any, mode: str | None, fmt: str, *, normalize: bool) -> Any:
        np = _numpy()
        if array.dtype.kind not in "biuf":
            raise UsageError(f"Image: an array of {array.dtype} is not pixels")
        if array.size == 0:
            raise UsageError(f"Image: the array of shape {list(array.shape)} is empty")
        if array.ndim > 2:
            array = array.squeeze()  # (1, H, W, 3) and (H, W, 1) are pictures too
        mode = mode or self.guess_mode(array, fmt)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise UsageError("Image: the array holds NaN or infinity")
        if normalize:
            array = _rescale_to_0_255(array)
        pil = _pil()
        try:
            image = pil.fromarray(np.ascontiguousarray(array.astype(np.uint8)))
            return image if image.mode == mode else image.convert(mode)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"Image: mode {mode!r} does not fit the array: {exc}") from None

    def guess_mode(self, data: Any, file_type: str | None = None) -> str:
        """The PIL mode of an array by its shape, as wandb guesses it."""
        if data.ndim not in (2, 3):
            raise UsageError(f"Image: unsupported shape {list(data.shape)} for an image")
        channels = data.shape[-1]
        if data.ndim == 2 or channels == 1:
            return "L"
        if channels == 3:
            return "RGB"
        if channels == 4:
            return "RGB" if file_type in ("jpg", "jpeg") else "RGBA"
        raise UsageError(f"Image: unsupported shape {list(data.shape)} (1, 3 or 4 channels, last)")

    # -- reading -------------------------------------------------------------------

    def _data(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        assert self._path is not None
        return self._path.read_bytes()

    def _size(self) -> tuple[int | None, int | None]:
        if self._image is not None:
            return self._image.size  # type: ignore[no-any-return]
        head = self._bytes if self._bytes is not None else _head(self._path)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        try:
            import PIL  # noqa: F401
        except ImportError:  # without Pillow the size is told only for a PNG
            return None, None
        image = self.image  # also refuses a file that is no picture
        return image.size if image is not None else (None, None)

    @property
    def image(self) -> Any:
        """The picture as a PIL image (Pillow needed); None for an SVG file."""
        if self._image is None:
            if self.format == "svg":
                return None
            pil = _pil()
            source = io.BytesIO(self._bytes) if self._bytes is not None else self._path
            try:
                image = pil.open(source)
                image.load()
            except (OSError, ValueError, pil.DecompressionBombError) as exc:
                where = self._path or "the bytes"
                raise UsageError(f"Image: {where} is not a readable image: {exc}") from None
            self._image = image
        return self._image

    @property
    def width(self) -> int | None:
        return self._width

    @property
    def height(self) -> int | None:
        return self._height

    @property
    def boxes(self) -> dict[str, Any] | None:
        return self._boxes

    @property
    def masks(self) -> dict[str, Any] | None:
        return self._masks

    @property
    def classes(self) -> list[dict[str, Any]] | None:
        return self._classes

    def to_data_array(self) -> list[Any]:
        """The pixels, row by row (Pillow needed)."""
        image = self.image
        if image is None:
            return []
        flat = getattr(image, "get_flattened_data", None) or image.getdata  # Pillow 12.1+
        pixels = list(flat())
        return [pixels[i * image.width : (i + 1) * image.width] for i in range(image.height)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return (
            self.caption == other.caption
            and self.grouping == other.grouping
            and (self._width, self._height) == (other._width, other._height)
            and self._classes == other._classes
            and self._data() == other._data()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Image {self.format} {self._width}x{self._height}>"

    # -- storing -------------------------------------------------------------------

    def _store(self, root: Path) -> tuple[dict[str, Any], list[str]]:
        """Write the picture (and its masks) under ``root``; the cell and the files."""
        data = self._data()
        ext = self._path.suffix.lower() if self._path is not None else f".{self.format}"
        digest, rel = put_file(root, IMAGE_DIR, data, ext)
        self.path = rel
        cell: dict[str, Any] = {
            "_type": "image-file",
            "path": rel,
            "sha256": digest,
            "size": len(data),
            "format": self.format,
        }
        if self._width is not None:
            cell["width"], cell["height"] = self._width, self._height
        if self.caption:
            cell["caption"] = self.caption
        if self.grouping is not None:
            cell["grouping"] = self.grouping
        files = [rel]
        if self._classes:
            cell["classes"] = self._classes
        if self._boxes:
            cell["boxes"] = {
                key: {**layer, "class_labels": _str_keys(layer["class_labels"])}
                for key, layer in self._boxes.items()
            }
        if self._masks:
            cell["masks"] = {}
            for key, mask in self._masks.items():
                mask_digest, mask_rel = put_file(root, MASK_DIR, _mask_png(mask), ".png")
                files.append(mask_rel)
                cell["masks"][key] = {
                    "_type": "mask",
                    "path": mask_rel,
                    "sha256": mask_digest,
                    "class_labels": _str_keys(mask["class_labels"]),
                }
        return cell, files

    @classmethod
    def _from_cell(cls, root: Path, cell: Mapping[str, Any], resolve: Any) -> Image:
        """The image a stored cell names; ``resolve`` checks and joins an entry path."""
        masks = {
            key: {"path": resolve(mask["path"]), "class_labels": _int_keys(mask["class_labels"])}
            for key, mask in (cell.get("masks") or {}).items()
        }
        boxes = {
            key: {**layer, "class_labels": _int_keys(layer.get("class_labels") or {})}
            for key, layer in (cell.get("boxes") or {}).items()
        }
        image = cls(
            resolve(cell["path"]),
            caption=cell.get("caption"),
            grouping=cell.get("grouping"),
            classes=cell.get("classes"),
            boxes=boxes or None,
            masks=masks or None,
        )
        image.path = cell["path"]
        return image

    @classmethod
    def _from_json(cls, json_obj: Mapping[str, Any], resolve: Any) -> Image:
        return cls._from_cell(Path(), json_obj, resolve)

    def _has_file(self) -> bool:
        return True

    # -- several images under one key (W&B's ``images/separated``) -----------------

    @classmethod
    def all_captions(cls, images: Iterable[Image]) -> list[Any] | bool:
        """The captions of ``images``, or False when the first has none."""
        return cls.captions(images)

    @classmethod
    def all_boxes(
        cls, images: Iterable[Image], run: Any, run_key: Any, step: Any
    ) -> list[Any] | bool:
        """Each image's box sets as W&B's JSON (None for an image without), or False
        when no image has any."""
        out = [
            {k: {**v, "class_labels": _str_keys(v["class_labels"])} for k, v in i.boxes.items()}
            if i.boxes
            else None
            for i in images
        ]
        return out if any(x is not None for x in out) else False

    @classmethod
    def all_masks(
        cls, images: Iterable[Image], run: Any, run_key: Any, step: Any
    ) -> list[Any] | bool:
        """Each image's masks as stored cells (the mask files written into ``run``,
        a run or an artifact), None for an image without; False when none has any."""
        out = []
        for image in images:
            if image.masks and run is not None and not image.is_bound():
                image.bind_to_run(run, run_key, step)
            out.append(image.to_json(run)["masks"] if image.masks else None)
        return out if any(x is not None for x in out) else False

    @classmethod
    def seq_to_json(cls, seq: Iterable[Any], run: Any, key: Any, step: Any) -> dict[str, Any]:
        """Several images under one key, as W&B's ``images/separated`` cell."""
        items = list(seq)
        if not items or not all(isinstance(i, Image) for i in items):
            raise UsageError("Image.seq_to_json takes a non-empty list of Image")
        for item in items:
            if not item.is_bound() and not isinstance(run, (str, Path)):
                item.bind_to_run(run, key, step)
        cells = [item.to_json(run) for item in items]
        meta: dict[str, Any] = {"_type": "images/separated", "count": len(items)}
        meta.update(width=items[0].width, height=items[0].height, format=cells[0]["format"])
        meta["filenames"] = [c["path"] for c in cells]
        for name, value in (
            ("captions", cls.all_captions(items)),
            ("all_masks", cls.all_masks(items, run, key, step)),
            ("all_boxes", cls.all_boxes(items, run, key, step)),
        ):
            if value:
                meta[name] = value
        return meta


def _head(path: Path | None) -> bytes:
    assert path is not None
    with path.open("rb") as f:
        return f.read(32)


def _rescale_to_0_255(array: Any) -> Any:
    """wandb's guess: [0, 1] scaled by 255, [-1, 1] mapped onto 0..255, else clipped."""
    low, high = array.min(), array.max()
    if low >= 0 and high <= 1:
        return array * 255
    if low >= -1 and high <= 1:
        return 255 * 0.5 * (array + 1)
    return array.clip(0, 255)


def _str_keys(labels: Mapping[int, str]) -> dict[str, str]:
    return {str(k): v for k, v in labels.items()}


def _int_keys(labels: Mapping[str, str]) -> dict[int, str]:
    try:
        return {int(k): v for k, v in labels.items()}
    except (TypeError, ValueError):
        raise UsageError(f"Image class_labels keys must be integers: {list(labels)}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_labels(labels: Any, where: str) -> dict[int, str]:
    if not isinstance(labels, Mapping) or not all(
        _is_int(k) and isinstance(v, str) for k, v in labels.items()
    ):
        raise UsageError(f"{where}: class_labels must map integers to names")
    return {int(k): v for k, v in labels.items()}


def _check_box(box: Any, where: str) -> dict[str, Any]:
    shape = "a position with middle, width and height, or minX, maxX, minY, maxY"
    if not isinstance(box, Mapping) or not isinstance(box.get("position"), Mapping):
        raise UsageError(f"{where}: each box needs {shape}")
    pos = box["position"]
    middle = pos.get("middle")
    centred = (
        isinstance(middle, (list, tuple))
        and len(middle) == 2
        and all(_is_number(v) for v in middle)
        and _is_number(pos.get("width"))
        and _is_number(pos.get("height"))
    )
    if not centred and not all(_is_number(pos.get(k)) for k in _POSITION_CORNERS):
        raise UsageError(f"{where}: each box needs {shape}")
    if not _is_int(box.get("class_id")):
        raise UsageError(f"{where}: class_id must be an integer")
    if "box_caption" in box and not isinstance(box["box_caption"], str):
        raise UsageError(f"{where}: box_caption must be text")
    scores = box.get("scores", {})
    if not isinstance(scores, Mapping) or not all(
        isinstance(k, str) and _is_number(v) for k, v in scores.items()
    ):
        raise UsageError(f"{where}: scores must map names to numbers")
    if box.get("domain") not in (None, "pixel"):
        raise UsageError(f"{where}: domain is 'pixel' or absent (relative coordinates)")
    return to_plain(dict(box), where=where)  # type: ignore[no-any-return]


def _check_boxes(boxes: Any) -> dict[str, Any] | None:
    if not boxes:
        return None
    if not isinstance(boxes, Mapping):
        raise UsageError('Image "boxes" must be a dictionary of named box sets')
    out = {}
    for key, layer in boxes.items():
        where = f"Image boxes[{key!r}]"
        if not isinstance(key, str):
            raise UsageError(f"{where}: the name of a box set is text")
        if not isinstance(layer, Mapping) or not isinstance(layer.get("box_data"), list):
            raise UsageError(f"{where}: box_data must be a list of boxes")
        data = [_check_box(b, f"{where}.box_data[{i}]") for i, b in enumerate(layer["box_data"])]
        if "class_labels" in layer:
            labels = _check_labels(layer["class_labels"], where)
        else:  # wandb names the classes it is not told: class_<id>
            labels = {b["class_id"]: f"class_{b['class_id']}" for b in data}
        out[key] = {"box_data": data, "class_labels": dict(sorted(labels.items()))}
    return out


def _check_masks(masks: Any) -> dict[str, Any] | None:
    if not masks:
        return None
    if not isinstance(masks, Mapping):
        raise UsageError('Image "masks" must be a dictionary of named masks')
    out = {}
    for key, mask in masks.items():
        where = f"Image masks[{key!r}]"
        if not isinstance(key, str) or not isinstance(mask, Mapping):
            raise UsageError(f"{where}: a mask is a dictionary under a text name")
        if ("mask_data" in mask) == ("path" in mask):
            raise UsageError(f"{where}: give mask_data (a 2-D array) or path, one of them")
        if "path" in mask:
            path = Path(mask["path"])
            if not path.is_file():
                raise UsageError(f"{where}: {path} is not a file")
            entry: dict[str, Any] = {"path": path}
            values: list[int] = []
        else:
            data = mask["mask_data"]
            if type(data).__module__.split(".")[0] != "numpy" or getattr(data, "ndim", 0) != 2:
                raise UsageError(f"{where}: mask_data must be a 2-D numpy array")
            if data.dtype.kind not in "biu" or data.size == 0 or data.min() < 0 or data.max() > 255:
                raise UsageError(f"{where}: mask_data holds class ids, integers 0..255")
            entry = {"mask_data": data}
            values = sorted({int(v) for v in data.flat})
        if "class_labels" in mask:
            entry["class_labels"] = _check_labels(mask["class_labels"], where)
        else:
            entry["class_labels"] = {v: f"class_{v}" for v in values}
        out[key] = entry
    return out


def _mask_png(mask: Mapping[str, Any]) -> bytes:
    if "path" in mask:
        return Path(mask["path"]).read_bytes()
    np = _numpy()
    buf = io.BytesIO()
    _pil().fromarray(np.ascontiguousarray(mask["mask_data"].astype(np.uint8))).save(
        buf, format="PNG"
    )
    return buf.getvalue()


def _merge_classes(
    classes: Any, boxes: dict[str, Any] | None, masks: dict[str, Any] | None
) -> list[dict[str, Any]] | None:
    """Every class the boxes, masks and ``classes`` name, as W&B's ``[{id, name}]``."""
    merged: dict[int, str] = {}
    for layer in [*(boxes or {}).values(), *(masks or {}).values()]:
        merged.update(layer["class_labels"])
    if classes is not None:
        if not isinstance(classes, (list, tuple)) or not all(
            isinstance(c, Mapping) and _is_int(c.get("id")) and isinstance(c.get("name"), str)
            for c in classes
        ):
            raise UsageError('Image "classes" must be a list of {"id": int, "name": text}')
        merged.update({int(c["id"]): c["name"] for c in classes})
    return [{"id": k, "name": v} for k, v in sorted(merged.items())] or None
