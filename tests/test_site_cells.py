"""Table cells as the site's templates mark them: a path breaks only after its slashes
and is escaped, numbers are ``rt-num`` cells, a long free value is cut to one line with
the whole of it in its title, a digest is short with the full one in its title, and a
stage holder reads as the artifact version it is (``demo/classifier:v2``)."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import Markup

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import kinds
from registry_tool._site.load import load
from registry_tool._site.pages import MAX_TEXT, TRUNC_AT, table_html
from registry_tool._site.render import Renderer, digest, environment, path, trunc
from tests.helpers import write

HOSTILE_PATH = 'a/<script>x</script>/b&c/"q"'
DIGEST = "sha256:" + "0123456789ab" + "f" * 52


def test_a_path_is_escaped_and_may_break_only_after_each_slash():
    shown = path(HOSTILE_PATH)
    assert isinstance(shown, Markup)
    assert str(shown) == (
        "a/<wbr>&lt;script&gt;x&lt;/<wbr>script&gt;/<wbr>b&amp;c/<wbr>&#34;q&#34;"
    )
    assert html.unescape(str(shown).replace("<wbr>", "")) == HOSTILE_PATH
    assert str(path("no-slash")) == "no-slash"
    assert str(path("trailing/")) == "trailing/"  # nothing after it to break before
    assert path(None) == ""


def test_the_path_filter_in_a_template_is_not_escaped_twice(registry):
    env = environment(Context.open(registry.root), None)
    out = env.from_string("<td>{{ p | path }}</td>").render(p=HOSTILE_PATH)
    assert out == f"<td>{path(HOSTILE_PATH)}</td>"
    assert "<script>" not in out


def test_a_digest_shows_its_first_twelve_digits_with_the_whole_in_its_title():
    shown = str(digest(DIGEST))
    assert shown == f'<code class="rt-digest" title="{DIGEST}">0123456789ab</code>'
    hostile = str(digest('sha256:"><script>'))
    assert "<script>" not in hostile and "&#34;&gt;&lt;script&gt;" in hostile
    assert digest(None) == "" and digest("") == ""


@pytest.mark.parametrize("length", [TRUNC_AT - 1, TRUNC_AT, TRUNC_AT + 1])
def test_a_value_is_cut_to_one_line_only_past_the_limit(length):
    value = "v" * length
    shown = str(trunc(value))
    if length <= TRUNC_AT:
        assert shown == value
    else:
        assert shown == f'<span class="rt-trunc" title="{value}">{value}</span>'


def test_a_cut_value_is_escaped_in_its_text_and_title_and_shown_as_json():
    hostile = '<img src=x onerror="window.__pwned=1">' * 3
    shown = str(trunc(hostile))
    assert "<img" not in shown and shown.count("&lt;img src=x onerror=&#34;") == 6
    assert str(trunc({"k": ["a", 1]})) == "{&#34;k&#34;: [&#34;a&#34;, 1]}"
    assert str(trunc(["x" * TRUNC_AT])).startswith('<span class="rt-trunc" title="[&#34;xx')
    huge = str(trunc("y" * (MAX_TEXT + 10)))
    assert "(10 more characters)" in huge and huge.count("y") == 2 * MAX_TEXT
    assert trunc(None) == ""


@pytest.fixture
def pages(showcase) -> dict[str, str]:
    """Every page of the showcase, with a file by reference under a hostile folder and a
    run whose summary holds numbers and a long text, as the render functions make them."""
    ref = write("refs/<b>x</b>/deep/file.txt", "r")
    with wandb.init(project="demo", job_type="eval", id="eval0000") as run:
        run.use_artifact("demo/classifier:v2")
        run.summary["accuracy"] = 0.93
        run.summary["steps"] = 1200
        run.summary["note"] = "a long note " * 10
        art = wandb.Artifact("refs", type="dataset")
        art.add_reference(ref.resolve().as_uri(), name="deep/file.txt")
        write("local.txt", "l" * 2048)
        art.add_file("local.txt")
        run.log_artifact(art)
    ctx = Context.open(showcase.root)
    renderer = Renderer(ctx, load(ctx), environment(ctx, None), kinds.BY_NAME)
    for kind in kinds.PAGE_KINDS:
        if kind.render is not None:
            kind.render(renderer)
    return renderer.pages


def _cells(page: str, table: str) -> list[str]:
    """The cells of every ``table`` of the page (a files list has one per folder)."""
    bodies = re.findall(rf'<table class="{table}">.*?</table>', page, re.S)
    assert bodies, table
    return [cell for body in bodies for cell in re.findall(r"<td[^>]*>.*?</td>", body, re.S)]


def test_the_version_header_shows_a_short_digest_with_the_whole_in_its_title(pages, showcase):
    record = load(Context.open(showcase.root)).version("demo", "classifier", 2)
    assert record is not None
    header = re.search(r'<p class="rt-type">(.*?)</p>', pages["artifacts/demo/classifier/v2.md"])
    assert header
    short = record.digest.removeprefix("sha256:")[:12]
    assert f'<code class="rt-digest" title="{record.digest}">{short}</code>' in header.group(1)
    assert record.digest.removeprefix("sha256:") not in re.sub(r'"[^"]*"', "", header.group(1))


def test_sizes_counts_durations_and_numeric_summary_values_are_number_cells(pages):
    files = _cells(pages["artifacts/demo/refs/v0.md"], "rt-files")
    assert '<td class="rt-num">2.0 KB</td>' in files
    summary = pages["runs/demo/eval0000.md"]
    assert '<th>accuracy</th><td class="rt-num">0.93</td>' in summary
    assert '<th>steps</th><td class="rt-num">1200</td>' in summary
    note = re.search(r"<th>note</th><td>(.*?)</td>", summary)
    assert note and note.group(1).startswith('<span class="rt-trunc" title="a long note a long')
    project = pages["artifacts/demo/index.md"]
    row = next(c for c in re.findall(r"<tr><td>.*?</tr>", project) if ">classifier<" in c)
    assert '<td class="rt-num">3</td>' in row  # its versions
    run_row = next(c for c in re.findall(r"<tr><td>.*?</tr>", project) if "eval0000" in c)
    assert re.search(r'<td class="rt-num">(&lt; 1m|\d+m \d\ds)</td>', run_row), run_row
    artifacts = _cells(pages["artifacts/index.md"], "rt-projects")
    assert artifacts[1:] == ['<td class="rt-num">3</td>', '<td class="rt-num">5</td>']
    registry = pages["registries/prod.md"]
    assert '<td class="rt-num">1</td>' in _cells(registry, "rt-stages")  # its links
    # a number column's heading lines up with its numbers
    for page, headings in (
        ("artifacts/demo/refs/v0.md", ["Size"]),
        ("artifacts/demo/index.md", ["Versions", "Duration"]),
        ("artifacts/index.md", ["Artifacts", "Versions"]),
        ("registries/prod.md", ["Links"]),
    ):
        found = re.findall(r'<th class="rt-num">(\w+)</th>', pages[page])
        assert list(dict.fromkeys(found)) == headings, page  # a files table per folder


def test_paths_in_cells_break_after_slashes_and_are_escaped(pages):
    files = _cells(pages["artifacts/demo/refs/v0.md"], "rt-files")
    refs = [c for c in files if "file:" in c]
    assert len(refs) == 1 and refs[0].startswith('<td class="rt-path">file:/<wbr>/<wbr>')
    assert refs[0].endswith("/<wbr>refs/<wbr>%3Cb%3Ex%3C/<wbr>b%3E/<wbr>deep/<wbr>file.txt</td>")
    assert "<td>file.txt</td>" in files  # a name in its folder wraps as text
    run = pages["runs/demo/eval0000.md"]
    assert '<td class="rt-path"><a href="../../artifacts/demo/classifier/v2.html">' in run
    assert ">demo/<wbr>classifier:v2</a>" in run
    links = _cells(pages["registries/prod/classifier.md"], "rt-links")
    source = '<td class="rt-path"><a href="../../artifacts/demo/classifier/v2.html">'
    assert source + "demo/<wbr>classifier:v2</a></td>" in links
    assert any(
        re.match(r'<td><code class="rt-digest" title="[0-9a-f]{64}">[0-9a-f]{12}</code>', c)
        for c in links
    )


@pytest.mark.parametrize("page", ["index.md", "registries/prod.md"])
def test_a_stage_holder_reads_as_the_artifact_version_it_is(pages, page):
    """On the home and registry pages a holder is the artifact's own name and version,
    linked to its page; the registry's own numbering (``classifier:v0``) is only in the
    title, where it cannot be read as the source's version."""
    cells = _cells(pages[page], "rt-stages")
    up = "" if page == "index.md" else "../"
    holder = (
        f'<td class="rt-path"><a href="{up}artifacts/demo/classifier/v2.html" '
        'title="model-registry/prod/classifier:v0">demo/<wbr>classifier:v2</a></td>'
    )
    assert cells.count(holder) == 2  # staging and production
    assert ">classifier:v0<" not in pages[page]


@pytest.mark.parametrize("length", [TRUNC_AT, TRUNC_AT + 1])
def test_a_table_preview_aligns_numbers_and_cuts_long_values_with_the_whole_in_the_title(length):
    long = "<b>" + "x" * (length - 3)  # hostile, and exactly ``length`` characters
    doc = {"columns": ["n", "score", "flag", "caption"], "data": [[3, 0.5, True, long]]}
    cells = re.findall(r"<td[^>]*>.*?</td>", table_html(doc, lambda cell: None))
    assert cells[0] == '<td class="rt-num">3</td>' and cells[1] == '<td class="rt-num">0.5</td>'
    assert cells[2] == "<td>true</td>"  # a bool is not a number
    shown = html.escape(long, quote=True)
    if length <= TRUNC_AT:
        assert cells[3] == f"<td>{shown}</td>"
    else:
        assert cells[3] == f'<td><span class="rt-trunc" title="{shown}">{shown}</span></td>'
    assert "<b>" not in "".join(cells)
