"""Any two versions of a collection compared on the published site, in the reader's
browser: the data scripts the build writes beside the pages (one per version, one per
collection), how they are escaped, how an incremental build keeps and removes them, and
the control on the version page. The comparison itself, in a browser, is in
``tests/test_site_compare_any_browser.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._site import artifact_pages, compare
from registry_tool._site import build as site_build
from registry_tool._site.load import load
from tests.helpers import cli_out, git, write

HOSTILE_PATH = "<img src=x onerror=window.__pwned=1>.txt"
HOSTILE_KEY = "</script><script>window.__pwned=1</script>"
FOLDER = "artifacts/demo/model"


def _log(versions: list[tuple[dict[str, Any], dict[str, str]]], run_id: str = "train000") -> None:
    """Versions of demo/model: (metadata, files) each, logged by the run ``run_id``."""
    with wandb.init(project="demo", job_type="train", id=run_id) as run:
        for i, (metadata, files) in enumerate(versions):
            art = wandb.Artifact("model", type="model", metadata=metadata)
            for n, (path, text) in enumerate(files.items()):
                art.add_file(str(write(f"src{i}/{n}", text)), name=path)
            run.log_artifact(art)


def _three() -> None:
    _log(
        [
            ({"acc": 0.5, "k": {"x": 1}}, {"a.txt": "a", "b.txt": "b"}),
            ({"acc": 0.6, "k": {"x": 1}}, {"a.txt": "A", "b.txt": "b", "c.txt": "cc"}),
            (
                {"acc": 0.6, HOSTILE_KEY: "line\u2028break & <b>"},
                {"a.txt": "A", HOSTILE_PATH: "x"},
            ),
        ]
    )


def _payload(path: Path) -> tuple[str, Any]:
    """The name and the data a data script registers."""
    text = path.read_text(encoding="ascii")
    found = re.fullmatch(rf"{compare.REGISTER}\((\"[^\"]*\"),(.*)\);\n", text, re.S)
    assert found, text[:200]
    return json.loads(found.group(1)), json.loads(found.group(2))


def _build(root: Path, out: Path) -> site_build.BuildReport:
    return site_build.build(Context.open(root), out)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_each_version_has_a_data_script_beside_its_page_and_the_collection_a_list(
    registry, tmp_path
):
    _three()
    report = _build(registry.root, tmp_path / "site")
    # One a version: around mkdocs, which would copy each of them again every build.
    assert not [p for p in report.docs.rglob("*.js") if "artifacts" in p.parts]
    folder = tmp_path / "site" / FOLDER
    name, listed = _payload(folder / "versions.js")
    assert name == "versions"
    assert listed == {"versions": [[2, "latest"], [1, ""], [0, ""]]}  # newest first
    name, one = _payload(folder / "v1-manifest.js")
    assert name == "v1"
    v0, v1, _ = load(Context.open(registry.root)).collections["demo/model"].versions
    assert one["version"] == 1 and one["size"] == v1.size == 4
    assert one["files"] == [
        [e.path, e.digest.removeprefix("sha256:")[:12]]
        for e in sorted(v1.entries, key=lambda e: e.path)
    ]
    assert [m[:2] for m in one["metadata"]] == [["acc", "0.6"], ["k.x", "1"]]
    # What tells values apart is the same where the values are, and only there.
    _, zero = _payload(folder / "v0-manifest.js")
    assert zero["metadata"][1][2] == one["metadata"][1][2]  # k.x: 1 in both
    assert zero["metadata"][0][2] != one["metadata"][0][2]  # acc: 0.5, then 0.6
    assert compare.diff(v0, v1)["metadata"] == [("acc", "0.5", "0.6")]


def test_data_scripts_cannot_be_broken_out_of_by_registry_text(registry, tmp_path):
    _three()
    _build(registry.root, tmp_path / "site")
    raw = (tmp_path / "site" / FOLDER / "v2-manifest.js").read_bytes()
    body = raw.split(b"(", 1)[1]
    for forbidden in (b"<", b">", b"&", "\u2028".encode(), "\u2029".encode()):
        assert forbidden not in body, forbidden
    assert raw.isascii()
    _, two = _payload(tmp_path / "site" / FOLDER / "v2-manifest.js")
    assert HOSTILE_PATH in [path for path, _ in two["files"]]  # the text, unchanged
    assert [HOSTILE_KEY, "line\u2028break & <b>"] in [m[:2] for m in two["metadata"]]


def test_long_values_are_cut_as_the_page_cuts_them(registry, tmp_path):
    _log([({"note": "x" * 2500, "n": 1.0}, {"a": "a"}), ({"note": "x" * 2501, "n": 1}, {"a": "b"})])
    _build(registry.root, tmp_path / "site")
    _, zero = _payload(tmp_path / "site" / FOLDER / "v0-manifest.js")
    _, one = _payload(tmp_path / "site" / FOLDER / "v1-manifest.js")
    assert zero["metadata"][1][1] == "x" * 2000 + "… (500 more characters)"
    # Cut alike, still told apart; a whole float is the integer it equals.
    assert zero["metadata"][1][2] != one["metadata"][1][2]
    assert zero["metadata"][0][2] == one["metadata"][0][2]


def test_value_ids_tell_apart_what_the_diff_tells_apart():
    same = [(1, 1.0), ({"a": 1, "b": 2}, {"b": 2, "a": 1}), ("x", "x"), (None, None)]
    different = [(True, 1), ("1", 1), ("true", True), (0.5, 0.5000001), ("null", None)]
    for a, b in same:
        assert compare.value_id(a) == compare.value_id(b), (a, b)
    for a, b in different:
        assert compare.value_id(a) != compare.value_id(b), (a, b)


def test_the_server_diff_counts_a_key_whose_value_changed_type(registry, tmp_path):
    _log([({"flag": True, "n": 2.0}, {"a": "a"}), ({"flag": 1, "n": 2}, {"a": "b"})])
    v0, v1 = load(Context.open(registry.root)).collections["demo/model"].versions
    assert compare.diff(v0, v1)["metadata"] == [("flag", "true", "1")]


def test_a_stage_and_a_deleted_version_are_in_the_list(showcase, tmp_path):
    wandb.Api().artifact("demo/classifier:v1").delete()
    _build(showcase.root, tmp_path / "site")
    _, listed = _payload(tmp_path / "site/artifacts/demo/classifier/versions.js")
    assert listed["versions"] == [
        [2, "latest, prod/production, prod/staging"],
        [1, "deleted"],
        [0, ""],
    ]


def test_the_version_page_has_a_hidden_control_of_a_few_hundred_bytes(registry, tmp_path):
    _three()
    report = _build(registry.root, tmp_path / "site")
    page = report.markdown[f"{FOLDER}/v1.md"]
    found = re.search(r'<div class="rt-compare-any".*?</script>\n</div>\n', page, re.S)
    assert found, page
    control = found.group(0)
    assert len(control.encode()) < 800, len(control.encode())
    assert " hidden " in control and 'data-version="1"' in control
    assert 'data-list="versions.js"' in control and 'data-manifest="v{n}-manifest.js"' in control
    assert '<script src="../../../assets/registry-tool-compare.js" defer></script>' in control
    assert page.index("## Changes since") < page.index("rt-compare-any") < page.index("## Files")
    html = (tmp_path / "site" / FOLDER / "v1.html").read_text()
    assert 'class="rt-compare-any"' in html and "Compare with another version" in html
    assert (tmp_path / "site/assets/registry-tool-compare.js").is_file()
    assert len((tmp_path / "site" / FOLDER / "v2.html").read_bytes()) < 100_000


def test_a_new_version_writes_its_own_data_script_only_and_equals_a_full_build(
    registry, tmp_path, monkeypatch
):
    _three()
    out = tmp_path / "site"
    _build(registry.root, out)
    written: list[int] = []
    real = compare.manifest

    def counted(v: Any, max_text: int) -> dict[str, Any]:
        written.append(v.version)
        return real(v, max_text)

    monkeypatch.setattr(compare, "manifest", counted)
    _build(registry.root, out)
    assert written == []  # nothing changed: no version's data is made again
    _log([({"acc": 0.7}, {"a.txt": "A", "d.txt": "d"})], run_id="train001")
    _build(registry.root, out)
    # v3, and v2 (its page shows "latest" no more); v0 and v1 stay as they were.
    assert sorted(written) == [2, 3]
    assert (out / FOLDER / "v0-manifest.js").is_file()
    _, listed = _payload(out / FOLDER / "versions.js")
    assert [n for n, _ in listed["versions"]] == [3, 2, 1, 0]
    fresh = tmp_path / "fresh"
    _build(registry.root, fresh)
    assert _tree(out) == _tree(fresh)


def test_data_scripts_of_a_collection_gone_from_the_registry_are_removed(registry, tmp_path):
    _three()
    write("other/o.txt", "o")
    cli_out("log", "other", "--name", "demo/other", "--type", "dataset")
    out = tmp_path / "site"
    _build(registry.root, out)
    assert (out / "artifacts/demo/other/v0-manifest.js").is_file()
    assert (out / "artifacts/demo/other/versions.js").is_file()
    git(registry.root, "rm", "-r", "-q", "projects/demo/other")
    git(registry.root, "commit", "-q", "-m", "other gone")
    _build(registry.root, out)
    assert not (out / "artifacts/demo/other").exists()
    assert (out / FOLDER / "v0-manifest.js").is_file()
    fresh = tmp_path / "fresh"
    _build(registry.root, fresh)
    assert _tree(out) == _tree(fresh)


def test_the_collection_page_shows_short_digests_numbers_and_cut_values(registry, tmp_path):
    _log([({"note": "n" * 1000, "short": "s"}, {"a.txt": "a"})])
    report = _build(registry.root, tmp_path / "site")
    page = report.markdown[f"{FOLDER}/index.md"]
    (v0,) = load(Context.open(registry.root)).collections["demo/model"].versions
    short = v0.digest.removeprefix("sha256:")[:12]
    assert f'<td><code title="{v0.digest}">{short}</code></td>' in page
    assert '<td class="rt-num" data-sort="1">1 B</td><td class="rt-num">1</td>' in page
    cut = "n" * (compare.CELL_TEXT - 1) + "…"
    title = "n" * (compare.TITLE_TEXT - 1) + "…"
    assert f'<td><span class="rt-trunc" title="{title}">{cut}</span></td>' in page
    assert "<td>s</td>" in page  # a value that fits is as it was
    html = (tmp_path / "site" / FOLDER / "index.html").read_text()
    assert "n" * (compare.TITLE_TEXT + 1) not in html


def test_cut_values_keep_their_tooltips_only_while_the_page_has_room(
    registry, tmp_path, monkeypatch
):
    _log([({"note": f"{i}" + "n" * 500}, {"a": str(i)}) for i in range(3)])

    def titles(limit: int) -> int:
        monkeypatch.setattr(artifact_pages, "COLLECTION_MARKDOWN", limit)
        page = _build(registry.root, tmp_path / f"site{limit}").markdown[f"{FOLDER}/index.md"]
        return page.count('<span class="rt-trunc" title="')

    full = len(_build(registry.root, tmp_path / "all").markdown[f"{FOLDER}/index.md"].encode())
    assert titles(full) == 3  # at the limit: every one
    assert titles(full - 1) == 2  # one byte less: the oldest row's goes
    assert titles(1) == 0  # the cut text stays, without its tooltip
