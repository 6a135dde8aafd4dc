"""Table, Image and the plain values of metadata and config, as a W&B script uses them.

Each constructor form and accessor is tried at its boundaries; tables travel through a
real artifact (logged, then read by a fresh ``Api``), and numpy values through the
registry's YAML.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import subprocess
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

import registry_tool as wandb
from registry_tool._model.plain import to_plain
from registry_tool._sdk.media import Image, Table
from registry_tool.errors import ArtifactError, UsageError

# -- plain values ---------------------------------------------------------------------


class Colour(enum.Enum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.int64(3), 3),
        (np.uint8(255), 255),
        (np.float32(0.5), 0.5),
        (np.float64(1e-3), 1e-3),
        (np.bool_(True), True),
        (np.str_("x"), "x"),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.array([7]), 7),  # one element: the element, as wandb stores it
        (np.array(2.5), 2.5),
        (np.array([1.0, np.nan, np.inf]), [1.0, None, "Infinity"]),
        (np.float64("nan"), None),
        (float("nan"), None),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (np.float64("-inf"), "-Infinity"),
        (
            np.array(["2024-05-01T12:00:00.000000001"], dtype="datetime64[ns]"),
            "2024-05-01T12:00:00.000000001",
        ),
        (np.datetime64("NaT"), None),
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (Path("runs/a.txt"), "runs/a.txt"),
        (PurePosixPath("/x/y"), "/x/y"),
        (Colour.RED, "RED"),
        ((1, np.int32(2)), [1, 2]),
    ],
)
def test_values_are_made_plain_as_wandb_makes_them(value, plain):
    got = to_plain({"k": value}, where="metadata")["k"]
    assert got == plain
    assert type(got) is type(plain)  # no numpy type left for YAML to trip on


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"k": object()}, r"^metadata\.k: object is not a YAML value$"),
        ({"k": {"deep": np.complex128(1j)}}, r"^metadata\.k\.deep: a complex number"),
        ({"k": [1, b"\x00"]}, r"^metadata\.k\[1\]: bytes is not a YAML value$"),
        ({"k": {1, 2}}, r"^metadata\.k: set is not a YAML value$"),
        ({1: "a"}, r"^metadata: key 1 is not a string$"),
    ],
)
def test_what_cannot_be_made_plain_is_refused_naming_the_key(value, message):
    with pytest.raises(UsageError, match=message):
        to_plain(value, where="metadata")


def test_numpy_is_not_imported_by_the_package_nor_by_plain_values():
    code = (
        "import sys, registry_tool\n"
        "from registry_tool._model.plain import to_plain\n"
        "to_plain({'a': [1, 2.5, 'x', None], 'b': float('nan')}, where='m')\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'PIL') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_numpy_pandas_and_pillow_what_needs_them_says_so(tmp_path):
    (tmp_path / "a.png").write_bytes(_png((7, 2)))
    code = (
        "import sys\n"
        "sys.modules.update(numpy=None, pandas=None, PIL=None)\n"
        "from registry_tool._sdk.media import Image, Table\n"
        "from registry_tool.errors import UsageError\n"
        f"image = Image({str(tmp_path / 'a.png')!r})\n"
        "print(image.format, image.width, image.height)\n"
        "for call in (lambda: Image([[0]]), lambda: image.image,\n"
        "             lambda: Table(columns=['a']).get_dataframe()):\n"
        "    try:\n"
        "        call()\n"
        "    except UsageError as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "png 7 2",
        "Image needs Pillow for arrays, PIL images and .image: pip install 'registry-tool[images]'",
        "Image needs Pillow for arrays, PIL images and .image: pip install 'registry-tool[images]'",
        "Table.get_dataframe needs pandas: pip install pandas",
    ]


def test_numpy_metadata_and_config_round_trip_through_the_yaml(registry):
    Path("f.txt").write_text("x")
    metadata = {
        "acc": np.float32(0.75),
        "n": np.int64(3),
        "shape": np.array([2, 3]),
        "loss": np.float64("nan"),
        "best": float("inf"),
        "when": dt.datetime(2024, 5, 1, 12, 0),
        "src": Path("data/raw"),
    }
    with wandb.init(
        project="p", config={"lr": np.float64(0.1), "layers": np.array([64, 32])}
    ) as run:
        run.config["dropout"] = np.float32(0.25)
        art = wandb.Artifact("a", type="t", metadata=metadata)
        art.add_file("f.txt")
        run.log_artifact(art)
        run_id = run.id
    got = wandb.Api().artifact("p/a:v0")
    assert got.metadata == {
        "acc": 0.75,
        "n": 3,
        "shape": [2, 3],
        "loss": None,
        "best": "Infinity",
        "when": "2024-05-01T12:00:00",
        "src": "data/raw",
    }
    config = wandb.Api().run(f"p/{run_id}").config
    assert config == {"lr": 0.1, "layers": [64, 32], "dropout": 0.25}
    assert "!!" not in "".join(p.read_text() for p in registry.root.rglob("*.yaml"))  # no tags


# -- Image ----------------------------------------------------------------------------


def _png(size=(4, 3), colour=(255, 0, 0), mode="RGB") -> bytes:
    buf = io.BytesIO()
    PILImage.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_image_from_a_path_keeps_its_format_and_size(tmp_path):
    path = tmp_path / "cat.JPG"
    PILImage.new("RGB", (6, 2), (0, 0, 255)).save(path, format="JPEG")
    image = Image(path, caption="a cat")
    assert (image.format, image.width, image.height, image.caption) == ("JPG", 6, 2, "a cat")
    assert image.image.size == (6, 2)
    with pytest.raises(UsageError, match=r"nope\.png is not a file"):
        Image(tmp_path / "nope.png")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UsageError, match=r"a\.txt is not a known image type"):
        Image(tmp_path / "a.txt")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UsageError, match=r"bad\.jpg is not a readable image"):
        Image(tmp_path / "bad.jpg")


def test_image_from_bytes_and_from_pil():
    data = _png((5, 2))
    image = Image(data)
    assert (image.format, image.width, image.height) == ("png", 5, 2)
    assert image.image.getpixel((0, 0)) == (255, 0, 0)
    with pytest.raises(UsageError, match="the bytes are not a PNG, JPEG"):
        Image(b"\x89PNX not an image")
    pil = PILImage.new("RGBA", (3, 3), (1, 2, 3, 4))
    assert Image(pil).format == "png"
    jpeg = Image(pil, file_type="jpg")  # JPEG holds no alpha: saved as RGB
    assert (jpeg.format, PILImage.open(io.BytesIO(jpeg._data())).mode) == ("jpg", "RGB")
    with pytest.raises(UsageError, match="file_type must be one of png, jpg, jpeg, bmp, not 'gif'"):
        Image(pil, file_type="gif")
    with pytest.raises(UsageError, match="cannot make an image from dict"):
        Image({"a": 1})
    assert Image(Image(data, caption="c")).caption == "c"  # a copy keeps the caption


@pytest.mark.parametrize(
    ("array", "mode"),
    [
        (np.zeros((3, 4), dtype=np.uint8), "L"),
        (np.zeros((3, 4, 1), dtype=np.uint8), "L"),
        (np.zeros((3, 4, 3), dtype=np.uint8), "RGB"),
        (np.zeros((3, 4, 4), dtype=np.uint8), "RGBA"),
        (np.zeros((1, 3, 4, 3), dtype=np.uint8), "RGB"),  # trivial dimensions squeezed
    ],
)
def test_image_mode_is_guessed_from_the_array_shape(array, mode):
    image = Image(array)
    assert (image.image.mode, image.width, image.height) == (mode, 4, 3)


def test_image_mode_given_is_honoured_and_bad_shapes_are_refused():
    assert Image(np.zeros((2, 2, 3), dtype=np.uint8), mode="L").image.mode == "L"
    for bad, message in [
        (np.zeros((2, 2, 5)), r"unsupported shape \[2, 2, 5\]"),
        (np.zeros((4,)), r"unsupported shape \[4\]"),
        (np.zeros((0, 3)), r"shape \[0, 3\] is empty"),
        (np.array([[0.5, np.nan]]), "holds NaN or infinity"),
        (np.array([["a", "b"]]), "is not pixels"),
    ]:
        with pytest.raises(UsageError, match=message):
            Image(bad)


@pytest.mark.parametrize(
    ("values", "normalize", "pixels"),
    [
        ([0.0, 0.5, 1.0], True, [0, 127, 255]),  # [0, 1] is scaled by 255
        ([-1.0, 0.0, 1.0], True, [0, 127, 255]),  # [-1, 1] is mapped onto 0..255
        ([-1.5, 100.0, 300.0], True, [0, 100, 255]),  # anything else is clipped
        ([0, 1, 1], True, [0, 255, 255]),  # integers in [0, 1] too, as in wandb
        ([0, 17, 255], True, [0, 17, 255]),  # already pixels: unchanged
        ([0.0, 0.5, 1.0], False, [0, 0, 1]),  # normalize=False: cast as given
    ],
)
def test_image_values_are_normalised_as_wandb_does(values, normalize, pixels):
    image = Image(np.array([values]), normalize=normalize)
    assert np.asarray(image.image).ravel().tolist() == pixels


def test_image_boxes_masks_and_classes_are_checked_in_wandbs_shapes():
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    box = {"position": {"minX": 0, "maxX": 2, "minY": 0, "maxY": 2}, "class_id": 1}
    centred = {
        "position": {"middle": [1, 1], "width": 2, "height": 2},
        "class_id": 2,
        "scores": {"p": np.float32(0.5)},
        "box_caption": "dog",
    }
    image = Image(
        pixels,
        boxes={
            "pred": {"box_data": [box, centred], "class_labels": {1: "cat"}},
            "truth": {"box_data": [box]},
        },
        masks={"seg": {"mask_data": np.array([[0, 1], [1, 3]], dtype=np.uint8)}},
        classes=[{"id": 9, "name": "bird"}],
    )
    assert image.boxes["truth"]["class_labels"] == {1: "class_1"}
    assert image.boxes["pred"]["box_data"][1]["scores"] == {"p": 0.5}
    assert image.masks["seg"]["class_labels"] == {0: "class_0", 1: "class_1", 3: "class_3"}
    assert image.classes == [
        {"id": 0, "name": "class_0"},
        {"id": 1, "name": "class_1"},
        {"id": 3, "name": "class_3"},
        {"id": 9, "name": "bird"},
    ]
    bad = [
        ({"boxes": [box]}, '"boxes" must be a dictionary'),
        ({"boxes": {"p": {"box_data": box}}}, r"boxes\['p'\]: box_data must be a list"),
        (
            {
                "boxes": {
                    "p": {
                        "box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0}, "class_id": 1}]
                    }
                }
            },
            r"box_data\[0\]: each box needs",
        ),
        (
            {
                "boxes": {
                    "p": {
                        "box_data": [
                            {"position": {"middle": [1], "width": 1, "height": 1}, "class_id": 1}
                        ]
                    }
                }
            },
            "each box needs",
        ),
        ({"boxes": {"p": {"box_data": [{**box, "class_id": "1"}]}}}, "class_id must be an integer"),
        ({"boxes": {"p": {"box_data": [{**box, "scores": {"p": "high"}}]}}}, "scores must map"),
        ({"boxes": {"p": {"box_data": [box], "class_labels": {"1": "cat"}}}}, "class_labels must"),
        ({"masks": {"m": {"mask_data": np.zeros((2, 2, 2), dtype=np.uint8)}}}, "2-D numpy array"),
        ({"masks": {"m": {"mask_data": [[0, 1]]}}}, "2-D numpy array"),
        ({"masks": {"m": {"mask_data": np.zeros((2, 2)) + 0.5}}}, "integers 0..255"),
        ({"masks": {"m": {"mask_data": np.zeros((2, 2), dtype=int), "path": "x.png"}}}, "one of"),
        ({"masks": {"m": {}}}, "one of them"),
        ({"classes": [{"id": "a", "name": "x"}]}, '"classes" must be a list'),
    ]
    for kwargs, message in bad:
        with pytest.raises(UsageError, match=message):
            Image(pixels, **kwargs)


# -- Table ----------------------------------------------------------------------------


def test_table_constructor_forms():
    assert Table().columns == ["Input", "Output", "Expected"]  # wandb's default columns
    assert Table(columns=["a", 2], data=[[1, "x"]]).columns == ["a", "2"]
    assert Table(columns=["a"], rows=[[1], [2]]).data == [[1], [2]]
    assert Table(columns=["a", "b"], data=np.array([[1, 2], [3, 4]])).data == [[1, 2], [3, 4]]
    df = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert Table(dataframe=df).columns == ["x", "y"]
    assert Table(data=df) == Table(columns=["x", "y"], data=[[1, "a"], [2, "b"]])
    for kwargs, message in [
        ({"columns": ["a", "a"]}, "columns must be unique"),
        ({"columns": "ab"}, "columns must be a list of names"),
        ({"columns": [1.5]}, "column names are text or integers"),
        ({"columns": ["a"], "data": [[1, 2]]}, r"row has 2 values for 1 columns \['a'\]"),
        ({"columns": ["a"], "data": [1, 2]}, "row 0 must be a list"),
        ({"columns": ["a"], "data": "ab"}, "data must be a list of rows"),
        ({"columns": ["a"], "data": np.zeros(3)}, "must be 2-D"),
        ({"dataframe": [[1]]}, "must be a pandas DataFrame"),
        ({"columns": ["a"], "log_mode": "SOMETIMES"}, "log_mode must be one of"),
        ({"columns": ["a"], "dtype": set}, "is not one of int, float"),
        ({"columns": ["a"], "optional": [True, False]}, "one per column"),
    ]:
        with pytest.raises(UsageError, match=message):
            Table(**kwargs)


def test_table_columns_keep_one_kind_of_value():
    t = Table(columns=["acc", "label"])
    t.add_data(1, "cat")
    t.add_data(0.5, None)  # ints and floats are numbers; None where optional
    with pytest.raises(UsageError, match=r"column 'acc' holds number values: row 2 has text"):
        t.add_data("high", "dog")
    assert len(t) == 2  # the refused row left nothing
    mixed = Table(columns=["a"], allow_mixed_types=True)
    mixed.add_data(1)
    mixed.add_data("x")
    strict = Table(columns=["a", "b"], optional=[True, False])
    strict.add_data(None, 1)
    with pytest.raises(UsageError, match="column 'b' is not optional: row 1 has None"):
        strict.add_data(1, None)
    typed = Table(columns=["a"], dtype=str)
    with pytest.raises(UsageError, match="holds text values: row 0 has number"):
        typed.add_data(1)


def test_table_add_column_at_its_boundaries():
    t = Table(columns=["a"], data=[[1], [2]])
    with pytest.raises(UsageError, match="column 'b' has 1 values for 2 rows"):
        t.add_column("b", ["x"])
    with pytest.raises(UsageError, match="column 'b' has 3 values for 2 rows"):
        t.add_column("b", ["x", "y", "z"])
    with pytest.raises(UsageError, match="already has a column 'a'"):
        t.add_column("a", [1, 2])
    with pytest.raises(UsageError, match="column 'b' is not optional: row 1 has None"):
        t.add_column("b", ["x", None])
    with pytest.raises(UsageError, match="column 'b' holds text values: row 1 has number"):
        t.add_column("b", ["x", 3])
    assert t.columns == ["a"] and t.data == [[1], [2]]  # refused columns left nothing
    t.add_column("b", np.array([0.5, 1.5]))
    t.add_column("c", ["x", None], optional=True)
    assert t.data == [[1, 0.5, "x"], [2, 1.5, None]]
    first = Table(columns=[])
    first.add_column("only", [1, 2, 3])  # the first column makes the rows
    assert first.data == [[1], [2], [3]]
    t.add_computed_columns(lambda i, row: {"double": row["a"] * 2, "index": i})
    assert t.get_column("double") == [2, 4] and t.get_column("index") == [0, 1]
    t.cast("c", str, optional=True)
    with pytest.raises(UsageError, match="column 'a' holds text values"):
        t.cast("a", str)
    t.add_data(3, 2.5, "y", 6, 2)  # the refused cast left the column a number


def test_table_accessors():
    t = Table(columns=["id", "score"], data=[[0, 0.5], [1, 0.25]])
    assert t.get_column("score") == [0.5, 0.25]
    column = t.get_column("score", convert_to="numpy")
    assert isinstance(column, np.ndarray) and column.tolist() == [0.5, 0.25]
    with pytest.raises(UsageError, match=r"no column 'Score' \(columns: \['id', 'score'\]\)"):
        t.get_column("Score")
    with pytest.raises(UsageError, match="convert_to is None or 'numpy'"):
        t.get_column("score", convert_to="pandas")
    assert t.get_index() == [0, 1]
    assert list(t.iterrows()) == [(0, [0, 0.5]), (1, [1, 0.25])]
    pd.testing.assert_frame_equal(
        t.get_dataframe(), pd.DataFrame({"id": [0, 1], "score": [0.5, 0.25]})
    )
    assert Table(columns=["a"]).get_index() == []
    assert t == Table(columns=["id", "score"], data=[[0, 0.5], [1, 0.25]])
    assert t != Table(columns=["id", "score"], data=[[0, 0.5], [1, 0.3]])
    assert t != Table(columns=["id", "Score"], data=[[0, 0.5], [1, 0.25]])
    assert t != Table(columns=["id", "score"], data=[[0, 0.5]])


def test_table_with_images_round_trips_through_an_artifact(registry):
    PILImage.new("RGB", (4, 3), (255, 0, 0)).save("cat.png")
    boxes = {
        "pred": {
            "box_data": [
                {
                    "position": {"minX": 0, "maxX": 2, "minY": 0, "maxY": 1},
                    "class_id": 1,
                    "scores": {"p": 0.9},
                }
            ],
            "class_labels": {1: "cat"},
        }
    }
    mask = {
        "seg": {
            "mask_data": np.array([[0, 1, 1, 0]] * 3, dtype=np.uint8),
            "class_labels": {0: "bg", 1: "cat"},
        }
    }
    table = Table(columns=["id", "image", "score", "tags"])
    table.add_data(0, Image("cat.png", caption="file", boxes=boxes, masks=mask), 0.5, ["a"])
    table.add_data(1, Image(np.full((2, 5), 0.5), caption="array", grouping=2), None, [])
    table.add_data(2, Image(_png((3, 3), (0, 255, 0))), np.float32(0.25), ["b", "c"])
    with wandb.init(project="p") as run:
        art = wandb.Artifact("preds", type="predictions")
        art.add(table, "preds")
        run.log_artifact(art)
    got_art = wandb.Api().artifact("p/preds:latest")
    names = sorted(e.path for e in got_art.files())
    assert "preds.table.json" in names
    assert len([n for n in names if n.startswith("media/images/mask/")]) == 1
    got = got_art.get("preds")
    assert got == table
    first, second, _ = got.get_column("image")
    assert (first.caption, first.format, first.width, first.height) == ("file", "png", 4, 3)
    assert first.boxes == {
        "pred": {**boxes["pred"], "box_data": [{**boxes["pred"]["box_data"][0]}]}
    }
    assert first.masks["seg"]["class_labels"] == {0: "bg", 1: "cat"}
    root = Path(got_art.download())
    with PILImage.open(first.masks["seg"]["path"]) as m:
        assert np.array_equal(np.asarray(m), mask["seg"]["mask_data"])
    assert (second.grouping, second.caption) == (2, "array")
    assert np.asarray(second.image).ravel().tolist() == [127] * 10
    doc = json.loads((root / "preds.table.json").read_text())
    assert (doc["_type"], doc["ncols"], doc["nrows"]) == ("table", 4, 3)
    assert doc["data"][0][1]["_type"] == "image-file"
    assert doc["data"][0][1]["masks"]["seg"]["class_labels"] == {"0": "bg", "1": "cat"}


def test_dataframe_round_trips_through_an_artifact(registry):
    df = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "loss": [0.5, np.nan, 0.25],
            "label": ["a", "b", "c"],
            "ok": [True, False, True],
        }
    )
    with wandb.init(project="p") as run:
        art = wandb.Artifact("frame", type="dataset")
        art.add(Table(dataframe=df), "frame")
        run.log_artifact(art)
    got = wandb.Api().artifact("p/frame:v0").get("frame")
    assert got.columns == ["id", "loss", "label", "ok"]
    assert got.get_column("loss") == [0.5, None, 0.25]  # NaN is stored as null, as wandb does
    pd.testing.assert_frame_equal(got.get_dataframe(), df)


def test_a_table_file_that_is_not_a_table_is_an_error_naming_it(tmp_path):
    for text, message in [
        ("{", "not a table file"),
        ('{"columns": ["a"]}', "columns and data"),
        ('{"columns": ["a"], "data": [[1, 2]]}', "row has 2 values for 1 columns"),
        ('{"columns": ["a"], "data": [[{"_type": "image-file", "path": "../x.png"}]]}', "x.png"),
    ]:
        (tmp_path / "t.table.json").write_text(text)
        with pytest.raises(ArtifactError, match=r"^table t\.table\.json: .*" + message):
            Table._read(tmp_path, "t.table.json")
    (tmp_path / "t.table.json").write_text('{"columns": ["a"], "data": [[1], ["x"]]}')
    assert Table._read(tmp_path, "t.table.json").get_column("a") == [1, "x"]  # mixed, as written
