"""The site's search index: names split where W&B names do, version and run pages
findable, table cells apart, the offline script; the shell pages' skip links and
breadcrumbs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import shell
from tests.helpers import write


@pytest.fixture
def site(showcase, tmp_path) -> Path:
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    return tmp_path / "site"


def _index(site: Path) -> dict:
    return json.loads((site / "search/search_index.json").read_text())


def test_names_split_on_slash_colon_dot_and_dash(site):
    separator = _index(site)["config"]["separator"]
    assert re.split(separator, "demo/classifier:v2.final-b") == [
        "demo", "classifier", "v2", "final", "b",
    ]
    assert re.split(separator, "my_model") == ["my_model"]  # not a separator


def test_a_registry_mkdocs_yml_without_separator_gets_the_default(showcase, tmp_path):
    write(showcase.root / "mkdocs.yml", "site_name: Mine\nplugins:\n  - search\n")
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    assert _index(tmp_path / "site")["config"]["separator"] == site_build.SEPARATOR


def test_version_and_run_pages_are_indexed_by_name_aliases_and_metadata_keys(site):
    docs = {d["location"]: d for d in _index(site)["docs"]}
    v2 = docs["artifacts/demo/classifier/v2.html"]
    assert v2["title"] == "demo/classifier:v2"
    assert "latest" in v2["text"] and "accuracy" in v2["text"] and "prod/staging" in v2["text"]
    run = docs["runs/demo/train001.html"]
    assert run["title"] == "Run train001" and "train-train001" in run["text"]
    hostile = docs["artifacts/demo/two-blobs/v0.html"]["text"]
    assert "&lt;b&gt;key&lt;/b&gt;" in hostile and "<b>" not in hostile  # keys escaped
    assert len(json.dumps(v2)) < 400  # a short entry, not the page


def test_snippets_keep_table_cells_apart(site):
    runs = next(d for d in _index(site)["docs"] if d["location"] == "artifacts/demo/index.html#runs")
    assert "train002 train-train002 train" in runs["text"]
    assert "train002train-train002" not in runs["text"]


def test_the_offline_index_is_a_script_of_plain_text(site):
    script = (site / shell.SEARCH_SCRIPT).read_text()
    prefix = f"window.{shell.SEARCH_GLOBAL} = "
    assert script.startswith(prefix)
    index = json.loads(script.removeprefix(prefix).rstrip().removesuffix(";"))
    assert {d[0] for d in index["docs"]} == {d["location"] for d in _index(site)["docs"]}
    v0 = next(d for d in index["docs"] if d[0] == "artifacts/demo/two-blobs/v0.html")
    assert "<b>key</b>" in v0[2]  # decoded: the box sets it as text, never as HTML
    assert re.split(index["separator"], "a/b:c") == ["a", "b", "c"]
    for page in ("index.html", "artifacts/demo/classifier/v2.html", "runs/demo/train001.html"):
        assert "assets/registry-tool-search.js" in (site / page).read_text(), page


def test_every_skip_link_lands_on_an_element_of_its_page(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text()
        found = re.search(r'<a href="#([^"]*)" class="md-skip">', text)
        if found is None:
            continue
        assert f'id="{found.group(1)}"' in text, page
        assert found.group(1) != "rtshelltitle", page


def test_shell_pages_have_breadcrumbs_that_resolve(site):
    expected = {
        "artifacts/demo/classifier/v2.html": ["demo", "classifier", "v2"],
        "artifacts/demo/classifier/index.html": ["demo", "classifier"],
        "runs/demo/train001.html": ["demo", "runs", "train001"],
        "registries/prod/classifier.html": ["model-registry/prod", "classifier"],
    }
    for rel, labels in expected.items():
        text = (site / rel).read_text()
        nav = re.search(r'<nav class="rt-crumbs".*?</nav>', text, re.S)
        assert nav is not None, rel
        assert re.findall(r"<li[^>]*>(?:<a [^>]*>)?([^<]*)", nav.group(0)) == labels, rel
        for href in re.findall(r'href="([^"]*)"', nav.group(0)):
            assert (site / rel).parent.joinpath(href.split("#")[0]).resolve().is_file(), href


def test_crumbs_name_each_kind_of_shell_page():
    assert site_build.crumbs("artifacts/p/n/v3-files-1.md") == [
        ("p", "artifacts/p/index.md"),
        ("n", "artifacts/p/n/index.md"),
        ("v3", "artifacts/p/n/v3.md"),
        ("files", None),
    ]
    assert site_build.crumbs("artifacts/p/n/v3-table-t.md")[-1] == ("table", None)
    assert site_build.crumbs("index.md") == []
    html = shell.breadcrumbs("a/b/c.md", [("<x>", "a/d.md"), ("here", None)])
    assert '<a href="../d.html">&lt;x&gt;</a>' in html and "<x>" not in html


def test_a_rebuild_keeps_the_version_entries_and_the_offline_index(showcase, tmp_path):
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    site_build.build(Context.open(showcase.root), out)  # every version page reused
    locations = {d["location"] for d in _index(out)["docs"]}
    assert "artifacts/demo/classifier/v1.html" in locations
    assert "artifacts/demo/classifier/v1.html" in (out / shell.SEARCH_SCRIPT).read_text()
