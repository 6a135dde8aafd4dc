"""What the site shows of runs: the summary, a chart per metric of the history, tags,
notes, group and config on the run's page, and the runs of a project on its page."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import charts, shell
from registry_tool._store import RegistryStore


def _five_steps(run_id: str = "train001") -> None:
    """A run that logged five steps of two metrics (one nested), with tags and notes."""
    with wandb.init(
        project="demo",
        id=run_id,
        job_type="train",
        config={"lr": 0.01},
        tags=["baseline", "<b>bold</b>"],
        notes="first **try**",
        group="sweep-7",
    ) as run:
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1), "eval": {"acc": step / 8}})


def _page(site: Path, run_id: str = "train001") -> str:
    return (site / "runs" / "demo" / f"{run_id}.html").read_text()


def _svgs(page: str) -> list[str]:
    return re.findall(r'<svg class="rt-chart-svg".*?</svg>', page, flags=re.S)


def test_a_run_page_shows_summary_charts_tags_and_notes(
    registry: RegistryStore, tmp_path: Path
) -> None:
    _five_steps()
    report = site_build.build(Context.open(registry.root), tmp_path / "site")
    page = _page(tmp_path / "site")
    summary = page.split('class="rt-summary"')[1].split("</table>")[0]
    assert '<th>loss</th><td class="rt-num">0.2</td>' in summary  # the last value, to sensible precision
    assert '<th>eval.acc</th><td class="rt-num">0.5</td>' in summary
    svgs = _svgs(page)
    assert len(svgs) == 2  # one chart per numeric metric, none for _step or _runtime
    acc, loss = svgs  # in name order
    assert 'aria-label="eval.acc' in acc and 'aria-label="loss' in loss
    assert 'class="rt-last">0.2</text>' in loss  # the last value labelled
    assert 'class="rt-last">0.5</text>' in acc
    assert ">1</text>" in loss and ">0.2</text>" in loss  # the y axis: max and min
    assert '<span class="rt-tag">baseline</span>' in page
    assert '<span class="rt-tag">&lt;b&gt;bold&lt;/b&gt;</span>' in page
    assert "first <strong>try</strong>" in page
    assert "sweep-7" in page and "<th>lr</th><td>0.01</td>" in page
    # The page's Markdown converts the same with the fast converter as with Markdown.
    text = report.markdown["runs/demo/train001.md"]
    extensions = ["tables", "attr_list", "md_in_html"]
    import markdown

    _, fast = shell.Converter({"markdown_extensions": extensions}).convert(text)
    plain = markdown.Markdown(extensions=[*extensions, "toc"]).convert(
        shell._FRONT_MATTER.sub("", text, count=1)
    )
    assert re.sub(r"\n+", "\n", fast) == re.sub(r"\n+", "\n", plain)


def test_a_hostile_metric_name_and_value_are_escaped(
    registry: RegistryStore, tmp_path: Path
) -> None:
    name = "<script>alert(1)</script>"
    with wandb.init(project="demo", id="evil001", tags=["<img src=x onerror=alert(1)>"]) as run:
        run.log({name: 1.0, "label": "<script>window.__pwned = 1</script>"})
        run.log({name: 2.0})
    site_build.build(Context.open(registry.root), tmp_path / "site")
    for page in (
        _page(tmp_path / "site", "evil001"),
        (tmp_path / "site/artifacts/demo/index.html").read_text(),
    ):
        assert "<script>alert" not in page and "<script>window.__pwned" not in page
        assert not re.search(r"<img[^>]*onerror", page)
    page = _page(tmp_path / "site", "evil001")
    assert '<th>&lt;script&gt;alert(1)&lt;/script&gt;</th><td class="rt-num">2</td>' in page
    (svg,) = _svgs(page)  # the text metric has no chart
    assert 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt;' in svg


def test_a_run_whose_history_blob_is_gone_builds_with_a_note(
    registry: RegistryStore, tmp_path: Path
) -> None:
    _five_steps()
    ctx = Context.open(registry.root)
    record = next(iter(ctx.store.runs(ctx.store.head(), "demo")))
    assert record.history is not None
    blob = ctx.blobs.local_path(record.history.digest.removeprefix("sha256:"))
    assert blob is not None
    kept = blob.read_bytes()
    blob.unlink()
    site_build.build(Context.open(registry.root), tmp_path / "site")
    page = _page(tmp_path / "site")
    assert 'class="rt-note"' in page and "history is missing" in page
    assert _svgs(page) == [] and '<th>loss</th><td class="rt-num">0.2</td>' in page  # the summary stays
    # A page built without its history is not kept as it is: once the blob is back,
    # the next build into the same folder draws the charts.
    blob.write_bytes(kept)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    page = _page(tmp_path / "site")
    assert len(_svgs(page)) == 2 and "history is missing" not in page


def test_a_rebuild_redraws_a_run_page_only_when_its_history_changed(
    registry: RegistryStore, tmp_path: Path
) -> None:
    _five_steps()
    first = site_build.build(Context.open(registry.root), tmp_path / "site")
    assert "runs/demo/train001.md" in first.markdown
    again = site_build.build(Context.open(registry.root), tmp_path / "site")
    assert "runs/demo/train001.md" not in again.markdown  # left as the last build made it
    with wandb.init(project="demo", id="train001", resume="allow") as run:
        run.log({"loss": 0.125})
    site_build.build(Context.open(registry.root), tmp_path / "site")
    loss = _svgs(_page(tmp_path / "site"))[1]
    assert 'class="rt-last">0.125</text>' in loss


def test_a_run_of_ten_thousand_steps_makes_a_small_page(
    registry: RegistryStore, tmp_path: Path
) -> None:
    with wandb.init(project="demo", id="long001") as run:
        for step in range(10_000):
            run.log({"loss": 1.0 / (step + 1), "lr": 0.001 * (step % 100)})
    site_build.build(Context.open(registry.root), tmp_path / "site")
    html = tmp_path / "site/runs/demo/long001.html"
    assert html.stat().st_size < 100_000
    svgs = _svgs(html.read_text())
    assert len(svgs) == 2
    for svg in svgs:
        points = re.search(r'<polyline[^>]* points="([^"]*)"', svg)
        assert points is not None
        assert len(points.group(1).split()) == charts.CHART_POINTS
    assert ">9999</text>" in svgs[0]  # the x axis runs to the last step


def test_long_series_are_sampled_evenly_keeping_both_ends() -> None:
    n = charts.CHART_POINTS
    exact = [(i, float(i)) for i in range(n)]
    assert charts.sample(exact) == exact
    longer = [(i, float(i)) for i in range(n + 1)]
    kept = charts.sample(longer)
    assert len(kept) == n and kept[0] == longer[0] and kept[-1] == longer[-1]
    gaps = {b[0] - a[0] for a, b in itertools.pairwise(kept)}
    assert gaps <= {1, 2}  # evenly: no stretch skipped
    assert charts.sample([(3, 1.5)]) == [(3, 1.5)]


def test_numbers_are_shown_to_sensible_precision() -> None:
    assert charts.number(1 / 3) == "0.333333"
    assert charts.number(0.2) == "0.2"
    assert charts.number(2.0) == "2"
    assert charts.number(10_000) == "10000"
    assert charts.number(123456789.0) == "1.23457e+08"
    assert charts.number(float("nan")) == "NaN"
    assert charts.number(float("-inf")) == "-Infinity"


def test_the_project_page_lists_its_runs(registry: RegistryStore, tmp_path: Path) -> None:
    _five_steps()
    with wandb.init(project="demo", id="prep001", job_type="prepare", config={"rows": 10}):
        pass
    site_build.build(Context.open(registry.root), tmp_path / "site")
    project = (tmp_path / "site/artifacts/demo/index.html").read_text()
    runs = project.split('class="rt-runlist"')[1].split("</table>")[0]
    assert '<a href="../../runs/demo/train001.html">' in runs
    assert '<a href="../../runs/demo/prep001.html">' in runs
    row = next(r for r in runs.split("<tr>") if "train001" in r)
    assert "<td>train</td>" in row and "<td>finished</td>" in row
    assert '<span class="rt-tag">baseline</span>' in row
    assert '<td class="rt-num">&lt; 1m</td>' in row  # its duration
    # The runs are in the nav with the project even though it has no artifacts.
    home = (tmp_path / "site/index.html").read_text().split('class="md-content"')[0]
    assert 'href="artifacts/demo/index.html"' in home


def test_durations() -> None:
    assert charts.duration("2024-01-01T00:00:00Z", None) == "–"
    assert charts.duration("2024-01-01T00:00:00Z", "2024-01-01T00:00:59.9Z") == "< 1m"
    assert charts.duration("2024-01-01T00:00:00Z", "2024-01-01T00:01:05Z") == "1m 05s"
    assert charts.duration("2024-01-01T00:00:00Z", "2024-01-01T02:03:04Z") == "2h 03m"
    assert charts.duration("2024-01-01T00:00:00Z", "2024-01-03T05:00:00Z") == "2d 5h"
    assert charts.duration("not a time", "2024-01-03T05:00:00Z") == "–"
