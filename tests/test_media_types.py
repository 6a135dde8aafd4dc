"""W&B's other media (Histogram, Html, Audio, Video, Object3D, Molecule, Plotly, Graph,
Classes, JoinedTable, box3d) and the JSON protocol every media value shares.

Each class is tried at its boundaries; each storable one travels through a real
artifact (its files logged to a registry, downloaded by a fresh ``Api``, read back).
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import registry_tool as wandb
from registry_tool._sdk import unsupported
from registry_tool._sdk.media import (
    Audio,
    Classes,
    Graph,
    Histogram,
    Html,
    Image,
    JoinedTable,
    Media,
    Molecule,
    Object3D,
    Plotly,
    Table,
    Video,
    box3d,
    read_media,
    write_media,
)
from registry_tool.errors import ArtifactError, UnsupportedError, UsageError

# -- Histogram ------------------------------------------------------------------------


def test_histogram_bins_and_values_are_numpys():
    data = [0.1, 0.2, 0.2, 0.9, 3.0]
    for bins in (1, 3, 64, 512):
        h = Histogram(data, num_bins=bins)
        counts, edges = np.histogram(data, bins=bins)
        assert h.histogram == counts.tolist() and h.bins == edges.tolist()
        assert len(h.bins) == bins + 1
    assert len(Histogram(data).histogram) == 64  # wandb's default
    given = Histogram(np_histogram=(np.array([1, 2]), np.array([0.0, 0.5, 1.0])))
    assert given.to_json(".") == {"_type": "histogram", "values": [1, 2], "bins": [0.0, 0.5, 1.0]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequence": [1], "num_bins": 0}, "num_bins must be a positive integer"),
        ({"sequence": [1], "num_bins": True}, "num_bins must be a positive integer"),
        ({"sequence": [1], "num_bins": 513}, "at most 512"),
        ({}, "needs a sequence or np_histogram"),
        ({"np_histogram": ([1, 2], [0, 1])}, "one more bin edge than values"),
        ({"np_histogram": ([1], [0, 1], [2])}, "(values, bin_edges)"),
        ({"np_histogram": ([0] * 513, list(range(514)))}, "513 bins, at most 512"),
        ({"sequence": [1.0, float("nan")]}, "Histogram:"),
        ({"sequence": ["a", "b"]}, "Histogram:"),
    ],
)
def test_histogram_boundaries(kwargs, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Histogram(**kwargs)


def test_a_logged_histogram_is_named_in_the_public_runs_history(registry):
    with wandb.init(project="p") as run:
        run.log({"h": Histogram([1, 2, 2, 3], num_bins=3)})
    rows = wandb.Api().run(f"p/{run.id}").history(pandas=False)
    values, edges = np.histogram([1, 2, 2, 3], bins=3)
    assert rows[0]["h"] == {
        "_type": "histogram",
        "values": [1, 2, 1],
        "bins": edges.tolist(),
    }
    assert values.tolist() == [1, 2, 1]


# -- Html -----------------------------------------------------------------------------


def test_html_from_text_file_and_file_object_with_and_without_injection(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><body>x</body></html>")
    assert Html(str(page), inject=False).html == "<html><body>x</body></html>"
    assert Html(page).html == '<html><head><base target="_blank"></head><body>x</body></html>'
    assert Html("<head><title>t</title></head>").html.startswith('<head><base target="_blank">')
    assert Html("<b>x</b>").html == '<base target="_blank"><b>x</b>'
    assert Html(io.StringIO("<i>y</i>"), inject=False).html == "<i>y</i>"
    # A name that is not an existing .html file is the page's text, as in wandb.
    assert Html("missing.html", inject=False).html == "missing.html"
    assert Html(str(page), inject=False, data_is_not_path=True).html == str(page)
    with pytest.raises(UsageError, match="Html takes text"):
        Html(42)
    with pytest.raises(UsageError, match="gave bytes"):
        Html(io.BytesIO(b"<b>"))


def test_html_is_stored_as_a_html_file_untouched(tmp_path):
    script = "<script>alert('x')</script>"
    cell, files = Html(script, inject=False)._store(tmp_path)
    assert cell["_type"] == "html-file" and files == [cell["path"]]
    assert cell["path"].startswith("media/html/") and cell["path"].endswith(".html")
    assert (tmp_path / cell["path"]).read_text() == script


# -- Audio ----------------------------------------------------------------------------


def test_audio_from_an_array_is_a_wav_file_the_wave_module_reads(tmp_path):
    mono = np.sin(np.linspace(0, 6.28, 800))
    audio = Audio(mono, sample_rate=8000, caption="tone")
    cell, _ = audio._store(tmp_path)
    assert cell["sample_rate"] == 8000 and cell["duration"] == pytest.approx(0.1)
    assert cell["caption"] == "tone" and cell["path"].endswith(".wav")
    with wave.open(str(tmp_path / cell["path"])) as f:
        assert (f.getnchannels(), f.getframerate(), f.getnframes()) == (1, 8000, 800)
        frames = np.frombuffer(f.readframes(800), dtype="<i2")
    assert frames.max() == 32767 or frames.max() == pytest.approx(32767, abs=2)
    stereo = Audio(np.zeros((10, 2), dtype=np.int16), sample_rate=10)
    path = tmp_path / stereo._store(tmp_path)[0]["path"]
    with wave.open(str(path)) as f:
        assert f.getnchannels() == 2
    from_file = Audio(path)
    assert from_file.sample_rates() == 10 and from_file.durations() == 1.0


@pytest.mark.parametrize(
    ("data", "rate", "message"),
    [
        (np.zeros(4), None, "needs sample_rate"),
        (np.zeros(4), 0, "needs sample_rate"),
        (np.zeros((2, 2, 2)), 8, "1-D or"),
        (np.zeros(0), 8, "non-empty"),
        (np.array(["a"]), 8, "of numbers"),
        (np.array([40000]), 8, "fit 16 bits"),
        (np.array([0.0, np.nan]), 8, "NaN"),
    ],
)
def test_audio_array_boundaries(data, rate, message):
    with pytest.raises(UsageError, match=message):
        Audio(data, sample_rate=rate)


def test_audio_files_must_exist_be_sound_and_be_local(tmp_path):
    with pytest.raises(UsageError, match="is not a file"):
        Audio(tmp_path / "no.wav")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UsageError, match="is not one of"):
        Audio(tmp_path / "a.txt")
    (tmp_path / "bad.wav").write_bytes(b"RIFF")
    with pytest.raises(UsageError, match="not a readable WAV"):
        Audio(tmp_path / "bad.wav")
    with pytest.raises(UsageError, match="remote URL"):
        Audio("s3://bucket/a.wav")
    (tmp_path / "a.mp3").write_bytes(b"ID3")
    assert Audio(tmp_path / "a.mp3").durations() is None


# -- Video ----------------------------------------------------------------------------


def test_video_takes_a_file_and_refuses_an_array_naming_the_missing_encoder(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    cell, files = Video(clip, caption="c", fps=4)._store(tmp_path / "out")
    assert cell["_type"] == "video-file" and cell["path"].startswith("media/videos/")
    assert cell["path"].endswith(".mp4") and files == [cell["path"]]
    with pytest.raises(UnsupportedError, match="moviepy and ffmpeg"):
        Video(np.zeros((2, 3, 8, 8), dtype=np.uint8))
    with pytest.raises(UsageError, match="is not a file"):
        Video(tmp_path / "none.mp4")
    (tmp_path / "clip.avi").write_bytes(b"x")
    with pytest.raises(UsageError, match="is not one of"):
        Video(tmp_path / "clip.avi")
    with pytest.raises(UsageError, match="format must be one of"):
        Video(clip, format="avi")
    assert Video(io.BytesIO(b"GIF89a"), format="gif")._store(tmp_path)[0]["path"].endswith(".gif")


# -- 3-D: Object3D, box3d, Molecule ---------------------------------------------------


def test_object3d_point_clouds_files_and_scenes(tmp_path):
    for width in (3, 4, 6):
        cell, _ = Object3D(np.ones((5, width)))._store(tmp_path)
        assert cell["path"].endswith(".pts.json")
        assert json.loads((tmp_path / cell["path"]).read_text()) == [[1.0] * width] * 5
    for shape in ((5, 5), (5,), (2, 3, 3)):
        with pytest.raises(UsageError, match="N x 3, 4 or 6"):
            Object3D(np.ones(shape))
    (tmp_path / "m.obj").write_text("v 0 0 0\n")
    assert Object3D(tmp_path / "m.obj")._store(tmp_path)[0]["path"].endswith(".obj")
    (tmp_path / "m.ply").write_text("ply")
    with pytest.raises(UsageError, match="is not one of"):
        Object3D(tmp_path / "m.ply")
    with pytest.raises(UsageError, match="lidar/beta"):
        Object3D({"type": "other", "points": []})
    with pytest.raises(UsageError, match="needs file_type"):
        Object3D(io.StringIO("v 0 0 0"))
    box = box3d(center=(0, 0, 0), size=(1, 1, 1), orientation=(1, 0, 0, 0), color=(0, 1, 0))
    scene = Object3D.from_point_cloud(points=np.zeros((2, 3)), boxes=[box])
    doc = json.loads((tmp_path / scene._store(tmp_path)[0]["path"]).read_text())
    assert doc["type"] == "lidar/beta" and doc["boxes"][0]["color"] == [0, 1, 0]


def test_box3d_corners_are_rotated_as_wandb_rotates_them():
    plain = box3d(center=(1, 2, 3), size=(2, 4, 6), orientation=(1, 0, 0, 0), color=(1, 0, 0))
    assert plain["corners"][0] == (0.0, 0.0, 0.0) and plain["corners"][7] == (2.0, 4.0, 6.0)
    assert plain["label"] is None and plain["score"] is None
    # A quarter turn about z (quaternion cos 45°, 0, 0, sin 45°), not normalised.
    turned = box3d(center=(0, 0, 0), size=(2, 4, 2), orientation=(2, 0, 0, 2), color=(0, 0, 1))
    xs = sorted({round(c[0], 9) for c in turned["corners"]})
    assert xs == [-2.0, 2.0]  # the long side now lies along x
    for bad in ({"orientation": (0, 0, 0, 0)}, {"center": (0, 0)}, {"color": (2, 0, 0)}):
        args: dict[str, Any] = {
            "center": (0, 0, 0),
            "size": (1, 1, 1),
            "orientation": (1, 0, 0, 0),
            "color": (0, 0, 0),
        }
        with pytest.raises(UsageError, match="box3d"):
            box3d(**{**args, **bad})


def test_molecule_files_and_file_objects(tmp_path):
    (tmp_path / "m.pdb").write_text("ATOM\n")
    assert Molecule(tmp_path / "m.pdb")._store(tmp_path)[0]["_type"] == "molecule-file"
    (tmp_path / "m.xyz").write_text("1\n")
    with pytest.raises(UsageError, match="is not one of"):
        Molecule(tmp_path / "m.xyz")
    with pytest.raises(UsageError, match="needs file_type"):
        Molecule(io.StringIO("ATOM"))
    assert (
        Molecule(io.StringIO("ATOM"), file_type="sdf")._store(tmp_path)[0]["path"].endswith(".sdf")
    )
    with pytest.raises(UsageError, match="path or a file object"):
        Molecule(3)


# -- Plotly, Graph, Classes, JoinedTable ----------------------------------------------


def test_plotly_graph_classes_and_joined_table_boundaries():
    assert json.loads(Plotly({"data": [{"x": np.array([1, 2])}]})._data()) == {
        "data": [{"x": [1, 2]}]
    }
    with pytest.raises(UsageError, match="plotly figure"):
        Plotly({"layout": {}})
    graph = Graph()
    graph.add_node(id="a", name="in")
    graph.add_node({"id": "b", "name": "out", "class_name": "Dense"})
    graph.add_edge("a", graph.nodes[1])
    with pytest.raises(UsageError, match="already has a node"):
        graph.add_node(id="a")
    with pytest.raises(UsageError, match="no node 'c'"):
        graph.add_edge("a", "c")
    with pytest.raises(UsageError, match="needs an id"):
        graph.add_node(name="x")
    with pytest.raises(UsageError, match="item 1 needs an id and a name"):
        Classes([{"id": 1, "name": "a"}, {"id": 2}])
    with pytest.raises(UsageError, match="list of"):
        Classes("cats")
    t1, t2 = Table(columns=["id", "x"]), Table(columns=["key", "y"])
    for key in (3, ["id"], ["id", "key", "z"]):
        with pytest.raises(UsageError, match="join_key"):
            JoinedTable(t1, t2, key)
    with pytest.raises(UsageError, match="no column 'id'"):
        JoinedTable(t1, t2, "id")
    with pytest.raises(UsageError, match=r"Tables or \.table\.json paths"):
        JoinedTable(t1, "t.json", "id")


# -- round trips through an artifact --------------------------------------------------


def _storables(tmp: Path) -> dict[str, Media]:
    (tmp / "m.pdb").write_text("ATOM      1  N   ALA A   1\n")
    (tmp / "clip.webm").write_bytes(b"\x1aE\xdf\xa3")
    graph = Graph(format="torch")
    graph.add_node(id=1, name="conv")
    graph.add_node(id=2, name="fc")
    graph.add_edge(1, 2)
    left = Table(columns=["id", "pic"], data=[[1, Image(np.zeros((2, 2)))]])
    return {
        "hist": Histogram([1, 2, 3], num_bins=4),
        "page": Html("<p>hi</p>"),
        "sound": Audio(np.zeros(16), sample_rate=16, caption="quiet"),
        "clip": Video(tmp / "clip.webm", caption="v"),
        "cloud": Object3D(np.arange(12).reshape(4, 3)),
        "mol": Molecule(tmp / "m.pdb", caption="ala"),
        "fig": Plotly({"data": [{"y": [1, 2]}], "layout": {"title": "t"}}),
        "graph": graph,
        "classes": Classes([{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]),
        "joined": JoinedTable(left, Table(columns=["id", "y"], data=[[1, "a"]]), "id"),
        "image": Image(np.ones((3, 3)), caption="white"),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Graph):
        return (a.format, a.nodes, a.edges) == (b.format, b.nodes, b.edges)
    if isinstance(a, JoinedTable):
        return (a._table1, a._table2, a._join_key) == (b._table1, b._table2, b._join_key)
    if isinstance(a, Plotly):
        return a._data() == b._data() and b.figure["layout"] == {"title": "t"}
    return bool(a == b)


def test_each_media_value_round_trips_through_an_artifact(registry, tmp_path):
    values = _storables(tmp_path)
    staging = tmp_path / "staging"
    with wandb.init(project="p") as run:
        art = wandb.Artifact("media", type="dataset")
        for name, value in values.items():
            for rel in write_media(value, staging, name):
                if rel not in {e.path for e in art.manifest.entries.values()}:
                    art.add_file(staging / rel, name=rel)
        run.log_artifact(art)
    root = Path(wandb.Api().artifact("p/media:v0").download())
    assert (root / "hist.histogram.json").is_file() and (root / "page.html-file.json").is_file()
    for name, value in values.items():
        back = read_media(root, name)
        assert type(back) is type(value), name
        assert _same(value, back), name
    assert read_media(root, "nothing") is None
    (root / "broken.histogram.json").write_text("{")
    with pytest.raises(ArtifactError, match=r"broken.histogram.json: not a media file"):
        read_media(root, "broken")


def test_to_json_into_a_draft_artifact_and_from_json_out_of_the_logged_one(registry, tmp_path):
    audio = Audio(np.zeros(8), sample_rate=8)
    table = Table(columns=["pic"], data=[[Image(np.zeros((2, 2)))]])
    with wandb.init(project="p") as run:
        art = wandb.Artifact("cells", type="dataset")
        audio_cell = audio.to_json(art)
        table_doc = table.to_json(art)
        assert table.has_been_logged()
        with art.new_file("cells.json") as f:
            json.dump({"audio": audio_cell, "table": table_doc}, f)
        run.log_artifact(art)
    got = wandb.Api().artifact("p/cells:v0")
    cells = json.loads((Path(got.download()) / "cells.json").read_text())
    assert cells["audio"]["_type"] == "audio-file" and cells["table"]["_type"] == "table"
    assert Media.init_from_json(cells["audio"], got) == audio
    assert Table.from_json(cells["table"], got) == table
    with pytest.raises(UsageError, match="'nope' is not a known media type"):
        Media.init_from_json({"_type": "nope"}, got)
    with pytest.raises(UsageError, match="not a audio-file cell"):
        Audio.from_json({"_type": "audio-file"}, got)
    with pytest.raises(UsageError, match=r"empty, '\.' or '\.\.' segment"):
        Audio.from_json({"_type": "audio-file", "path": "../x.wav"}, got)


# -- the protocol on Image and Table ---------------------------------------------------


def test_binding_to_a_run_and_to_json_for_a_run(registry):
    image = Image(np.zeros((2, 2)), caption="a")
    with wandb.init(project="p") as run:
        assert not image.is_bound()
        with pytest.raises(UsageError, match="bind_to_run"):
            image.to_json(run)
        image.bind_to_run(run, "samples", 3)
        assert image.is_bound() and (image._key, image._step) == ("samples", 3)
        cell = image.to_json(run)
        assert (Path(run.dir) / cell["path"]).is_file()
        with pytest.raises(UsageError, match="takes a Run or an Artifact"):
            image.to_json(42)
        with pytest.raises(UsageError, match="needs a run"):
            Image(np.zeros((2, 2))).bind_to_run(None, "k", 0)
        table = Table(columns=["a"], data=[[1]])
        table.bind_to_run(run, key="t", step=1)
        assert table.is_bound() and table.has_been_logged()
        cell = table.to_json(run)
        assert cell["_type"] == "table-file" and (Path(run.dir) / cell["path"]).is_file()
        assert Table.from_json(cell, run.dir) == table


def test_the_shared_static_members(tmp_path):
    assert Image.path_is_reference("https://x/y.png") and Image.path_is_reference("gs://b/k")
    assert not Image.path_is_reference(Path("s3://b")) and not Table.path_is_reference(None)
    assert not Image.path_is_reference("file.png")
    assert Image.with_suffix("pic") == "pic.image-file.json"
    assert Table.with_suffix("t") == "t.table.json" == Table.with_suffix("t.table.json")
    assert Histogram.with_suffix("h", "txt") == "h.histogram.txt"
    mapping = Image.type_mapping()
    assert mapping["image-file"] is Image and mapping["table"] is Table
    assert mapping["histogram"] is Histogram and mapping["joined-table"] is JoinedTable
    assert Table.get_media_subdir() == "media/table" and Audio.get_media_subdir() == "media/audio"
    assert Image(np.zeros((2, 2))).file_is_set() and not Histogram([1]).file_is_set()
    captioned = [Image(np.zeros((2, 2)), caption="x"), Image(np.ones((2, 2)))]
    assert Image.captions(captioned) == ["x", None] and Table.captions(captioned[::-1]) is False
    assert Image.all_captions([]) is False


def test_image_seq_to_json_boxes_and_masks_as_wandb_shapes_them(tmp_path):
    boxes = {
        "b": {
            "box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "class_id": 2}],
        }
    }
    masks = {"m": {"mask_data": np.array([[0, 1], [1, 0]], dtype=np.uint8)}}
    with_all = Image(np.zeros((2, 2)), caption="a", boxes=boxes, masks=masks)
    plain = Image(np.ones((2, 2)), caption="b")
    assert Image.all_boxes([plain], tmp_path, "k", 0) is False
    assert Image.all_masks([plain], tmp_path, "k", 0) is False
    assert Image.all_boxes([with_all, plain], tmp_path, "k", 0) == [
        {"b": {"box_data": boxes["b"]["box_data"], "class_labels": {"2": "class_2"}}},
        None,
    ]
    meta = Image.seq_to_json([with_all, plain], tmp_path, "k", 0)
    assert meta["_type"] == "images/separated" and meta["count"] == 2
    assert (meta["width"], meta["height"], meta["format"]) == (2, 2, "png")
    assert meta["captions"] == ["a", "b"] and meta["all_masks"][1] is None
    mask_path = meta["all_masks"][0]["m"]["path"]
    assert mask_path.startswith("media/images/mask/") and (tmp_path / mask_path).is_file()
    assert all((tmp_path / f).is_file() for f in meta["filenames"])
    with pytest.raises(UsageError, match="non-empty list of Image"):
        Image.seq_to_json([], tmp_path, "k", 0)


def test_table_keys_index_refs_and_data_array(registry):
    table = Table(columns=["id", "name", "score"], data=[[1, "a", 0.5], [2, "b", 0.7]])
    with pytest.raises(UsageError, match="no column 'nope'"):
        table.set_pk("nope")
    with pytest.raises(UsageError, match=r"row 0 has 0\.5, not text or an integer"):
        table.set_pk("score")
    table.set_pk("id")
    dup = Table(columns=["id"], data=[[1], [1]])
    with pytest.raises(UsageError, match="row 1 repeats 1"):
        dup.set_pk("id")
    other = Table(columns=["owner"], data=[[1]])
    with pytest.raises(UsageError, match="is the primary key"):
        table.set_fk("id", other, "owner")
    with pytest.raises(UsageError, match="no column 'who'"):
        table.set_fk("name", other, "who")
    table.set_fk("name", Table(columns=["n"], data=[["a"]]), "n")
    ref = table.index_ref(1)
    assert ref == 1 and ref.table is table
    for bad in (-1, 2, True, "0"):
        with pytest.raises(UsageError, match="is not a row of 2"):
            table.index_ref(bad)
    rows = table.to_data_array()
    rows[0][0] = 99
    assert table.data[0][0] == 1
    assert not table.has_been_logged()
    with wandb.init(project="p") as run:
        art = wandb.Artifact("keyed", type="dataset")
        art.add(table, "keyed")
        assert table.has_been_logged()
        run.log_artifact(art)
    back = wandb.Api().artifact("p/keyed:v0").get("keyed")
    assert back == table and back._pk == "id"


def test_eval_table_is_refused_with_its_reason():
    stand_in = unsupported.module_stand_ins({})["EvalTable"]
    with pytest.raises(UnsupportedError, match=r"wandb\.EvalTable.*evaluation service"):
        stand_in(columns=["a"])


def test_a_png_cell_from_an_artifact_keeps_its_pixels(tmp_path):
    PILImage.new("RGB", (3, 2), (9, 9, 9)).save(tmp_path / "p.png")
    cell = Image(tmp_path / "p.png").to_json(tmp_path / "out")
    back = Image.from_json(cell, tmp_path / "out")
    assert (back.width, back.height) == (3, 2) and back.path == cell["path"]
