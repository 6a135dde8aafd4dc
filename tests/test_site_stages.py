"""Stage context on the site: each registry's own stage order, holders named and linked,
the stages a version holds on project pages, and a registry collection's history newest
first with stage moves apart from alias moves, gate verdicts and pull request links."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._model.governance import StageGate
from registry_tool._model.layout import registry_alias_file
from registry_tool._site import build as site_build
from registry_tool._site import kinds
from registry_tool._site import nav_pages as nav
from registry_tool._site.load import load
from registry_tool._site.render import Renderer, environment
from registry_tool._store.registry import RegistryStore
from tests.helpers import commit, git, write


@pytest.fixture
def two_registries(registry: RegistryStore) -> RegistryStore:
    """``demo/model`` v0..v2 (accuracy 0.5, 0.95, 0.97); ``alpha`` with stages staging
    then production (production gated on accuracy), ``beta`` with review then live.
    v2 holds alpha's staging and beta's live; v1 was promoted to alpha's production."""
    for i, accuracy in enumerate((0.5, 0.95, 0.97)):
        write("model.bin", f"weights {i}")
        with wandb.init(project="demo", job_type="train", id=f"train{i:03d}") as run:
            model = wandb.Artifact("model", type="model", metadata={"accuracy": accuracy})
            model.add_file("model.bin")
            run.log_artifact(model)
    ctx = Context.open(registry.root)
    gate = {"production": StageGate(("accuracy >= 0.9",))}
    promotion.create_registry(ctx, "alpha", stages=["staging", "production"], gates=gate)
    promotion.create_registry(ctx, "beta", stages=["review", "live"])
    api = wandb.Api()
    api.artifact("demo/model:v2").link("model-registry/alpha", aliases=["staging"])
    api.artifact("demo/model:v2").link("model-registry/beta", aliases=["live"])
    api.artifact("demo/model:v1").link("model-registry/alpha")
    api.promote("model-registry/alpha/model:v1", "production", mode="direct", reason="ship it")
    return registry


def _pages(root: Path) -> dict[str, str]:
    """The home, registry and project pages as their render functions make them, from
    the registry as ``load`` reads it."""
    ctx = Context.open(root)
    renderer = Renderer(ctx, load(ctx), environment(ctx, None), kinds.BY_NAME)
    nav.render_home(renderer)
    nav.render_registries(renderer)
    nav.render_projects(renderer)
    return renderer.pages


def _columns(page: str, table: int = 0) -> list[str]:
    heads = re.findall(r"<thead><tr>(.*?)</tr></thead>", page)[table]
    return re.findall(r"<th[^>]*>(.*?)</th>", heads)


def _rows(page: str, heading: str) -> list[str]:
    """The body rows of the table under ``## heading``."""
    section = page.split(f"## {heading}", 1)[1].split("## ", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1])


def test_home_gives_each_registry_its_own_stages_in_its_order(two_registries):
    home = _pages(two_registries.root)["index.md"]
    alpha, beta = home.split("model-registry/alpha</a>")[1].split("model-registry/beta</a>")
    assert _columns(alpha) == ["Collection", "staging", "production"]  # not alphabetical
    assert _columns(beta) == ["Collection", "review", "live"]
    # Holders are named by the artifact version they are and link it; the registry's
    # own numbering is in the title.
    assert '<a href="registries/alpha/model.html">model</a>' in alpha
    staging = 'href="artifacts/demo/model/v2.html" title="model-registry/alpha/model:v0"'
    production = 'href="artifacts/demo/model/v1.html" title="model-registry/alpha/model:v1"'
    assert f"<a {staging}>demo/<wbr>model:v2</a>" in alpha
    assert f"<a {production}>demo/<wbr>model:v1</a>" in alpha
    live = 'href="artifacts/demo/model/v2.html" title="model-registry/beta/model:v0"'
    assert f"<a {live}>demo/<wbr>model:v2</a>" in beta
    assert "<td>–</td>" in beta  # nothing holds review


def test_a_version_holding_stages_of_two_registries_lists_both_in_order(two_registries):
    ctx = Context.open(two_registries.root)
    data = load(ctx)
    held = data.holdings("demo", "model", 2)
    assert [(h.registry, h.stage, h.collection, h.version) for h in held] == [
        ("alpha", "staging", "model", 0),
        ("beta", "live", "model", 0),
    ]
    assert [h.stage for h in data.holdings("demo", "model", 1)] == ["production"]
    assert data.holdings("demo", "model", 0) == []
    assert [h.source_version for h in data.holdings("demo", "model")] == [2, 1, 2]
    renderer = Renderer(ctx, data, environment(ctx, None), kinds.BY_NAME)
    context = nav.stage_context(renderer, "artifacts/demo/model/v2.md", held)
    assert [c["href"] for c in context] == [
        "../../../registries/alpha/model.html",
        "../../../registries/beta/model.html",
    ]
    project = _pages(two_registries.root)["artifacts/demo/index.md"]
    assert _columns(project)[5] == "Stages"
    row = re.findall(r"<tr><td>(.*?)</tr>", project)[0]
    links = re.findall(r'<a class="rt-stage" href="([^"]+)"[^>]*>([^<]+)</a> (v\d+)', row)
    assert links == [
        ("../../registries/alpha/model.html", "alpha/staging", "v2"),
        ("../../registries/alpha/model.html", "alpha/production", "v1"),
        ("../../registries/beta/model.html", "beta/live", "v2"),
    ]


def test_stage_links_resolve_in_the_built_site(two_registries, tmp_path):
    site_build.build(Context.open(two_registries.root), tmp_path / "site")
    project = tmp_path / "site/artifacts/demo/index.html"
    hrefs = re.findall(r'class="rt-stage" href="([^"]+)"', project.read_text())
    assert hrefs
    for href in hrefs:
        assert (project.parent / href).resolve().is_file(), href


def test_history_is_newest_first_with_stage_moves_apart_and_gate_verdicts(two_registries):
    root = two_registries.root
    # A move by hand whose message imitates a promotion's gate lines without its trailer:
    # not taken for a recorded verdict; v0's accuracy (0.5) judged now fails the gate.
    forged = "alias production\n\nGate: accuracy >= 0.9 -> pass (accuracy is 0.99)"
    path = registry_alias_file("alpha", "model", "production")
    doc = (root / path).read_text().replace("version: 1", "version: 2")
    wandb.Api().artifact("demo/model:v0").link("model-registry/alpha", aliases=["candidate"])
    assert "version: 2" in doc
    commit(root, {path: doc}, forged)
    page = _pages(root)["registries/alpha/model.md"]
    stages = _rows(page, "Stage history")
    assert len(stages) == 3
    newest, promoted, staged = stages
    assert (
        "<td>production</td><td>v1</td>" in newest and ">FAIL</span> <small>(judged now)" in newest
    )
    assert "accuracy &gt;= 0.9: FAIL" in newest
    assert "<td>production</td><td>–</td>" in promoted and 'title="recorded: ' in promoted
    assert ">pass</span></td>" in promoted and "ship it" in promoted
    assert "<td>staging</td>" in staged and "<td>no gates</td>" in staged
    moves = _rows(page, "Alias moves")
    assert len(moves) == 2  # the newest first
    assert "<td>candidate</td><td>–</td><td>v2</td>" in moves[0]
    assert "<td>latest</td><td>–</td><td>v0</td>" in moves[1]
    assert "latest" not in "".join(stages) and "candidate" not in "".join(stages)


def test_previous_stage_rule_is_judged_on_the_history_before_the_move(registry):
    write("model.bin", "weights")
    with wandb.init(project="demo", job_type="train", id="train000") as run:
        model = wandb.Artifact("model", type="model", metadata={"accuracy": 0.9})
        model.add_file("model.bin")
        run.log_artifact(model)
    ctx = Context.open(registry.root)
    gate = {"production": StageGate((), requires_previous_stage=True)}
    promotion.create_registry(ctx, "alpha", stages=["staging", "production"], gates=gate)
    wandb.Api().artifact("demo/model:v0").link("model-registry/alpha", aliases=["staging"])
    path = registry_alias_file("alpha", "model", "production")
    staging = (registry.root / registry_alias_file("alpha", "model", "staging")).read_text()
    commit(registry.root, {path: staging}, "alias production by hand")
    row = _rows(_pages(registry.root)["registries/alpha/model.md"], "Stage history")[0]
    assert ">pass</span> <small>(judged now)" in row and "held staging: pass" in row


@pytest.mark.parametrize(
    ("remote", "link"),
    [
        ("https://github.com/acme/models.git", "https://github.com/acme/models/pull/7"),
        ("git@github.com:acme/models.git", "https://github.com/acme/models/pull/7"),
        ("https://gitlab.example/acme/models.git", None),
    ],
)
def test_pull_request_numbers_link_only_to_a_github_remote(registry, remote, link):
    write("model.bin", "weights")
    with wandb.init(project="demo", job_type="train", id="train000") as run:
        model = wandb.Artifact("model", type="model")
        model.add_file("model.bin")
        run.log_artifact(model)
    ctx = Context.open(registry.root)
    promotion.create_registry(ctx, "alpha", stages=["staging"])
    wandb.Api().artifact("demo/model:v0").link("model-registry/alpha", aliases=["staging"])
    path = registry_alias_file("alpha", "model", "staging")
    moved = (registry.root / path).read_text()
    # A squash merge's subject on the branch gives the number.
    commit(registry.root, {path: moved + "reason: again\n"}, "alias staging again (#7)")
    git(registry.root, "remote", "add", "origin", remote)
    pages = _pages(registry.root)
    row = _rows(pages["registries/alpha/model.md"], "Stage history")[0]
    home = pages["index.md"]
    if link is None:
        assert "<td>#7</td>" in row and "<a href" not in row.split("<td>#7")[0][-40:]
        assert "pull/7" not in row and "pull/7" not in home and "#7" in home
    else:
        assert f'<a href="{link}">#7</a>' in row
        assert f'<a href="{link}">#7</a>' in home


def test_hostile_stage_name_and_reason_are_escaped(two_registries):
    hostile = '<img src=x onerror="window.__pwned=1">'
    ctx = Context.open(two_registries.root)
    data = load(ctx)
    # The schema keeps such a stage name out of the repo; the pages escape it all the same.
    alpha = data.registries[0]
    alpha.config = replace(alpha.config, stages=(hostile, *alpha.config.stages))
    held = alpha.collections[0]
    held.aliases[hostile] = held.aliases["staging"]
    last = held.history[-1]
    held.history.append(replace(last, alias=hostile, reason=hostile, commit="0" * 40))
    renderer = Renderer(ctx, data, environment(ctx, None), kinds.BY_NAME)
    nav.render_home(renderer)
    nav.render_registries(renderer)
    nav.render_projects(renderer)
    for name, page in renderer.pages.items():
        assert "<img src=x" not in page, name
    escaped = "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;"
    assert escaped in renderer.pages["index.md"]  # a column
    assert escaped in renderer.pages["artifacts/demo/index.md"]  # a stage v2 holds
    # a column of the links, the stage of a move, its reason
    assert renderer.pages["registries/alpha/model.md"].count(escaped) >= 3


def test_a_project_whose_versions_hold_no_stage_has_no_stages_column(registry):
    write("data.csv", "x\n1\n")
    with wandb.init(project="demo", job_type="prepare", id="prep0000") as run:
        data = wandb.Artifact("data", type="dataset")
        data.add_file("data.csv")
        run.log_artifact(data)
    promotion.create_registry(Context.open(registry.root), "alpha", stages=["staging"])
    pages = _pages(registry.root)
    assert "Stages" not in _columns(pages["artifacts/demo/index.md"])
    assert "No collections yet; stages staging." in pages["index.md"]
