"""A version compared with any other version of its collection, in a real browser
(Debian's Chromium driven by Playwright), from ``file://`` at 1400x1000 and 390x844:
choosing a version shows what the page's own "Changes since" sections show for the
pair (counts, every path, the metadata that differs), ``#compare-vN`` opens one, text
from the registry stays text, and the dark palette reads. One site is built and one
browser launched for the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import compare
from registry_tool._site.load import load
from tests.helpers import isolated_registry, serve_folder, write

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
HOSTILE_PATH = "<img src=x onerror=window.__pwned=1>.txt"
HOSTILE_KEY = "</script><script>window.__pwned=1</script>"
FOLDER = "artifacts/demo/model"
# (metadata, files) of demo/model's versions. v0 to v3 differ by 1250 bytes, which
# Python's format shows as 1.2 KB and JavaScript's toFixed as 1.3 KB.
VERSIONS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"acc": 0.5, "k": {"x": 1}, "same": "s"}, {"a.txt": "a", "b.txt": "b"}),
    ({"acc": 0.6, "k": {"x": 1}, "same": "s"}, {"a.txt": "A", "b.txt": "b", "c.txt": "cc"}),
    (
        {"acc": 0.6, HOSTILE_KEY: "<b>bold</b> & more", "same": "s"},
        {"a.txt": "A", HOSTILE_PATH: "x"},
    ),
    (
        {"acc": 0.9299999999999999, "k": {"x": True}, "same": "s"},
        {"a.txt": "a", **{f"data/part-{i:02d}.bin": "p" * 125 for i in range(10)}, "b.txt": "b"},
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, dict[tuple[int, int], dict[str, Any]]]:
    """demo/model v0..v3 (v3 staged in ``prod``) and demo/solo of one version, built;
    and the server's diff of every pair, older first."""
    base = tmp_path_factory.mktemp("compare-any")
    with isolated_registry(base) as store:
        with wandb.init(project="demo", job_type="train", id="train000") as run:
            for i, (metadata, files) in enumerate(VERSIONS):
                art = wandb.Artifact("model", type="model", metadata=metadata)
                for n, (path, text) in enumerate(files.items()):
                    art.add_file(str(write(f"src{i}/{n}", text)), name=path)
                run.log_artifact(art)
            solo = wandb.Artifact("solo", type="dataset")
            solo.add_file(str(write("solo.txt", "solo")))
            run.log_artifact(solo)
        ctx = Context.open(store.root)
        promotion.create_registry(ctx, "prod", stages=["staging", "production"])
        wandb.Api().artifact("demo/model:v3").link("model-registry/prod", aliases=["staging"])
        site_build.build(Context.open(store.root), base / "site")
        records = load(Context.open(store.root)).collections["demo/model"].versions
    diffs = {
        (a.version, b.version): compare.diff(a, b)
        for a in records
        for b in records
        if a.version < b.version
    }
    return base / "site", diffs


@pytest.fixture
def tab(browser) -> Iterator[Any]:
    """A page at the desktop size; ``tab.errors`` collects the page's script errors."""
    page = browser.new_page(viewport=DESKTOP)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def _counts(d: dict[str, Any]) -> str:
    """The counts line as the version page's "Changes since" shows it."""
    c, n = d["counts"], len(d["metadata"])
    keys = f" · {n} metadata {'key' if n == 1 else 'keys'} changed" if n else ""
    return f"+{c['added']} −{c['removed']} ~{c['changed']} files · size {d['size_delta']}{keys}"


def _shown(tab: Any) -> dict[str, Any]:
    """What the comparison shows: heading, counts, the paths of each list (opened),
    the metadata rows."""
    result = tab.locator(".rt-compare-result")
    result.locator("h3").wait_for()
    lists = {}
    for details in result.locator("details").all():
        summary = details.locator("summary")
        summary.click()
        label = summary.inner_text().split(" (")[0].lower()
        lists[label] = [li.text_content() for li in details.locator("li").all()]
    rows = [
        tuple(cell.text_content() for cell in row.locator("th, td").all())
        for row in result.locator("table.rt-diff tbody tr").all()
    ]
    return {
        "heading": result.locator("h3").inner_text(),
        "counts": result.locator(".rt-diff-counts").inner_text(),
        "lists": lists,
        "metadata": rows,
    }


def _expected(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "counts": _counts(d),
        "lists": {k: d[k] for k in ("added", "removed", "changed") if d[k]},
        "metadata": d["metadata"],
    }


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_choosing_a_version_shows_what_the_server_diff_of_the_pair_shows(site, browser, viewport):
    out, diffs = site
    assert diffs[(0, 3)]["size_delta"] == "+1.2 KB"  # the rounding JavaScript must match
    tab = browser.new_page(viewport=viewport)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto((out / FOLDER / "v3.html").as_uri())
    control = tab.locator(".rt-compare-any")
    control.wait_for(state="visible")
    select = control.locator("select")
    assert [o.text_content() for o in select.locator("option").all()[1:]] == ["v2", "v1", "v0"]
    for other in (0, 2):
        select.select_option(str(other))
        shown = _shown(tab)
        assert shown.pop("heading") == f"Changes from v{other} to v3"
        assert shown == _expected(diffs[(other, 3)]), other
        assert tab.evaluate("location.hash") == f"#compare-v{other}"
    tab.goto((out / FOLDER / "v1.html").as_uri())
    tab.locator(".rt-compare-any select").select_option("3")  # a newer one: v1 to v3
    assert (
        tab.locator(".rt-compare-any option").all()[1].text_content() == "v3 (latest, prod/staging)"
    )
    shown = _shown(tab)
    assert shown.pop("heading") == "Changes from v1 to v3"
    assert shown == _expected(diffs[(1, 3)])
    assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert errors == []
    tab.close()


def test_a_compare_hash_opens_the_comparison_from_file_and_from_a_server(site, tab):
    out, diffs = site
    with serve_folder(out) as url:
        for address in ((out / FOLDER / "v3.html").as_uri(), f"{url}/{FOLDER}/v3.html"):
            tab.goto(address + "#compare-v2")
            shown = _shown(tab)
            assert shown.pop("heading") == "Changes from v2 to v3"
            assert shown == _expected(diffs[(2, 3)]), address
            # The same counts as the page's own "Changes since v2" section.
            server = tab.locator(".rt-diff-counts").first.inner_text()
            assert tab.locator(".rt-compare-result .rt-diff-counts").inner_text() == server
            tab.goto("about:blank")
    assert tab.errors == []


def test_without_script_or_another_version_the_control_stays_hidden(site, browser, tab):
    out, _ = site
    tab.goto((out / "artifacts/demo/solo/v0.html").as_uri())
    tab.wait_for_load_state("load")
    tab.wait_for_function("() => document.querySelector('.rt-compare-any').dataset.rtReady")
    assert not tab.locator(".rt-compare-any").is_visible()  # solo has no other version
    context = browser.new_context(java_script_enabled=False)
    still = context.new_page()
    still.goto((out / FOLDER / "v3.html").as_uri())
    assert still.locator(".rt-compare-any").count() == 1
    assert not still.locator(".rt-compare-any").is_visible()
    assert still.locator("h2", has_text="Changes since").first.is_visible()
    context.close()
    assert tab.errors == []


def test_hostile_paths_and_keys_are_shown_as_text(site, tab):
    out, diffs = site
    tab.goto((out / FOLDER / "v0.html").as_uri() + "#compare-v2")
    shown = _shown(tab)
    assert HOSTILE_PATH in shown["lists"]["added"]
    assert (HOSTILE_KEY, "–", "<b>bold</b> & more") in shown["metadata"]
    assert shown["metadata"] == diffs[(0, 2)]["metadata"]
    assert tab.locator(".rt-compare-result img, .rt-compare-result b").count() == 0
    assert tab.evaluate("window.__pwned") is None
    assert tab.errors == []


CONTRAST = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let back = null;
  for (let p = el; p && !back; p = p.parentElement) {
    const c = rgb(getComputedStyle(p).backgroundColor);
    if (c.length < 4 || c[3] > 0) back = c;
  }
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(back || [255, 255, 255]);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_the_comparison_reads_in_the_dark_palette(site, tab):
    out, diffs = site
    tab.goto((out / FOLDER / "v3.html").as_uri())
    tab.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
    tab.locator(".rt-compare-any select").select_option("1")
    shown = _shown(tab)
    assert shown.pop("heading") == "Changes from v1 to v3"
    assert shown == _expected(diffs[(1, 3)])
    result = tab.locator(".rt-compare-result")
    for element in (
        result.locator("h3"),
        result.locator(".rt-diff-counts"),
        result.locator("li code").first,
        result.locator("table.rt-diff td").first,
        tab.locator(".rt-compare-any select"),
    ):
        assert element.evaluate(CONTRAST) >= 4.5
    assert tab.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    assert tab.errors == []
