"""``wandb.Api()`` as W&B users call it, and the entity names a registry answers to.

Each query is taken at its boundary: what it finds, what it does not (False, or a
``NotFoundError`` that is also W&B's ``CommError`` and a ``ValueError``), overrides
used as defaults, run filters that match and that do not, an entity declared and one
that is not.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import registry_tool as wandb
from registry_tool import _schemas as schemas
from registry_tool._engine import Context
from registry_tool._promotion import create_registry
from registry_tool._store import init_registry
from registry_tool.errors import (
    CommError,
    DocumentError,
    InvalidNameError,
    NotFoundError,
    UnsupportedError,
    UsageError,
)
from tests.helpers import cli_error, cli_out, commit, write


def log(project: str, name: str, type: str = "dataset", content: str = "x", **init: Any) -> Any:
    write(f"src/{name}.txt", content)
    with wandb.init(project=project, **init) as run:
        art = wandb.Artifact(name, type=type)
        art.add_file(f"src/{name}.txt")
        run.log_artifact(art)
    return art


def link(project: str, name: str, target: str, content: str = "w") -> Any:
    """Log a model and link it into ``target``, as a training script does."""
    write(f"src/{name}.pth", content)
    with wandb.init(project=project) as run:
        art = wandb.Artifact(name, type="model")
        art.add_file(f"src/{name}.pth")
        run.log_artifact(art)
        run.link_artifact(art, target)
    return art


def declare(registry: Any, *entities: str) -> None:
    """Declare entities in registry.yaml, as an admin would by a reviewed commit."""
    path = Path(registry.root) / "registry.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["entities"] = list(entities)
    commit(Path(registry.root), {"registry.yaml": yaml.safe_dump(doc)}, "entities")


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A registry made with ``init --entity my-team``."""
    store = init_registry(tmp_path / "team-registry", name="team-registry", entities=["my-team"])
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(store.root))
    return store


# -- entities --------------------------------------------------------------------------


def test_init_writes_the_entities_and_an_old_registry_yaml_has_none(registry, team):
    doc = yaml.safe_load((Path(team.root) / "registry.yaml").read_text())
    assert doc["entities"] == ["my-team"]
    assert Context.open(team.root).entities == ("team-registry", "my-team")
    # the registry fixture's file has no entities field: it answers to its name only
    assert "entities" not in yaml.safe_load((Path(registry.root) / "registry.yaml").read_text())
    assert Context.open(registry.root).entities == ("test-registry",)


def test_init_refuses_a_bad_entity_name_and_writes_nothing(tmp_path):
    with pytest.raises(InvalidNameError, match="entity"):
        init_registry(tmp_path / "r", name="r", entities=["my team"])
    assert not (tmp_path / "r").exists()


def test_schema_names_a_bad_entity_in_registry_yaml():
    doc = {
        "kind": "registry",
        "format": 1,
        "name": "r",
        "created_at": "2024-01-01T00:00:00Z",
        "storage": {"url": ".blobs"},
        "entities": ["ok", "-bad"],
    }
    with pytest.raises(DocumentError, match=r"registry\.yaml: \$\.entities\[1\]"):
        schemas.validate(doc, "registry", "registry.yaml")
    doc["entities"] = ["ok", "ok"]
    with pytest.raises(DocumentError, match=r"\$\.entities"):
        schemas.validate(doc, "registry", "registry.yaml")


def test_a_runs_declared_entity_finds_its_artifact_from_api(team):
    art = log("data-eng", "shared-dataset", entity="my-team")
    api = wandb.Api()
    for path in (
        "my-team/data-eng/shared-dataset:latest",
        "team-registry/data-eng/shared-dataset:v0",
        "data-eng/shared-dataset:latest",
    ):
        assert api.artifact(path).digest == art.digest
    assert api.artifact_exists("my-team/data-eng/shared-dataset:v0")
    assert api.run(f"my-team/data-eng/{api.runs('my-team/data-eng')[0].id}").project == "data-eng"


def test_an_unknown_entity_is_one_error_naming_the_entities(team):
    log("p", "a")
    api = wandb.Api()
    with pytest.raises(NotFoundError) as info:
        api.artifact("other-team/p/a:v0")
    message = str(info.value)
    assert "'other-team'" in message and "team-registry" in message and "my-team" in message
    assert isinstance(info.value, CommError) and isinstance(info.value, ValueError)
    assert api.artifact_exists("other-team/p/a:v0") is False
    with pytest.raises(UsageError, match=r"entity 'other-team'.*team-registry, my-team"):
        Context.open().check_entity("other-team")
    assert Context.open().check_entity("my-team") == "my-team"


def test_entities_declared_later_by_a_commit_are_answered_to(registry):
    log("p", "a")
    with pytest.raises(NotFoundError, match="entity 'ml-team'"):
        wandb.Api().artifact("ml-team/p/a:v0")
    declare(registry, "ml-team")
    assert wandb.Api().artifact("ml-team/p/a:v0").version == "v0"


def test_a_registry_path_checks_its_entity_too(team):
    link("p", "clf", "model-registry/prod")
    api = wandb.Api()
    assert api.artifact("my-team/model-registry/prod/clf:v0").digest
    with pytest.raises(NotFoundError, match="entity 'nobody'"):
        api.artifact("nobody/model-registry/prod/clf:v0")


# -- Api(overrides) ----------------------------------------------------------------------


def test_overrides_dict_is_the_default_project_and_entity(team):
    log("p1", "a", content="one")
    log("p2", "a", content="two")
    with pytest.raises(UsageError, match="several projects"):
        wandb.Api().artifact("a:v0")
    api = wandb.Api({"project": "p2", "entity": "my-team"})
    assert api.default_entity == "my-team"
    assert api.settings["project"] == "p2"
    assert api.artifact("a:v0").digest == wandb.Api().artifact("p2/a:v0").digest
    assert [r.project for r in api.runs()] == ["p2"]
    assert api.artifact_collection_exists("a", "dataset")
    assert wandb.Api().default_entity == "team-registry"
    with pytest.raises(UsageError, match=r"entity 'nope'.*team-registry, my-team"):
        wandb.Api(overrides={"entity": "nope"})
    with pytest.raises(UsageError, match="overrides"):
        wandb.Api(overrides={"projekt": "p"})
    assert wandb.Api(timeout=30, api_key=None).default_entity == "team-registry"


# -- artifacts ---------------------------------------------------------------------------


def test_artifacts_by_wandb_keywords_and_positionally(registry):
    for i in range(3):
        log("p", "a", content=str(i))
    log("p", "m", type="model")
    api = wandb.Api()
    by_keyword = api.artifacts(type_name="dataset", name="p/a")
    assert [a.version for a in by_keyword] == ["v0", "v1", "v2"]
    assert [a.version for a in api.artifacts("dataset", "test-registry/p/a", per_page=1)] == [
        "v0",
        "v1",
        "v2",
    ]
    assert [a.version for a in api.artifacts("p", "a")] == ["v0", "v1", "v2"]
    in_p = wandb.Api({"project": "p"})
    assert [a.version for a in in_p.artifacts("dataset", "a")] == ["v0", "v1", "v2"]
    with pytest.raises(UsageError, match="name the project"):
        api.artifacts("dataset", "a")
    with pytest.raises(NotFoundError, match="type 'dataset', not 'model'"):
        api.artifacts(type_name="model", name="p/a")
    with pytest.raises(NotFoundError, match="p/nothing") as info:
        api.artifacts("dataset", "p/nothing")
    assert isinstance(info.value, ValueError)
    with pytest.warns(DeprecationWarning, match="artifacts"):
        assert len(api.artifact_versions("dataset", "p/a")) == 3


def test_artifact_with_a_type_and_exists_at_its_boundary(registry):
    log("p", "a")
    api = wandb.Api()
    assert api.artifact("p/a:v0", type="dataset").type == "dataset"
    with pytest.raises(NotFoundError, match="not 'model'"):
        api.artifact("p/a:v0", type="model")
    assert api.artifact_exists("p/a:v0", type="dataset") is True
    assert api.artifact_exists("p/a:v0", type="model") is False
    assert api.artifact_exists("p/a:v1") is False
    assert api.artifact_exists("p/b:v0") is False
    with pytest.raises(InvalidNameError):
        api.artifact_exists("p/bad name:v0")


# -- collections and types ---------------------------------------------------------------


def test_artifact_collection_and_exists(registry):
    log("p", "a")
    log("p", "a", content="again")
    api = wandb.Api()
    coll = api.artifact_collection("dataset", "p/a")
    assert (coll.name, coll.type, coll.project, coll.entity) == (
        "a",
        "dataset",
        "p",
        "test-registry",
    )
    assert [v.version for v in coll.versions()] == ["v0", "v1"]
    assert "latest" in coll.aliases
    assert api.artifact_collection("dataset", "test-registry/p/a:latest").name == "a"
    assert api.artifact_collection_exists("p/a", "dataset") is True
    assert api.artifact_collection_exists("p/a", "model") is False
    assert api.artifact_collection_exists("p/b", "dataset") is False
    with pytest.raises(NotFoundError, match=r"p/b") as info:
        api.artifact_collection("dataset", "p/b")
    assert isinstance(info.value, CommError) and isinstance(info.value, ValueError)
    with pytest.raises(NotFoundError, match="not 'model'"):
        api.artifact_collection("model", "p/a")


def test_artifact_collections_and_types_of_a_project(registry):
    log("p", "a")
    log("p", "b")
    log("p", "m", type="model")
    log("q", "other")
    api = wandb.Api()
    assert [c.name for c in api.artifact_collections("p", "dataset")] == ["a", "b"]
    assert [c.name for c in api.artifact_collections(project_name="p", type_name="model")] == ["m"]
    assert api.artifact_collections("p", "code") == []
    with pytest.raises(NotFoundError, match="project 'nowhere'"):
        api.artifact_collections("nowhere", "dataset")
    types = api.artifact_types("p")
    assert [t.name for t in types] == ["dataset", "model"]
    dataset = api.artifact_type("dataset", "p")
    assert (dataset.name, dataset.type, dataset.project) == ("dataset", "dataset", "p")
    assert [c.name for c in dataset.collections()] == ["a", "b"]
    assert dataset.collection("b").name == "b"
    with pytest.raises(NotFoundError, match="no artifacts of type 'code'"):
        api.artifact_type("code", "p")
    with pytest.raises(UsageError, match="project"):
        api.artifact_types()
    assert [t.name for t in wandb.Api({"project": "q"}).artifact_types()] == ["dataset"]


# -- projects and registries -------------------------------------------------------------


def test_projects_and_project(team):
    log("p", "a")
    log("q", "m", type="model")
    api = wandb.Api()
    assert [p.name for p in api.projects()] == ["p", "q"]
    assert [p.name for p in api.projects("my-team")] == ["p", "q"]
    project = api.project("q", entity="my-team")
    assert (project.name, project.entity, project.path) == ("q", "my-team", ["my-team", "q"])
    assert [t.name for t in project.artifacts_types()] == ["model"]
    assert [r.project for r in project.runs()] == ["q"]
    with pytest.raises(NotFoundError, match="project 'r'"):
        api.project("r")
    with pytest.raises(NotFoundError, match="entity 'x'"):
        api.projects("x")


def test_registries_their_collections_and_versions(registry):
    link("p", "clf", "model-registry/prod")
    link("p", "clf", "model-registry/prod", content="better")
    create_registry(Context.open(), "research")
    api = wandb.Api()
    assert [r.name for r in api.registries()] == ["prod", "research"]
    assert [r.name for r in api.registries(filter={"name": "prod"})] == ["prod"]
    assert [r.name for r in api.registries(filter={"name": {"$regex": "^res"}})] == ["research"]
    coll = api.artifact_collection("model", "model-registry/prod/clf")
    assert (coll.project, coll.is_sequence()) == ("model-registry/prod", False)
    assert [v.version for v in coll.versions()] == ["v0", "v1"]
    assert api.artifact_collection_exists("model-registry/prod/other", "model") is False
    assert api.artifact_collection_exists("model-registry/nope/clf", "model") is False
    prod = api.registry("prod")
    assert [c.name for c in prod.collections()] == ["clf"]
    assert [v.version for v in prod.versions()] == ["v0", "v1"]
    assert api.registry("research").collections() == []
    with pytest.raises(NotFoundError, match="no model registry 'staging'"):
        api.registry("staging")


# -- runs ----------------------------------------------------------------------------------


@pytest.fixture
def three_runs(registry: Any) -> list[str]:
    ids = []
    for lr, tags, group in ((0.1, ["baseline"], "a"), (0.01, ["tuned", "best"], "b"), (1, [], "a")):
        with wandb.init(
            project="p", config={"lr": lr, "opt": {"name": "adam"}}, tags=tags, group=group
        ) as run:
            ids.append(run.id)
    with wandb.init(project="other", config={"lr": 0.1}):
        pass
    return ids


def run_ids(runs: Any) -> list[str]:
    return sorted(r.id for r in runs)


def test_runs_filters_match_and_do_not(three_runs):
    a, b, c = three_runs
    api = wandb.Api()
    assert run_ids(api.runs("test-registry/p")) == sorted([a, b, c])
    assert run_ids(api.runs("p", filters={"config.lr": 0.1})) == [a]
    assert run_ids(api.runs("p", filters={"config.lr.value": 0.1})) == [a]
    assert run_ids(api.runs("p", filters={"config.lr": 0.5})) == []
    assert run_ids(api.runs("p", filters={"config.opt.name": "adam"})) == sorted([a, b, c])
    assert run_ids(api.runs("p", filters={"state": "finished"})) == sorted([a, b, c])
    assert run_ids(api.runs("p", filters={"state": "running"})) == []
    assert run_ids(api.runs("p", filters={"tags": "best"})) == [b]
    assert run_ids(api.runs("p", filters={"tags": {"$in": ["baseline", "tuned"]}})) == sorted(
        [a, b]
    )
    assert run_ids(api.runs("p", filters={"tags": {"$nin": ["baseline"]}})) == sorted([b, c])
    assert run_ids(api.runs("p", filters={"config.lr": {"$gt": 0.1}})) == [c]
    assert run_ids(api.runs("p", filters={"config.lr": {"$gte": 0.1}})) == sorted([a, c])
    assert run_ids(api.runs("p", filters={"config.lr": {"$lt": 0.1}})) == [b]
    assert run_ids(api.runs("p", filters={"config.lr": {"$lte": 0.01}})) == [b]
    assert run_ids(api.runs("p", filters={"config.lr": {"$ne": 0.1}})) == sorted([b, c])
    assert run_ids(api.runs("p", filters={"config.missing": {"$exists": False}})) == sorted(
        [a, b, c]
    )
    both = {"$and": [{"group": "a"}, {"config.lr": {"$lt": 0.5}}]}
    assert run_ids(api.runs("p", filters=both)) == [a]
    either = {"$or": [{"tags": "best"}, {"config.lr": 1}]}
    assert run_ids(api.runs("p", filters=either)) == sorted([b, c])
    # a string never compares with a number: no match, not an error
    assert run_ids(api.runs("p", filters={"group": {"$gt": 1}})) == []
    assert run_ids(api.runs("p", filters={"display_name": {"$regex": "^run-"}})) == sorted(
        [a, b, c]
    )


def test_runs_order_and_unsupported_filters(three_runs):
    a, b, c = three_runs
    api = wandb.Api()
    assert [r.id for r in api.runs("p", order="+config.lr")] == [b, a, c]
    assert [r.id for r in api.runs("p", order="-config.lr")] == [c, a, b]
    assert [r.id for r in api.runs("p", order="+created_at")] == [a, b, c]
    with pytest.raises(UnsupportedError, match=r"\$where"):
        api.runs("p", filters={"$where": "this.lr > 0"})
    with pytest.raises(UnsupportedError, match=r"\$elemMatch"):
        api.runs("p", filters={"tags": {"$elemMatch": {"$eq": "x"}}})
    with pytest.raises(UsageError, match=r"\$in.*list"):
        api.runs("p", filters={"tags": {"$in": "best"}})
    with pytest.raises(UsageError, match="filters"):
        api.runs("p", filters=["state"])
    with pytest.raises(NotFoundError, match="entity 'other'"):
        api.runs("other/p")
    with pytest.raises(UsageError, match="path"):
        api.runs("a/b/c")
    assert api.runs("empty-project") == []


def test_run_by_path(three_runs):
    a = three_runs[0]
    api = wandb.Api()
    assert api.run(f"p/{a}").id == a
    assert api.run(f"test-registry/p/{a}").id == a
    assert wandb.Api({"project": "p"}).run(a).id == a
    with pytest.raises(NotFoundError, match="does not exist") as info:
        api.run("p/nosuchrun")
    assert isinstance(info.value, ValueError)
    with pytest.raises(NotFoundError, match="entity 'x'"):
        api.run(f"x/p/{a}")


def test_server_only_calls_are_refused_by_name(registry):
    api = wandb.Api()
    with pytest.raises(UnsupportedError, match=r"Api\.create_project\(\)"):
        api.create_project("p", "e")
    with pytest.raises(UnsupportedError, match=r"Api\.create_registry\(\).*registry create"):
        api.create_registry("r", "organization")
    with pytest.raises(UnsupportedError, match=r"Api\.from_path\(\)"):
        api.from_path("e/p/runs/x")
    api.flush()  # nothing is cached between calls: nothing to clear


def test_no_deprecation_warning_from_the_current_names(registry):
    log("p", "a")
    api = wandb.Api()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.artifacts("dataset", "p/a")
        api.artifact_collection("dataset", "p/a")


def test_init_entity_declares_what_the_registry_answers_to(tmp_path, monkeypatch):
    root = tmp_path / "team-registry"
    made = json.loads(cli_out("init", str(root), "--entity", "my-team", "--entity", "ml", "--json"))
    assert made["name"] == "team-registry"
    assert yaml.safe_load((root / "registry.yaml").read_text())["entities"] == ["my-team", "ml"]
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(root))
    with wandb.init(project="p", entity="my-team") as run:
        assert run.entity == "my-team"
    with pytest.raises(wandb.errors.UsageError, match=r"unknown.*team-registry"):
        wandb.init(project="p", entity="unknown")
    bad = tmp_path / "bad"
    assert "entity" in cli_error("init", str(bad), "--entity", "Not A Name")
    assert not bad.exists()
