"""Lineage you can read: the DOT and SVG facts of the graphs and the full lineage page."""

from __future__ import annotations

import html
import re

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import lineage, lineage_pages
from registry_tool._site.load import load
from registry_tool.errors import LineageRenderError
from tests.helpers import write


def _chain(projects: list[str]) -> None:
    """step0:v0 -> run1 -> step1:v0 -> run2 -> ... : one artifact per project given."""
    for i, project in enumerate(projects):
        write("f.txt", f"step {i}")
        with wandb.init(project=project, job_type="step", id=f"run{i:03d}") as run:
            if i:
                run.use_artifact(f"{projects[i - 1]}/step{i - 1}:latest")
            art = wandb.Artifact(f"step{i}", type="dataset")
            art.add_file("f.txt")
            run.log_artifact(art)


def _svg(page: str) -> str:
    found = re.search(r'<svg role="img".*?</svg>', page, flags=re.S)
    assert found, "no lineage picture"
    return found.group(0)


def test_stages_are_short_marks_and_full_names_are_in_a_real_tooltip(showcase):
    data = load(Context.open(showcase.root), with_history=False)
    graph = lineage.Lineage(data, lambda key: f"/{key}").around(
        lineage.version_key("demo", "classifier", 2)
    )
    attrs = graph.nodes[lineage.version_key("demo", "classifier", 2)]
    assert attrs["label"] == "classifier:v2\nmodel\nprod · stag"
    assert attrs["tooltip"].endswith("\nstages: prod/production, prod/staging")
    svg = lineage.decorate(lineage.render_svgs({"g": graph.to_dot()})["g"])
    tips = re.findall(r'xlink:title="([^"]*)"', svg) + re.findall(r"<title>(.*?)</title>", svg)
    assert tips and not any("\\n" in tip for tip in tips)  # no literal backslash-n
    assert "demo/classifier:v2&#10;type: model&#10;stages: prod/production" in svg
    assert not re.search(r"<title>(n\d+|.*&gt;.*)</title>", svg)  # no DOT ids as tooltips


@pytest.mark.parametrize(
    ("stages", "marks"),
    [
        ([], ""),
        (["r/qa"], "qa"),
        (["r/stage"], "stage"),  # five letters stay whole
        (["r/stages"], "stag"),  # six are cut to four
        (["a/production", "b/production"], "prod"),  # one mark per stage name
        (["r/a", "r/b", "r/c"], "a · b · c"),
        (["r/a", "r/b", "r/c", "r/d", "r/e"], "a · b · c · +2"),
    ],
)
def test_stage_marks_at_their_boundaries(stages, marks):
    assert lineage.stage_marks(stages) == marks


def test_the_svg_is_a_named_image_at_its_natural_size(showcase, tmp_path):
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    page = (tmp_path / "site/artifacts/demo/two-blobs/v0.html").read_text()
    svg = _svg(page)
    opening = svg[: svg.index(">")]
    assert 'role="img"' in opening
    label = re.search(r'aria-label="([^"]*)"', opening)
    assert label and html.unescape(label.group(1)) == (
        "Lineage of demo/two-blobs:v0: 4 artifact versions and 4 runs; each links to its page"
    )
    assert "max-width:none" in opening  # not shrunk to the column
    width = re.search(r'width="([\d.]+)pt"', opening)
    view = re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+)', opening)
    assert width and view and abs(float(width.group(1)) - float(view.group(1))) < 1
    assert re.search(r'font-size="11\.00"', svg)  # 11 pt: 14.7 CSS px at natural size
    assert (
        'stroke="#495057"' in svg
        and "#868e96" not in svg.split("</defs>")[-1].split('class="edge"')[1][:400]
    )
    # the zoom buttons and the scroll box around it, and the link to the full lineage
    assert page.count('class="rt-zoom"') == 3
    assert 'class="rt-lineage-box"' in page and 'href="v0-lineage.html"' in page


def test_the_full_lineage_page_has_every_hop_and_links_back(registry, tmp_path):
    _chain(["demo"] * 5)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    folder = tmp_path / "site/artifacts/demo/step0"
    version = (folder / "v0.html").read_text()
    near = _svg(version)
    assert "step1:v0" in near and "step2:v0" not in near  # two hops on the version page
    assert "the lineage goes on beyond them" in version
    full = (folder / "v0-lineage.html").read_text()
    svg = _svg(full)
    for i in range(5):
        assert f"step{i}:v0" in svg and f"run{i:03d}" in svg
    assert 'class="cluster"' not in svg  # one small project: no groups
    assert "5 artifact versions and 5 runs" in full
    assert 'href="v0.html"' in full and "goes on beyond" not in full
    far = re.search(r'xlink:href="([^"]*step4/v0\.html)"', svg)
    assert far and (folder / far.group(1)).resolve().is_file()


def test_a_lineage_across_projects_is_grouped_by_project(registry, tmp_path):
    _chain(["alpha", "alpha", "beta"])
    site_build.build(Context.open(registry.root), tmp_path / "site")
    full = (tmp_path / "site/artifacts/alpha/step0/v0-lineage.html").read_text()
    svg = _svg(full)
    assert svg.count('class="cluster"') == 2
    assert 'xlink:title="project alpha"' in svg and 'xlink:title="project beta"' in svg
    assert "in 2 projects" in full and "grouped by project" in full
    assert "cluster_" not in svg  # no DOT names as tooltips


def test_the_full_lineage_stops_at_its_limit_and_says_so(registry, tmp_path, monkeypatch):
    _chain(["demo"] * 3)  # 6 nodes
    out = tmp_path / "site"
    monkeypatch.setattr(lineage_pages, "FULL_NODES", 6)
    site_build.build(Context.open(registry.root), out)
    full = (out / "artifacts/demo/step0/v0-lineage.html").read_text()
    assert "goes on beyond" not in full and "3 artifact versions and 3 runs" in full
    monkeypatch.setattr(lineage_pages, "FULL_NODES", 5)
    site_build.build(Context.open(registry.root), out)
    full = (out / "artifacts/demo/step0/v0-lineage.html").read_text()
    assert "goes on beyond the 5 nodes shown here" in full
    assert len(re.findall(r'class="node"', _svg(full))) == 5


def test_each_distinct_graph_is_drawn_once(tmp_path):
    one = lineage.Graph(nodes={"a:p/a:v0": {"label": "a"}}).to_dot()
    two = lineage.Graph(nodes={"a:p/b:v0": {"label": "b"}}).to_dot()
    cache = tmp_path / "svg"
    svgs = lineage.render_cached({"x.md": one, "y.md": one, "z.md": two}, cache)
    assert set(svgs) == {"x.md", "y.md", "z.md"} and svgs["x.md"] == svgs["y.md"]
    assert len(list(cache.iterdir())) == 2
    again = lineage.render_cached({"w.md": one, "v.md": one}, cache)  # from the cache
    assert again["w.md"] == again["v.md"] == svgs["x.md"]
    assert 'role="img"' in again["w.md"]


def test_a_hostile_focus_name_stays_text_in_the_aria_label():
    graph = lineage.Graph(
        nodes={
            "a:p/x:v0": {
                "label": "x",
                "tooltip": 'say "hi" <b> & x',
                "shape": "box",
                "id": lineage.FOCUS_ID,
            }
        }
    )
    svg = lineage.decorate(lineage.render_svgs({"g": graph.to_dot()})["g"])
    label = re.search(r'aria-label="([^"]*)"', svg)
    assert label and html.unescape(label.group(1)).startswith(
        'Lineage of say "hi" <b> & x: 1 artifact'
    )
    assert svg.count("<svg") == 1 and "<b>" not in svg


def test_a_full_lineage_page_at_its_limit_stays_under_100_kb(registry, tmp_path):
    _chain(["alpha"] * 21 + ["beta-experiments"] * 21)  # 84 nodes in two projects
    site_build.build(Context.open(registry.root), tmp_path / "site")
    page = tmp_path / "site/artifacts/alpha/step20/v0-lineage.html"
    text = page.read_text()
    assert len(_svg(text).split('class="node"')) - 1 == lineage_pages.FULL_NODES
    assert "goes on beyond the 80 nodes" in text and 'class="cluster"' in text
    assert page.stat().st_size < 100_000


def test_a_rebuild_redraws_every_full_lineage_page_of_a_graph_that_grew_and_no_other(
    registry, tmp_path
):
    # The shape of a whole graph is taken once for all its versions: a new run at the
    # end of one chain must still reach the page of the chain's first version.
    _chain(["demo"] * 3)
    write("g.txt", "other")
    with wandb.init(project="other", job_type="solo", id="solo000") as run:
        art = wandb.Artifact("alone", type="dataset")
        art.add_file("g.txt")
        run.log_artifact(art)
    out = tmp_path / "site"
    site_build.build(Context.open(registry.root), out)
    first = out / "artifacts/demo/step0/v0-lineage.html"
    alone = out / "artifacts/other/alone/v0-lineage.html"
    assert "run003" not in first.read_text()
    alone_before = alone.stat().st_mtime_ns
    with wandb.init(project="demo", job_type="eval", id="run003") as run:
        run.use_artifact("demo/step2:latest")
    site_build.build(Context.open(registry.root), out)
    for i in range(3):
        page = (out / f"artifacts/demo/step{i}/v0-lineage.html").read_text()
        assert "run003" in _svg(page) and "3 artifact versions and 4 runs" in page
    assert alone.stat().st_mtime_ns == alone_before
    fresh = tmp_path / "fresh"
    site_build.build(Context.open(registry.root), fresh)
    assert first.read_bytes() == (fresh / "artifacts/demo/step0/v0-lineage.html").read_bytes()


@pytest.mark.parametrize("count", [5, 6, 7])  # batches of 2 on 3 workers: 3 batches at 6
def test_graphs_drawn_by_dots_at_once_each_come_back_under_their_own_name(monkeypatch, count):
    monkeypatch.setattr(lineage, "DOT_BATCH", 2)
    monkeypatch.setattr(lineage, "DOT_WORKERS", 3)
    graphs = {
        f"g{i}": lineage.Graph(nodes={f"a:p/x:v{i}": {"label": f"node{i}"}}).to_dot()
        for i in range(count)
    }
    svgs = lineage.render_svgs(graphs)
    assert set(svgs) == set(graphs)
    for i in range(count):
        assert re.findall(r"<text[^>]*>(.*?)</text>", svgs[f"g{i}"]) == [f"node{i}"]


def test_of_two_failing_batches_drawn_at_once_the_error_names_the_first(monkeypatch):
    monkeypatch.setattr(lineage, "DOT_BATCH", 2)
    monkeypatch.setattr(lineage, "DOT_WORKERS", 4)
    good = lineage.Graph(nodes={"a": {"label": "a"}}).to_dot()
    bad = "digraph { a -> }"
    graphs = {"g0": good, "g1": good, "g2": good, "g3": bad, "g4": good, "g5": bad}
    with pytest.raises(LineageRenderError) as failed:
        lineage.render_svgs(graphs)
    assert failed.value.graph == "g3"
    assert lineage.render_svgs({}) == {}
