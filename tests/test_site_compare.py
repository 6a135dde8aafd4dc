"""A collection's versions compared: newest first, metadata a row per version with
nested keys flattened and numbers rounded, charts over versions, diffs with counts."""

from __future__ import annotations

import os
import re

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import compare
from registry_tool._site.load import load
from registry_tool._site.render import environment
from tests.helpers import write


def _log(versions: list[dict[str, object]], files: dict[int, dict[str, str]] | None = None) -> None:
    """Versions of demo/model, one per metadata dict, each with its own files."""
    with wandb.init(project="demo", job_type="train", id="train000") as run:
        for i, metadata in enumerate(versions):
            art = wandb.Artifact("model", type="model", metadata=metadata)
            for path, text in (files or {}).get(i, {"w.bin": f"weights {i}"}).items():
                art.add_file(str(write(f"src{i}/{path}", text)), name=path)
            run.log_artifact(art)


def _build(root, out) -> str:
    report = site_build.build(Context.open(root), out)
    return report.markdown["artifacts/demo/model/index.md"]


def test_versions_and_metadata_list_newest_first(registry, tmp_path):
    _log([{"acc": 0.5}, {"acc": 0.6}, {"acc": 0.7}])
    page = _build(registry.root, tmp_path / "site")
    versions, metadata = page.split("## Metadata across versions")
    assert [int(n) for n in re.findall(r'href="v(\d+)\.html"', versions)] == [2, 1, 0]
    assert [
        int(n) for n in re.findall(r"<th>v(\d+)</th>", metadata.split("## Metadata over")[0])
    ] == [2, 1, 0]


def test_metadata_keys_are_flattened_columns_and_numbers_rounded(registry, tmp_path):
    _log([{"per_class": {"cat": 0.9299999999999999, "dog": 1}, "name": "<b>x</b>", "ok": True}])
    page = _build(registry.root, tmp_path / "site")
    header = re.search(r'<table class="rt-metadata rt-sortable"><thead><tr>(.*?)</tr>', page).group(
        1
    )
    assert re.findall(r"<th>(.*?)</th>", header) == [
        "Version",
        "name",
        "ok",
        "per_class.cat",
        "per_class.dog",
    ]
    assert '<td data-sort="0.9299999999999999">0.93</td>' in page
    assert "0.9299999999999999<" not in page
    assert "<td>true</td>" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_past_the_key_limit_the_comparison_says_how_many(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "METADATA_KEYS", 2)
    _log([{"a": 1, "b": 2, "c": 3}])
    page = _build(registry.root, tmp_path / "site")
    assert "the first 2 of 3 keys" in page
    assert "<th>c</th>" not in page and "<th>b</th>" in page


def test_each_numeric_key_has_a_chart_naming_the_version_of_each_point(registry, tmp_path):
    _log([{"m": {"acc": 0.5}, "label": "a"}, {"m": {"acc": 0.75}, "label": "b"}])
    page = _build(registry.root, tmp_path / "site")
    charts = page.split("## Metadata over versions")[1]
    assert charts.count('<figure class="rt-chart">') == 1  # "label" is text: no chart
    assert "<figcaption>m.acc</figcaption>" in charts
    assert "<title>v0: 0.5</title>" in charts and "<title>v1: 0.75</title>" in charts
    assert ">0.75</text>" in charts  # the axis maximum and the latest value


def test_a_single_numeric_value_draws_no_chart(registry, tmp_path):
    _log([{"acc": 0.5}, {"acc": "n/a"}])
    assert "## Metadata over versions" not in _build(registry.root, tmp_path / "site")


def test_the_versions_table_shows_counts_of_changes_since_the_version_before(registry, tmp_path):
    _log(
        [{}, {}],
        files={
            0: {"a.txt": "a", "b.txt": "b", "c.txt": "c"},
            1: {"a.txt": "A", "b.txt": "b", "d.txt": "dd"},
        },
    )
    page = _build(registry.root, tmp_path / "site")
    rows = page.split("<tbody>")[1].split("</tr>")
    assert ">+1 −1 ~1 · +1 B</td>" in rows[0]  # a.txt the same size, c (1 B) gone, d (2 B) new
    assert ">first</td>" in rows[1]


def test_the_sort_and_filter_script_is_published_and_linked(registry, tmp_path):
    _log([{"acc": 0.5}])
    page = _build(registry.root, tmp_path / "site")
    assert '<script src="../../../assets/registry-tool-tables.js" defer></script>' in page
    assert (tmp_path / "site/assets/registry-tool-tables.js").is_file()


def test_a_collection_of_a_hundred_versions_with_many_keys_stays_under_100_kb(registry, tmp_path):
    keys = {f"metric_{k:02d}": {"value": 0.1 + k / 7, "note": "x" * 400} for k in range(30)}
    _log([{**keys, "step": i / 3} for i in range(105)])
    site_build.build(Context.open(registry.root), tmp_path / "site")
    html = (tmp_path / "site/artifacts/demo/model/index.html").read_bytes()
    assert len(html) < 100_000, len(html)


def _records(n_before: int, n_after: int) -> list:
    """Two versions: the second drops 20 files, adds 50, changes 30 of the rest."""
    _log(
        [{"k": {"x": 1}}, {"k": {"x": 2}, "new": "<script>"}],
        files={
            0: {f"f{i:04d}.txt": "old" for i in range(n_before)},
            1: {f"f{i:04d}.txt": ("new" if i < 50 else "old") for i in range(20, n_after)},
        },
    )
    return load(_ctx()).collections["demo/model"].versions


def _ctx() -> Context:
    return Context.open(os.environ["REGISTRY_TOOL_DIR"])


def test_a_diff_counts_everything_and_lists_every_path(registry, tmp_path):
    old, new = _records(100, 150)
    d = compare.diff(old, new)
    assert d["counts"] == {"added": 50, "removed": 20, "changed": 30}
    assert len(d["added"]) == 50 and d["unlisted"] == 0
    assert d["size_delta"] == "+90 B"  # 50 files of 3 bytes in, 20 out
    assert d["metadata"] == [("k.x", "1", "2"), ("new", "–", "<script>")]
    env = environment(_ctx(), None)
    html = env.get_template("diff.md.j2").render(diff=d, previous_href="v0.html")
    assert "+50</span>" in html and "−20</span>" in html and "~30</span>" in html
    assert "<summary>Added (50)</summary>" in html
    assert html.count("<li><code>") == 100
    assert "more characters" not in html and "&lt;script&gt;" in html and "<script>" not in html


def test_past_the_listing_limit_a_diff_says_how_many_are_not_listed(registry, monkeypatch):
    monkeypatch.setattr(compare, "DIFF_LISTED", 10)
    old, new = _records(100, 150)
    d = compare.diff(old, new)
    assert d["counts"]["added"] == 50 and len(d["added"]) == 10
    assert d["removed"] == [] and d["unlisted"] == 90
    html = (
        environment(_ctx(), None).get_template("diff.md.j2").render(diff=d, previous_href="v0.html")
    )
    assert "90 more paths are not listed here" in html


def test_the_first_version_has_nothing_to_compare(registry):
    _log([{}])
    (only,) = load(_ctx()).collections["demo/model"].versions
    html = (
        environment(_ctx(), None).get_template("diff.md.j2").render(diff=compare.diff(None, only))
    )
    assert "The first version." in html and "rt-diff-counts" not in html


def test_a_version_knows_which_version_held_its_stage_before(showcase):
    ctx = Context.open(showcase.root)
    api = wandb.Api()
    api.artifact("demo/classifier:v1").link("model-registry/prod")
    api.promote("model-registry/prod/classifier:v1", "production", mode="direct")
    found = compare.stage_predecessors(load(ctx))
    assert found[("demo", "classifier", 1)] == [("prod/production", 2)]
    assert ("demo", "classifier", 2) not in found  # it was the first to hold its stages


@pytest.mark.parametrize(
    "value, shown", [(1e-9, "1e-09"), (3, "3"), (None, "null"), ([1, 2], "[1, 2]")]
)
def test_values_are_shown_as_json_or_rounded_numbers(value, shown):
    assert compare.shown_value(value) == shown
