"""The published site: pages, lineage graphs, escaping, scale rules, rebuilds."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import lineage, shell
from registry_tool._site.load import load
from registry_tool.errors import LineageRenderError
from tests.helpers import write


def test_build_writes_every_page_and_mkdocs_strict_passes(showcase, tmp_path):
    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    out = tmp_path / "site"
    for page in (
        "index.html",
        "registries/prod.html",
        "registries/prod/classifier.html",
        "artifacts/demo/classifier/index.html",
        "artifacts/demo/classifier/v2.html",
        "artifacts/demo/two-blobs/v0.html",
    ):
        assert (out / page).is_file(), page
    assert report.dot and report.warnings == []
    home = (out / "index.html").read_text()
    assert "3 runs" in home or "4 runs" in home
    version = (out / "artifacts/demo/classifier/v2.html").read_text()
    assert "<svg" in version and "prod/production" in version
    collection = (out / "artifacts/demo/classifier/index.html").read_text()
    assert 'class="rt-chart-svg"' in collection  # accuracy over versions


def test_user_text_is_escaped_everywhere(showcase, tmp_path):
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    search_index = tmp_path / "site/search/search_index.json"
    assert "pwned" in search_index.read_text()  # the hostile text is indexed, escaped:
    for page in [*(tmp_path / "site").rglob("*.html"), search_index]:
        text = page.read_text()
        assert "<script>window.__pwned" not in text, page
        assert not re.search(r"<img[^>]*onerror", text), page
        assert 'href="javascript:' not in text, page
    data_page = (tmp_path / "site/artifacts/demo/two-blobs/v0.html").read_text()
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in data_page
    assert (
        "<strong>bold</strong>"
        in (tmp_path / "site/artifacts/demo/two-blobs/index.html").read_text()
    )
    assert "more characters)" in data_page  # a 10,000-character value is cut


def test_version_and_run_pages_are_searchable_but_stay_out_of_nav(showcase, tmp_path):
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    index = json.loads((tmp_path / "site/search/search_index.json").read_text())
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert "artifacts/demo/classifier/index.html" in locations
    assert "artifacts/demo/classifier/v2.html" in locations
    assert "runs/demo/train001.html" in locations
    home = (tmp_path / "site/index.html").read_text()
    assert "classifier/v2.html" not in home.split('class="md-content"')[0]  # not in the nav


def test_lineage_dot_is_golden(showcase):
    data = load(Context.open(showcase.root), with_history=False)
    graph = lineage.Lineage(data, lambda key: f"/{key}")
    dot = graph.around(lineage.version_key("demo", "two-blobs", 0)).to_dot()
    golden = Path(__file__).parent / "data" / "golden" / "lineage-two-blobs.dot"
    if os.environ.get("REGISTRY_TOOL_UPDATE_GOLDEN"):  # regenerate, then review the diff
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(dot)
    assert dot == golden.read_text()


HOSTILE_LABELS = {
    "quote": 'say "hi" \\" to\\',  # a quote, an escaped-looking quote, a final backslash
    "escapes": "\\N \\G \\l \\n",  # DOT's escString sequences, meant literally
    "lines": "one\ntwo\r\nthree\rfour",
    "html": "<b>{bold}</b>",  # the whole label would be an HTML-like label
    "syntax": "] ; x -> y { z } [",
}


def test_hostile_labels_stay_inert_in_the_dot_and_the_picture():
    import html

    graph = lineage.Graph(nodes={key: {"label": text} for key, text in HOSTILE_LABELS.items()})
    dot = graph.to_dot()
    # One line per node: a line break in a label is DOT's \n, never a raw line (the DOT
    # source is shown in a code block without dot), and no label is an HTML-like one.
    assert len(dot.splitlines()) == 5 + len(HOSTILE_LABELS)
    assert all(' [label="' in line for line in dot.splitlines()[4:-1])
    svg = lineage.render_svgs({"hostile": dot})["hostile"]
    assert svg.count('class="node"') == len(HOSTILE_LABELS)  # nothing injected
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
    want = [line for text in HOSTILE_LABELS.values() for line in re.split(r"\r\n|\r|\n", text)]
    assert sorted(texts) == sorted(want)


def test_a_failing_dot_is_an_error_naming_the_graph():
    from registry_tool.errors import RegistryError

    good = lineage.Graph(nodes={"a": {"label": "a"}}).to_dot()
    with pytest.raises(LineageRenderError) as failed:
        lineage.render_svgs({"runs/p/good.md": good, "runs/p/bad.md": "digraph { a -> }"})
    assert isinstance(failed.value, RegistryError)
    assert failed.value.graph == "runs/p/bad.md" and "runs/p/bad.md" in str(failed.value)


def test_every_page_kind_has_a_template_and_its_own_place():
    from registry_tool._resources import data_path
    from registry_tool._site import kinds

    assert len({k.name for k in kinds.PAGE_KINDS}) == len(kinds.PAGE_KINDS)
    for kind in kinds.PAGE_KINDS:
        assert (data_path("site_templates") / kind.template).is_file(), kind.name
    parts = ("p", "c", "3", "4")
    assert len({k.path.format(*parts) for k in kinds.PAGE_KINDS}) == len(kinds.PAGE_KINDS)


def test_without_dot_the_page_shows_the_dot_source(showcase, tmp_path, monkeypatch):
    monkeypatch.setattr(lineage.shutil, "which", lambda name: None)
    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    assert report.warnings and "dot" in report.warnings[0]
    version = (tmp_path / "site/artifacts/demo/classifier/v2.html").read_text()
    assert "digraph lineage" in version and "<svg" not in version.split("Lineage")[1][:2000]


def test_a_rebuild_after_one_new_version_rewrites_few_pages(showcase, tmp_path):
    ctx = Context.open(showcase.root)
    first = site_build.build(ctx, tmp_path / "site")
    again = site_build.build(Context.open(showcase.root), tmp_path / "site")
    assert again.written == 0
    write("model.bin", "weights 3")
    with wandb.init(project="demo", job_type="train") as run:
        model = wandb.Artifact("classifier", type="model", metadata={"accuracy": 0.97})
        model.add_file("model.bin")
        run.log_artifact(model)
    third = site_build.build(Context.open(showcase.root), tmp_path / "site")
    assert 0 < third.written < first.pages / 2 + 4
    # Versions and runs nothing new touches are not even rendered again.
    assert third.pages < first.pages
    index = json.loads((tmp_path / "site/search/search_index.json").read_text())
    assert any("two-blobs" in doc["location"] for doc in index["docs"])  # search still whole
    assert (tmp_path / "site/artifacts/demo/classifier/v3.html").is_file()
    # The incremental build made exactly what a full build into a fresh folder makes.
    fresh = tmp_path / "fresh"
    site_build.build(Context.open(showcase.root), fresh)
    assert _tree(tmp_path / "site") == _tree(fresh)


def test_pages_converted_by_forked_workers_are_what_one_process_makes(
    showcase, tmp_path, monkeypatch
):
    alone = site_build.build(Context.open(showcase.root), tmp_path / "alone")
    assert alone.written
    pids = tmp_path / "pids"
    convert = shell._Job.convert

    def noted(job, todo):
        with pids.open("a") as f:
            f.write(f"{os.getpid()} {len(todo)}\n")
        return convert(job, todo)

    monkeypatch.setattr(shell._Job, "convert", noted)
    monkeypatch.setattr(shell, "PARALLEL_FROM", 4)  # two workers from 4 pages on
    monkeypatch.setattr(shell, "WORKERS", 3)
    site_build.build(Context.open(showcase.root), tmp_path / "shared")
    seen = [line.split() for line in pids.read_text().splitlines()]
    assert len(seen) == 3 and str(os.getpid()) not in {pid for pid, _ in seen}
    assert len({pid for pid, _ in seen}) == 3 and all(int(n) > 0 for _, n in seen)
    assert _tree(tmp_path / "shared") == _tree(tmp_path / "alone")
    # Below the threshold, the build's own process converts the pages.
    pids.unlink()
    monkeypatch.setattr(shell, "PARALLEL_FROM", 10_000)
    site_build.build(Context.open(showcase.root), tmp_path / "third")
    assert [pid for pid, _ in (line.split() for line in pids.read_text().splitlines())] == [
        str(os.getpid())
    ]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def test_pages_out_of_mkdocs_wear_the_theme_and_no_shell_is_left(showcase, tmp_path):
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    out = tmp_path / "site"
    home = (out / "index.html").read_text()
    version = (out / "artifacts/demo/classifier/v2.html").read_text()
    run = next((out / "runs/demo").glob("*.html")).read_text()
    for page in (version, run):
        # The header, the palette toggle, the search box and the theme's own scripts.
        for mark in ('class="md-header', "data-md-color-scheme", 'class="md-search', "bundle"):
            assert mark in page, mark
        assert page.count("<h1") == 1
    assert "<title>demo/classifier:v2 - " in version
    assert 'href="../../../assets/stylesheets/' in version  # three folders down
    assert 'href="../../assets/stylesheets/' in run
    assert 'href="assets/stylesheets/' in home
    assert not (out / site_build.shell.SHELL_DIR).exists()
    assert site_build.shell.SHELL_DIR not in (out / "sitemap.xml").read_text()
    assert site_build.shell.TITLE not in version and site_build.shell.CONTENT not in version


def test_past_a_limit_the_nav_lists_one_page_of_projects(showcase, tmp_path, monkeypatch):
    site_build.build(Context.open(showcase.root), tmp_path / "a")
    nav = (tmp_path / "a/index.html").read_text().split('class="md-content"')[0]
    assert 'href="artifacts/demo/index.html"' in nav
    monkeypatch.setattr(site_build, "NAV_PROJECTS", 0)
    site_build.build(Context.open(showcase.root), tmp_path / "b")
    nav = (tmp_path / "b/index.html").read_text().split('class="md-content"')[0]
    assert 'href="artifacts/demo/index.html"' not in nav
    assert 'href="artifacts/index.html"' in nav
    projects = (tmp_path / "b/artifacts/index.html").read_text()
    assert 'href="demo/index.html"' in projects


def _normalised(text: str) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)", "<time>", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? UTC", "<time>", text)
    return re.sub(r"\b[0-9a-f]{12,64}\b", "<hex>", text)


@pytest.mark.parametrize(
    "page",
    [
        "index.md",
        "registries/prod.md",
        "registries/prod/classifier.md",
        "artifacts/index.md",
        "artifacts/demo/index.md",
        "artifacts/demo/classifier/index.md",
        "artifacts/demo/classifier/v1.md",
    ],
)
def test_generated_markdown_is_golden(showcase, tmp_path, page):
    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    text = _normalised(report.markdown[page])
    text = re.sub(
        r'<div class="rt-lineage"><svg.*?</svg>\s*</div>', "<lineage svg>", text, flags=re.S
    )
    golden = Path(__file__).parent / "data" / "golden" / "pages" / page
    if os.environ.get("REGISTRY_TOOL_UPDATE_GOLDEN"):  # regenerate, then review the diff
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_an_artifact_table_is_a_page_with_thumbnails(registry, tmp_path):
    from PIL import Image as PILImage

    table = wandb.Table(columns=["id", "image", "label"])
    for i in range(120):
        table.add_data(
            i, wandb.Image(PILImage.new("RGB", (8, 8), (i, 0, 0))) if i < 3 else None, f"<b>{i}</b>"
        )
    with wandb.init(project="demo") as run:
        art = wandb.Artifact("predictions", type="predictions")
        art.add(table, "predictions")
        run.log_artifact(art)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    pages = list((tmp_path / "site/artifacts/demo/predictions").glob("v0-table-*.html"))
    assert len(pages) == 1
    html = pages[0].read_text()
    assert "the first 100 of 120 rows" in html
    assert html.count("<tr>") == 101  # header + 100 rows
    assert "&lt;b&gt;0&lt;/b&gt;" in html
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 3
    for src in sources:
        assert (pages[0].parent / src).resolve().is_file()


def test_the_fast_converter_makes_what_markdown_makes(showcase, tmp_path):
    import markdown

    from registry_tool._site import shell

    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    extensions = ["tables", "attr_list", "md_in_html"]
    fast = shell.Converter({"markdown_extensions": extensions})
    plain = markdown.Markdown(extensions=[*extensions, "toc"])
    for page, text in sorted(report.markdown.items()):
        _, got = fast.convert(text)
        want = plain.reset().convert(shell._FRONT_MATTER.sub("", text, count=1))
        # Equal but for blank lines between block elements, which HTML ignores.
        assert re.sub(r"\n+", "\n", got) == re.sub(r"\n+", "\n", want), page
    # A user's Markdown inside a kept block would not be converted: none is kept when
    # it asks for that, and ordinary Markdown paragraphs are never kept.
    assert fast.convert("<div markdown>\n*x*\n</div>\n")[1] == plain.reset().convert(
        "<div markdown>\n*x*\n</div>\n"
    )
    assert "<em>x</em>" in fast.convert("*x* <span>y</span>\n")[1]


def test_href_is_posix_relpath():
    import posixpath

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from registry_tool._site import pages

    part = st.sampled_from(["a", "b", "artifacts", "runs", "v1", "index", "x-y"])
    page = st.lists(part, min_size=1, max_size=5).map(lambda xs: "/".join(xs) + ".md")

    @settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # busy machines
    @given(page, page)
    def check(here: str, there: str) -> None:
        want = posixpath.relpath(
            there.removesuffix(".md") + ".html", posixpath.dirname(here) or "."
        )
        assert pages.href(here, there) == want

    check()


def test_long_collections_and_histories_are_cut_with_a_note(showcase, tmp_path, monkeypatch):
    from registry_tool._site import pages

    monkeypatch.setattr(pages, "VERSIONS_SHOWN", 2)
    monkeypatch.setattr(pages, "METADATA_COLUMNS", 1)
    monkeypatch.setattr(pages, "HISTORY_SHOWN", 1)
    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    collection = report.markdown["artifacts/demo/classifier/index.md"]
    assert "The newest 2 of 3 versions" in collection
    assert 'href="v0.html"' not in collection.split("## Metadata")[0]
    assert collection.split("## Metadata")[1].count("<th>v") == 1
    registry = report.markdown["registries/prod/classifier.md"]
    assert "The last 1 of 3 changes" in registry
    v1 = (tmp_path / "site/artifacts/demo/classifier/v1.html").read_text()
    assert 'Changes since <a href="v0.html">v0</a>' in v1


def test_a_deleted_version_is_marked_on_its_pages(showcase, tmp_path):
    from registry_tool import _verbs as ops

    ops.delete("demo/classifier:v0", reason="bad <b>labels</b>", delete_aliases=True)
    report = site_build.build(Context.open(showcase.root), tmp_path / "site")
    assert "v0</a> (deleted)" in report.markdown["artifacts/demo/classifier/index.md"]
    page = (tmp_path / "site/artifacts/demo/classifier/v0.html").read_text()
    assert 'class="rt-deleted"' in page and "bad &lt;b&gt;labels&lt;/b&gt;" in page
