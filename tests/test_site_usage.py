"""A version's page tells how to use it: Python and CLI snippets that work as shown,
its files as a folder tree with a filter and a pager above and below, no column every
file leaves empty, and a preview of its first table."""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import build as site_build
from registry_tool._site import pages
from tests.helpers import cli_out, write


def _snippets(page: Path) -> list[str]:
    found = re.findall(r'<pre class="rt-snippet"><code>(.*?)</code></pre>', page.read_text(), re.S)
    return [html.unescape(s) for s in found]


def test_the_snippets_on_a_version_page_download_that_version(showcase, tmp_path, monkeypatch):
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    snippets = _snippets(out / "artifacts/demo/classifier/v2.html")
    assert 'api.artifact("demo/classifier:v2").download()' in snippets[0]
    assert "registry-tool get demo/classifier:v2" in snippets
    # v2 is linked to the prod registry: its registry path is shown too, and works.
    registry_cli = [s for s in snippets if s.startswith("registry-tool get model-registry/")]
    assert registry_cli == ["registry-tool get model-registry/prod/classifier:v0"]
    assert any('api.artifact("model-registry/prod/classifier:v0")' in s for s in snippets)
    for n, command in enumerate(s for s in snippets if s.startswith("registry-tool get")):
        args = shlex.split(command)[1:]
        cli_out(*args, "--root", str(tmp_path / f"got{n}"))
        assert (tmp_path / f"got{n}" / "model.bin").read_text() == "weights 2"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(snippets[0], namespace)  # the Python snippet, as a user pastes it
    assert (Path(str(namespace["path"])) / "model.bin").read_text() == "weights 2"
    # A version in no registry shows no registry path.
    plain = _snippets(out / "artifacts/demo/two-blobs/v0.html")
    assert len(plain) == 2 and not any("model-registry" in s for s in plain)


def test_copy_buttons_come_with_the_snippets(showcase, tmp_path):
    out = tmp_path / "site"
    site_build.build(Context.open(showcase.root), out)
    text = (out / "artifacts/demo/classifier/v2.html").read_text()
    assert text.count('class="rt-copy ') == len(
        _snippets(out / "artifacts/demo/classifier/v2.html")
    )


def _nested(registry, count: int = 5) -> None:
    for i in range(count):
        write(f"ds/images/train/{i}.png", f"img {i}")
    write("ds/images/val/0.png", "val")
    write("ds/deep/er/still/x.txt", "deep")
    write("ds/labels.csv", "a,b\n")
    write("ds/README.md", "readme")
    with wandb.init(project="demo") as run:
        art = wandb.Artifact("images", type="dataset")
        art.add_dir("ds")
        run.log_artifact(art)


def test_files_are_a_folder_tree_with_a_filter(registry, tmp_path):
    _nested(registry)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    text = (tmp_path / "site/artifacts/demo/images/v0.html").read_text()
    box = text[text.index('class="rt-files-box"') :]
    assert 'class="rt-files-filter"' in box
    # folders nest: images/ holds train/ (five files) and val/ (one); a chain of folders
    # with nothing else in them is one folder, as on GitHub
    folders = re.findall(r"<summary>(.*?)</summary>", box)
    names = [re.sub(r"<[^>]+>", "", f).split()[0] for f in folders]
    assert names == ["deep/er/still/", "images/", "train/", "val/"]
    nested = box[box.index("<summary>images/") : box.index("</details></details>")]
    assert "<summary>train/" in nested and "<summary>val/" in nested
    train = nested[nested.index('data-folder="images/train"') : nested.index("<summary>val/")]
    assert train.count("<tr><td>") == 5 and "<tr><td>0.png</td>" in train
    assert "6 files" in folders[1] and "1 file<" in folders[3]
    # files at the top sit outside any folder; a folder carries its path for the filter
    assert box.index("<tr><td>labels.csv</td>") < box.index("<details")
    assert 'data-folder="deep/er/still" open><summary>deep/er/still/' in box


def test_a_column_every_file_leaves_empty_is_dropped(registry, tmp_path):
    _nested(registry, count=1)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    text = (tmp_path / "site/artifacts/demo/images/v0.html").read_text()
    assert "<th>Reference</th>" not in text and "<th>Digest</th>" in text
    # one file by reference: the column is back, empty for the others
    target = write(tmp_path / "outside.txt", "far away")
    with wandb.init(project="demo") as run:
        art = wandb.Artifact("images", type="dataset")
        art.add_dir("ds")
        art.add_reference(target.as_uri(), name="far.txt")
        run.log_artifact(art)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    text = (tmp_path / "site/artifacts/demo/images/v1.html").read_text()
    assert "<th>Reference</th>" in text
    assert html.escape(target.as_uri()) in text.replace("<wbr>", "")  # it breaks after a slash


def test_the_pager_is_above_and_below_the_files(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(pages, "FILES_PER_PAGE", 3)
    _nested(registry, count=3)  # 7 files: pages of 3, 3, 1
    site_build.build(Context.open(registry.root), tmp_path / "site")
    folder = tmp_path / "site/artifacts/demo/images"
    for name in ("v0.html", "v0-files-2.html", "v0-files-3.html"):
        text = (folder / name).read_text()
        box = text[text.index('class="rt-files-box"') :]
        assert box.count('class="rt-pages"') == 2, name
        first, last = box.index('class="rt-pages"'), box.rindex('class="rt-pages"')
        assert first < box.index("<table") and last > box.rindex("</table>"), name
    assert not (folder / "v0-files-4.html").exists()
    last = (folder / "v0-files-3.html").read_text()
    assert last.count("<tr><td>") == 1


def test_the_version_page_previews_its_first_table(registry, tmp_path):
    table = wandb.Table(columns=["id", "label"])
    for i in range(30):
        table.add_data(i, f"<b>{i}</b>")
    with wandb.init(project="demo") as run:
        art = wandb.Artifact("predictions", type="predictions")
        art.add(table, "predictions")
        run.log_artifact(art)
    site_build.build(Context.open(registry.root), tmp_path / "site")
    text = (tmp_path / "site/artifacts/demo/predictions/v0.html").read_text()
    preview = text[text.index('class="rt-preview"') :]
    preview = preview[: preview.index("</table>")]
    assert preview.count("<tr>") == 1 + 5  # header and the first five rows
    assert "&lt;b&gt;4&lt;/b&gt;" in preview and "&lt;b&gt;5&lt;/b&gt;" not in preview
    link = re.search(r'<a href="(v0-table-[0-9a-f]+\.html)">', text[text.index("rt-preview") :])
    assert link and (tmp_path / "site/artifacts/demo/predictions" / link.group(1)).is_file()
    assert "the first 5 of 30 rows" in text


def test_a_version_without_tables_has_no_preview(showcase, tmp_path):
    site_build.build(Context.open(showcase.root), tmp_path / "site")
    text = (tmp_path / "site/artifacts/demo/classifier/v2.html").read_text()
    assert "rt-preview" not in text


def test_every_page_of_a_thousand_file_version_stays_under_100_kb(registry, tmp_path):
    folder = tmp_path / "many"
    for i in range(1_001):  # one more than two pages of files
        write(folder / f"split-{i // 100:02d}/nested-folder-name/sample-{i:05d}.bin", f"{i}\n")
    cli_out("log", str(folder), "--name", "p/many", "--type", "dataset")
    site = tmp_path / "site"
    site_build.build(Context.open(registry.root), site)
    version_pages = sorted((site / "artifacts/p/many").glob("v0*.html"))
    assert len(version_pages) >= 3  # the version page and its further files pages
    sizes = {page.name: page.stat().st_size for page in version_pages}
    assert max(sizes.values()) < 100_000, sizes
