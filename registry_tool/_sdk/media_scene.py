"""W&B's 3-D media: ``Object3D`` (files, point clouds, ``lidar/beta`` scenes with
``box3d`` boxes) and ``Molecule`` files, each stored as one file as W&B stores it.

A point cloud or a scene becomes a ``.pts.json`` file, the format W&B writes for them,
so that what a W&B script logs reads the same here.

>>> box3d(center=(0, 0, 0), size=(2, 2, 2), orientation=(1, 0, 0, 0), color=(1, 0, 0))["corners"][0]
(-1.0, -1.0, -1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from registry_tool._sdk.media_types import _FileMedia, _json_bytes, _numpy
from registry_tool.errors import UsageError


class Object3D(_FileMedia):
    """A 3-D object file (obj, gltf, glb, babylon, stl, pts.json), a point cloud as a
    numpy array of rows ``x y z``, ``x y z c`` or ``x y z r g b``, or W&B's
    ``lidar/beta`` scene (points with boxes and vectors), stored as ``.pts.json``."""

    SUPPORTED_TYPES: ClassVar[set[str]] = {"obj", "gltf", "glb", "babylon", "stl", "pts.json"}
    _log_type = "object3D-file"
    _subdir = "media/object3D"
    _extensions = (".pts.json", ".obj", ".gltf", ".glb", ".babylon", ".stl")

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        super().__init__(caption)
        if isinstance(data_or_path, (str, Path)):
            self._from_file(data_or_path)
        elif isinstance(data_or_path, Mapping):
            if data_or_path.get("type") != "lidar/beta":
                raise UsageError('Object3D: a scene dict needs "type": "lidar/beta"')
            if "points" not in data_or_path:
                raise UsageError('Object3D: a scene dict needs "points"')
            doc = {**data_or_path, "points": _points(data_or_path["points"])}
            self._bytes, self._ext = _json_bytes(doc, "Object3D"), ".pts.json"
        elif hasattr(data_or_path, "read"):
            file_type = kwargs.get("file_type")
            if file_type not in self.SUPPORTED_TYPES:
                raise UsageError(
                    f"Object3D from a file object needs file_type=, one of"
                    f" {', '.join(sorted(self.SUPPORTED_TYPES))}"
                )
            data = data_or_path.read()
            self._bytes = data.encode() if isinstance(data, str) else bytes(data)
            self._ext = f".{file_type}"
        else:
            points = _points(data_or_path)
            self._bytes, self._ext = _json_bytes(points, "Object3D"), ".pts.json"

    @classmethod
    def from_point_cloud(
        cls,
        points: Any,
        boxes: Sequence[Mapping[str, Any]],
        vectors: Sequence[Mapping[str, Any]] | None = None,
        point_cloud_type: str = "lidar/beta",
    ) -> Object3D:
        """A scene of points with boxes (from ``box3d``) and vectors, as W&B builds it."""
        if point_cloud_type != "lidar/beta":
            raise UsageError(f"Object3D point_cloud_type is 'lidar/beta', not {point_cloud_type!r}")
        scene = {"type": point_cloud_type, "points": points, "boxes": list(boxes)}
        scene["vectors"] = list(vectors or [])
        return cls(scene)


def _points(data: Any) -> Any:
    np = _numpy("Object3D from points")
    array = np.asarray(data)
    if array.ndim != 2 or array.shape[1] not in (3, 4, 6) or array.dtype.kind not in "iuf":
        raise UsageError(
            f"Object3D points must be an N x 3, 4 or 6 array of numbers, not {list(array.shape)}"
        )
    return array.tolist()


def box3d(
    *,
    center: Any,
    size: Any,
    orientation: Any,
    color: Any,
    label: str | None = None,
    score: float | None = None,
) -> dict[str, Any]:
    """A 3-D box for ``Object3D.from_point_cloud``: its eight corners, from a center,
    a size and a rotation quaternion ``(r, i, j, k)``, computed as W&B computes them."""
    np = _numpy("box3d")
    c, s, q = (np.asarray(v, dtype=np.float64) for v in (center, size, orientation))
    if c.shape != (3,) or s.shape != (3,) or q.shape != (4,):
        raise UsageError("box3d: center and size are 3 numbers, orientation 4 (a quaternion)")
    norm = float(np.linalg.norm(q))
    if not norm or not np.isfinite(norm):
        raise UsageError("box3d: the orientation quaternion must be non-zero and finite")
    qr, qi, qj, qk = q / norm
    rot = np.array(
        (
            (1 - 2 * (qj * qj + qk * qk), 2 * (qi * qj + qk * qr), 2 * (qi * qk - qj * qr)),
            (2 * (qi * qj - qk * qr), 1 - 2 * (qi * qi + qk * qk), 2 * (qj * qk + qi * qr)),
            (2 * (qi * qk + qj * qr), 2 * (qj * qk - qi * qr), 1 - 2 * (qi * qi + qj * qj)),
        )
    )
    unit = np.array([(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
    corners = c + (0.5 * s * unit) @ rot
    if len(color) != 3 or not all(0 <= v <= 1 for v in color):
        raise UsageError(f"box3d color is (r, g, b), each 0..1, not {color!r}")
    return {
        "corners": tuple(tuple(float(v) for v in pt) for pt in corners),
        "color": tuple(color),
        "label": label,
        "score": score,
    }


class Molecule(_FileMedia):
    """A molecule file (pdb, pqr, mmcif, mcif, cif, sdf, sd, gro, mol2, mmtf), or a
    file object with ``file_type=``."""

    SUPPORTED_TYPES: ClassVar[set[str]] = {
        "pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "gro", "mol2", "mmtf",
    }  # fmt: skip
    _log_type = "molecule-file"
    _subdir = "media/molecule"
    _extensions = tuple(f".{t}" for t in sorted(SUPPORTED_TYPES))

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        super().__init__(caption)
        if hasattr(data_or_path, "read"):
            file_type = kwargs.get("file_type")
            if file_type not in self.SUPPORTED_TYPES:
                raise UsageError(
                    "Molecule from a file object needs file_type=, one of"
                    f" {', '.join(sorted(self.SUPPORTED_TYPES))}"
                )
            data = data_or_path.read()
            self._bytes = data.encode() if isinstance(data, str) else bytes(data)
            self._ext = f".{file_type}"
        elif isinstance(data_or_path, (str, Path)):
            self._from_file(data_or_path)
        else:
            raise UsageError(f"Molecule takes a path or a file object, not {data_or_path!r}")


__all__ = ["Molecule", "Object3D", "box3d"]
