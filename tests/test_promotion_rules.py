"""The rules of model registries, each on its own: a stage's gates and its
previous-stage order (``check_stage``, ``require``), the registry documents as values,
what creating, linking, moving a stage and unlinking refuse and what they write, and
what a promotion does in each mode. Every test runs on a real registry repo."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from registry_tool import _promotion as promotion
from registry_tool import _verbs as ops
from registry_tool._engine.context import Context
from registry_tool._model.gates import GateResult
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.records import VersionRecord
from registry_tool._promotion import StageCheck, check_stage, require
from registry_tool.errors import (
    ArtifactError,
    GateError,
    InvalidNameError,
    NotFoundError,
    ProtectedAliasError,
    UsageError,
)
from tests.helpers import git, git_log, write

STAGES = ("development", "staging", "production")
ALIASES = "registries/models/clf/aliases"


def log(
    root: Path, content: str, *, name: str = "clf", kind: str = "model", **metadata: object
) -> VersionRecord:
    """A new version of training/<name> holding one file, with ``metadata``."""
    payload = write(Path(f"payload-{uuid.uuid4().hex[:8]}") / "model.pth", content)
    art = ops.log_path(payload, f"training/{name}", kind, metadata=metadata, registry=root)
    ctx = Context.open(root)
    record = ctx.store.read_version(ctx.store.head(), "training", name, int(art.version[1:]))
    assert record is not None
    return record


def governed(root: Path, **gates: StageGate) -> Context:
    """``models``: three stages, production protected, the gates given."""
    ctx = Context.open(root)
    promotion.create_registry(
        ctx, "models", stages=STAGES, protected=["production"], types=["model"], gates=gates
    )
    return ctx


def head_sha(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")


def alias_file(root: Path, stage: str) -> Path:
    return root / ALIASES / f"{stage}.yaml"


# -- the registry documents as values ------------------------------------------------------


def test_a_stage_gate_as_a_document():
    assert StageGate().to_doc() == {"conditions": []}
    assert StageGate(("f1 >= 0.9",), True).to_doc() == {
        "conditions": ["f1 >= 0.9"],
        "requires_previous_stage": True,
    }
    assert StageGate.from_doc({}) == StageGate((), False)
    assert StageGate.from_doc({"conditions": None}) == StageGate((), False)
    assert StageGate.from_doc(
        {"conditions": ["a > 1", "b < 2"], "requires_previous_stage": True}
    ) == StageGate(("a > 1", "b < 2"), True)
    assert StageGate.from_doc({"conditions": [], "requires_previous_stage": False}) == StageGate()


def test_a_model_registry_config_as_a_document():
    config = ModelRegistryConfig(
        name="models",
        created_at="2026-01-01T00:00:00Z",
        stages=STAGES,
        protected=("production",),
        types=("model",),
        gates={"production": StageGate(("f1 >= 0.9",), True), "staging": StageGate()},
        description="what we ship",
    )
    doc = config.to_doc()
    assert doc == {
        "kind": "model-registry",
        "name": "models",
        "created_at": "2026-01-01T00:00:00Z",
        "description": "what we ship",
        "stages": list(STAGES),
        "protected": ["production"],
        "types": ["model"],
        "gates": {
            "production": {"conditions": ["f1 >= 0.9"], "requires_previous_stage": True},
            "staging": {"conditions": []},
        },
    }
    assert ModelRegistryConfig.from_doc(doc) == config
    plain = ModelRegistryConfig(name="r", created_at="2026-01-01T00:00:00Z")
    assert "description" not in plain.to_doc()
    assert (
        ModelRegistryConfig.from_doc({"name": "r", "created_at": "2026-01-01T00:00:00Z"}) == plain
    )
    assert (
        ModelRegistryConfig.from_doc(
            {
                "name": "r",
                "created_at": "2026-01-01T00:00:00Z",
                "stages": None,
                "protected": None,
                "types": None,
                "gates": None,
            }
        )
        == plain
    )


def test_a_config_refuses_a_gate_that_does_not_parse():
    with pytest.raises(UsageError, match="gate 'f1 > high': 'high' is not a number"):
        ModelRegistryConfig(
            name="r",
            created_at="2026-01-01T00:00:00Z",
            stages=("prod",),
            gates={"prod": StageGate(("f1 > 0.5", "f1 > high"))},
        )


def test_stage_order_and_gates_of_a_config():
    gate = StageGate(("f1 >= 0.9",), True)
    config = ModelRegistryConfig(
        name="r", created_at="2026-01-01T00:00:00Z", stages=STAGES, gates={"production": gate}
    )
    assert config.previous_stage("development") is None
    assert config.previous_stage("staging") == "development"
    assert config.previous_stage("production") == "staging"
    assert config.previous_stage("archived") is None
    assert config.gate("production") is gate
    assert config.gate("staging") == StageGate()


def test_a_link_as_a_document():
    link = LinkRecord("models", "clf", 3, "training", "clf", 7, "d" * 64, "2026-01-01T00:00:00Z")
    assert (link.path, link.source_path) == ("model-registry/models/clf:v3", "training/clf:v7")
    doc = link.to_doc()
    assert doc == {
        "kind": "link",
        "registry": "models",
        "collection": "clf",
        "version": 3,
        "source": {"artifact": "training/clf", "version": 7, "digest": "d" * 64},
        "linked_at": "2026-01-01T00:00:00Z",
    }
    assert LinkRecord.from_doc(doc) == link
    full = LinkRecord(
        "models", "clf", 3, "training", "clf", 7, "d" * 64, "2026-01-01T00:00:00Z", "Ada", "r1"
    )
    assert full.to_doc()["linked_by"] == "Ada" and full.to_doc()["run"] == "r1"
    assert LinkRecord.from_doc(full.to_doc()) == full


# -- check_stage and require -----------------------------------------------------------------


def test_a_stage_outside_the_registry_is_not_judged(registry):
    ctx = governed(registry.root, production=StageGate(("f1 >= 0.9",), True))
    source = log(registry.root, "w", f1=0.1)
    link = promotion.link_version(ctx, source, "model-registry/models")
    verdict = check_stage(ctx, ctx.store.head(), promotion_config(ctx), link, source, "archived")
    assert verdict == StageCheck("archived")
    assert verdict.passed and verdict.problems() == []


def promotion_config(ctx: Context) -> ModelRegistryConfig:
    from registry_tool._store import registries

    config = registries.read_config(ctx.store, ctx.store.head(), "models")
    assert config is not None
    return config


def test_each_gate_is_judged_on_the_source_metadata(registry):
    ctx = governed(registry.root, production=StageGate(("f1 >= 0.9", "loss < 0.3", "size > 1")))
    source = log(registry.root, "w", f1=0.95, loss=0.4)
    link = promotion.link_version(ctx, source, "model-registry/models")
    verdict = check_stage(ctx, ctx.store.head(), promotion_config(ctx), link, source, "production")
    assert verdict == StageCheck(
        "production",
        [
            GateResult("f1 >= 0.9", True, 0.95, "f1 is 0.95"),
            GateResult("loss < 0.3", False, 0.4, "loss is 0.4, needs < 0.3"),
            GateResult("size > 1", False, None, "size is not in the metadata"),
        ],
        None,
        None,
    )
    assert not verdict.passed
    assert verdict.problems() == [
        "loss < 0.3: loss is 0.4, needs < 0.3",
        "size > 1: size is not in the metadata",
    ]
    with pytest.raises(GateError) as caught:
        require(verdict, link, "production")
    assert str(caught.value) == (
        "model-registry/models/clf:v0 (training/clf:v0) cannot take 'production': "
        "loss < 0.3: loss is 0.4, needs < 0.3; size > 1: size is not in the metadata"
    )
    assert caught.value.results == verdict.results


def test_require_returns_a_passing_verdict(registry):
    ctx = governed(registry.root, staging=StageGate(("f1 >= 0.9",)))
    source = log(registry.root, "w", f1=0.9)
    link = promotion.link_version(ctx, source, "model-registry/models")
    verdict = check_stage(ctx, ctx.store.head(), promotion_config(ctx), link, source, "staging")
    assert verdict.passed and verdict.held_previous is None
    assert require(verdict, link, "staging") is verdict


def test_the_previous_stage_must_be_held_now_or_before(registry):
    ctx = governed(registry.root, production=StageGate((), True))
    first = log(registry.root, "first")
    second = log(registry.root, "second")
    link0 = promotion.link_version(ctx, first, "model-registry/models")
    link1 = promotion.link_version(ctx, second, "model-registry/models")

    def judge(link: LinkRecord, source: VersionRecord, **kwargs: str) -> StageCheck:
        return check_stage(
            ctx, ctx.store.head(), promotion_config(ctx), link, source, "production", **kwargs
        )

    never = judge(link0, first)
    assert (never.previous_stage, never.held_previous, never.passed) == ("staging", False, False)
    assert never.problems() == ["the version must hold 'staging' before 'production'"]
    with pytest.raises(GateError, match="v0 \\(training/clf:v0\\) cannot take 'production': the"):
        require(never, link0, "production")

    before = head_sha(registry.root)
    promotion.set_aliases(ctx, link0, add=["staging"])
    assert judge(link0, first).held_previous is True  # holds it now
    promotion.set_aliases(ctx, link1, add=["staging"])
    assert judge(link0, first).held_previous is True  # held it before
    assert judge(link1, second).held_previous is True
    # Judged by the history up to a commit before staging was ever moved, link0 never
    # held it; link1 holds it in the snapshot judged, whatever the history says.
    assert judge(link0, first, ref=before).held_previous is False
    assert judge(link1, second, ref=before).held_previous is True


def test_the_previous_stage_rule_needs_its_flag_and_a_previous_stage(registry):
    ctx = governed(
        registry.root,
        development=StageGate((), True),  # the first stage has none before it
        production=StageGate(("f1 > 0.5",), False),
    )
    source = log(registry.root, "w", f1=0.4)
    link = promotion.link_version(ctx, source, "model-registry/models")
    config = promotion_config(ctx)
    first = check_stage(ctx, ctx.store.head(), config, link, source, "development")
    assert first == StageCheck("development", [], None, None) and first.passed
    unordered = check_stage(ctx, ctx.store.head(), config, link, source, "production")
    assert (unordered.previous_stage, unordered.held_previous) == (None, None)
    # Gates first, then the order.
    both = StageCheck("production", unordered.results, "staging", False)
    assert both.problems() == [
        "f1 > 0.5: f1 is 0.4, needs > 0.5",
        "the version must hold 'staging' before 'production'",
    ]


# -- creating a registry -----------------------------------------------------------------------


def test_create_registry_writes_its_config_in_one_commit(registry):
    ctx = Context.open(registry.root)
    before = head_sha(registry.root)
    config = promotion.create_registry(
        ctx,
        "models",
        stages=["staging", "production"],
        protected=["production"],
        types=["model"],
        gates={"production": StageGate(("f1 >= 0.9",))},
        description="ours",
    )
    assert git(registry.root, "rev-parse", "HEAD~1") == before
    assert git_log(registry.root)[0] == "registry create models"
    doc = yaml.safe_load((registry.root / "registries/models/registry.yaml").read_text())
    assert doc == config.to_doc()
    assert (config.stages, config.protected, config.types) == (
        ("staging", "production"),
        ("production",),
        ("model",),
    )
    assert config.description == "ours"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "-bad"}, InvalidNameError, "invalid registry name '-bad'"),
        ({"stages": ["v1"]}, InvalidNameError, "invalid alias 'v1'"),
        ({"protected": ["bad name"]}, InvalidNameError, "invalid alias 'bad name'"),
        ({"types": ["-t"]}, InvalidNameError, "invalid artifact type '-t'"),
        (
            {"stages": ["dev"], "gates": {"prod": StageGate()}},
            UsageError,
            "gate for 'prod', which is not one of the stages ['dev']",
        ),
    ],
)
def test_create_registry_refuses(registry, kwargs, error, message):
    ctx = Context.open(registry.root)
    before = head_sha(registry.root)
    with pytest.raises(error) as caught:
        promotion.create_registry(ctx, **{"name": "models", **kwargs})
    assert str(caught.value).startswith(message), str(caught.value)
    assert head_sha(registry.root) == before


def test_create_registry_refuses_an_existing_one(registry):
    ctx = Context.open(registry.root)
    promotion.create_registry(ctx, "models")
    before = head_sha(registry.root)
    with pytest.raises(UsageError) as caught:
        promotion.create_registry(ctx, "models", stages=["x"])
    assert str(caught.value) == "model registry 'models' already exists"
    assert head_sha(registry.root) == before


# -- linking -------------------------------------------------------------------------------------


def test_linking_into_a_new_registry_creates_it_plain(registry):
    ctx = Context.open(registry.root)
    source = log(registry.root, "w")
    link = promotion.link_version(ctx, source, "model-registry/fresh", ["candidate"], run="r9")
    assert link == LinkRecord(
        "fresh",
        "clf",
        0,
        "training",
        "clf",
        0,
        source.digest,
        link.linked_at,
        ctx.author(),
        "r9",
    )
    assert git_log(registry.root)[0] == (
        "link training/clf:v0 -> model-registry/fresh/clf:v0 +latest +candidate"
    )
    doc = yaml.safe_load((registry.root / "registries/fresh/registry.yaml").read_text())
    assert (doc["stages"], doc["protected"], doc["types"], doc["gates"]) == ([], [], [], {})
    root = registry.root / "registries/fresh/clf"
    assert yaml.safe_load((root / "links/v0.yaml").read_text()) == link.to_doc()
    assert sorted(p.name for p in (root / "aliases").iterdir()) == ["candidate.yaml", "latest.yaml"]


def test_linking_the_same_bytes_again_returns_the_link_unless_unlinked(registry):
    ctx = governed(registry.root)
    first = log(registry.root, "same")
    link = promotion.link_version(ctx, first, "model-registry/models/named")
    assert link.collection == "named"
    before = head_sha(registry.root)
    assert promotion.link_version(ctx, first, "model-registry/models/named") == link
    assert head_sha(registry.root) == before  # nothing to write
    other = log(registry.root, "other")
    assert promotion.link_version(ctx, other, "model-registry/models/named").version == 1
    promotion.unlink(ctx, link)
    again = promotion.link_version(ctx, first, "model-registry/models/named")
    assert (again.version, again.source_version) == (2, 0)
    # Linked again, the same bytes find that live link past the unlinked one.
    assert promotion.link_version(ctx, first, "model-registry/models/named") == again


def test_linking_refuses_a_type_the_registry_does_not_take(registry):
    ctx = governed(registry.root)
    data = log(registry.root, "rows", name="data", kind="dataset")
    before = head_sha(registry.root)
    with pytest.raises(ArtifactError) as caught:
        promotion.link_version(ctx, data, "model-registry/models")
    assert str(caught.value) == "model-registry/models takes model artifacts, not 'dataset'"
    assert head_sha(registry.root) == before


def test_linking_into_a_protected_or_gated_stage(registry):
    ctx = governed(registry.root, staging=StageGate(("f1 >= 0.9",)))
    weak = log(registry.root, "weak", f1=0.5)
    with pytest.raises(ProtectedAliasError) as caught:
        promotion.link_version(ctx, weak, "model-registry/models", ["production"])
    assert str(caught.value) == (
        "'production' is protected in model-registry/models: it moves only by a reviewed "
        "promotion: registry-tool promote model-registry/models/clf:v0 --to production --pr"
    )
    with pytest.raises(GateError, match=r"cannot take 'staging': f1 >= 0\.9: f1 is 0\.5"):
        promotion.link_version(ctx, weak, "model-registry/models", ["staging"])
    assert not (registry.root / "registries/models/clf").exists()
    # A promotion may move a protected stage, its gates still judged.
    promotion.link_version(ctx, weak, "model-registry/models", ["production"], allow_protected=True)
    assert alias_file(registry.root, "production").is_file()


# -- moving and dropping stages -----------------------------------------------------------------


def test_set_aliases_moves_and_drops_with_its_message(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    promotion.set_aliases(ctx, link, add=["staging", "development"], reason="eval passed")
    assert git(registry.root, "log", "-1", "--format=%B") == (
        "alias model-registry/models/clf:v0 +staging +development\n\neval passed"
    )
    promotion.set_aliases(ctx, link, remove=["staging"], message="custom")
    assert git_log(registry.root)[0] == "custom"
    assert not alias_file(registry.root, "staging").exists()
    assert alias_file(registry.root, "development").exists()
    promotion.set_aliases(ctx, link, remove=["development"])
    assert git_log(registry.root)[0] == "alias model-registry/models/clf:v0 -development"


def test_set_aliases_drops_only_what_the_link_holds(registry):
    ctx = governed(registry.root)
    link0 = promotion.link_version(ctx, log(registry.root, "a"), "model-registry/models")
    link1 = promotion.link_version(ctx, log(registry.root, "b"), "model-registry/models")
    promotion.set_aliases(ctx, link1, add=["staging"])
    before = head_sha(registry.root)
    assert promotion.set_aliases(ctx, link0, remove=["staging", "development"]) is None
    assert head_sha(registry.root) == before
    assert yaml.safe_load(alias_file(registry.root, "staging").read_text())["version"] == 1


def test_set_aliases_refuses_to_drop_a_protected_stage(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    promotion.set_aliases(ctx, link, add=["production"], allow_protected=True)
    before = head_sha(registry.root)
    with pytest.raises(ProtectedAliasError) as caught:
        promotion.set_aliases(ctx, link, remove=["production"])
    assert str(caught.value) == (
        "'production' is protected in model-registry/models: it moves off "
        "model-registry/models/clf:v0 only by a reviewed promotion of another version "
        "(registry-tool promote model-registry/models/clf:<version> --to production --pr)"
    )
    assert head_sha(registry.root) == before
    promotion.set_aliases(ctx, link, remove=["production"], allow_protected=True)
    assert not alias_file(registry.root, "production").exists()


def test_set_aliases_needs_the_registry_and_the_source(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    elsewhere = LinkRecord("ghost", "clf", 0, "training", "clf", 0, link.digest, link.linked_at)
    with pytest.raises(NotFoundError) as caught:
        promotion.set_aliases(ctx, elsewhere, add=["staging"])
    assert str(caught.value) == "there is no model registry 'ghost'"
    orphan = LinkRecord("models", "clf", 0, "training", "gone", 4, link.digest, link.linked_at)
    with pytest.raises(NotFoundError) as caught:
        promotion.set_aliases(ctx, orphan, add=["staging"])
    assert str(caught.value) == (
        "model-registry/models/clf:v0 links training/gone:v4, which does not exist"
    )
    with pytest.raises(InvalidNameError):
        promotion.set_aliases(ctx, link, remove=["v1"])


# -- unlinking -------------------------------------------------------------------------------------


def test_unlink_marks_the_link_and_drops_its_stages(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    other = promotion.link_version(ctx, log(registry.root, "x"), "model-registry/models")
    promotion.set_aliases(ctx, link, add=["staging"])
    promotion.set_aliases(ctx, other, add=["development"])
    promotion.unlink(ctx, link, reason="leaked labels")
    assert git_log(registry.root)[0] == "unlink model-registry/models/clf:v0"
    mark = yaml.safe_load((registry.root / "registries/models/clf/unlinked/v0.yaml").read_text())
    assert mark == {
        "kind": "unlink",
        "registry": "models",
        "collection": "clf",
        "version": 0,
        "unlinked_at": mark["unlinked_at"],
        "unlinked_by": ctx.author(),
        "reason": "leaked labels",
    }
    assert not alias_file(registry.root, "staging").exists()
    assert alias_file(registry.root, "development").exists()  # another link's stage stays
    assert (registry.root / "registries/models/clf/links/v0.yaml").is_file()
    before = head_sha(registry.root)
    assert promotion.unlink(ctx, link) is None  # once is enough
    assert head_sha(registry.root) == before


def test_unlink_without_a_reason_and_its_refusals(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    promotion.set_aliases(ctx, link, add=["production"], allow_protected=True)
    before = head_sha(registry.root)
    with pytest.raises(ProtectedAliasError) as caught:
        promotion.unlink(ctx, link)
    assert str(caught.value) == (
        "cannot unlink model-registry/models/clf:v0: it holds the protected stage "
        "'production' of model-registry/models/clf; a protected stage moves only by a "
        "reviewed promotion: move it to another version first (registry-tool promote "
        "model-registry/models/clf:<version> --to production --pr)"
    )
    assert head_sha(registry.root) == before
    ghost = LinkRecord("ghost", "clf", 0, "training", "clf", 0, link.digest, link.linked_at)
    with pytest.raises(NotFoundError) as caught:
        promotion.unlink(ctx, ghost)
    assert str(caught.value) == "there is no model registry 'ghost'"
    promotion.set_aliases(ctx, link, remove=["production"], allow_protected=True)
    promotion.unlink(ctx, link)
    mark = yaml.safe_load((registry.root / "registries/models/clf/unlinked/v0.yaml").read_text())
    assert "reason" not in mark


# -- promoting --------------------------------------------------------------------------------------


def test_promote_refuses_an_unknown_mode_a_bad_stage_and_a_stage_not_in_the_registry(registry):
    ctx = governed(registry.root)
    promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    path = "model-registry/models/clf:v0"
    with pytest.raises(UsageError) as caught:
        promotion.promote(ctx, path, "staging", mode="fast")
    assert str(caught.value) == "promotion mode 'fast': use pr, direct or auto"
    with pytest.raises(InvalidNameError):
        promotion.promote(ctx, path, "v2")
    with pytest.raises(UsageError) as caught:
        promotion.promote(ctx, path, "qa")
    assert str(caught.value) == (
        "'qa' is not a stage of model-registry/models (stages: development, staging, production)"
    )


def test_a_registry_without_stages_takes_any_alias(registry):
    ctx = Context.open(registry.root)
    promotion.link_version(ctx, log(registry.root, "w"), "model-registry/open")
    done = promotion.promote(ctx, "model-registry/open/clf:v0", "anything")
    assert (done.mode, done.verdict) == ("direct", StageCheck("anything"))
    assert (registry.root / "registries/open/clf/aliases/anything.yaml").is_file()


def test_promote_direct_auto_and_pr(registry):
    ctx = governed(registry.root)
    promotion.link_version(ctx, log(registry.root, "w", f1=0.9), "model-registry/models")
    path = "model-registry/models/clf:v0"
    with pytest.raises(ProtectedAliasError) as caught:
        promotion.promote(ctx, path, "production", mode="direct")
    assert str(caught.value) == (
        "'production' is protected in model-registry/models: promote through a pull request: "
        f"registry-tool promote {path} --to production --pr"
    )
    staged = promotion.promote(ctx, path, "staging")  # auto, unprotected: direct
    assert (staged.mode, staged.previous, staged.branch) == ("direct", None, None)
    assert staged.commit == head_sha(registry.root)
    assert alias_file(registry.root, "staging").is_file()
    again = promotion.promote(ctx, path, "staging")  # already there: nothing to do
    assert (again.mode, again.previous, again.commit) == ("direct", 0, None)
    assert again.commit is None and head_sha(registry.root) == staged.commit

    main = head_sha(registry.root)
    shipped = promotion.promote(ctx, path, "production")  # auto, protected: a branch
    branch = "promote/models/clf/production/v0"
    assert (shipped.mode, shipped.branch, shipped.pull_request) == ("pr", branch, None)
    assert head_sha(registry.root) == main and not alias_file(registry.root, "production").exists()
    assert git(registry.root, "rev-parse", branch) == shipped.commit
    assert git(registry.root, "rev-parse", f"{branch}~1") == main
    assert git(registry.root, "log", "-1", "--format=%B", branch) == shipped.message
    shown = git(registry.root, "show", f"{branch}:{ALIASES}/production.yaml")
    assert yaml.safe_load(shown)["version"] == 0

    dev = promotion.promote(ctx, path, "development", mode="pr")  # pr, though unprotected
    assert (dev.mode, dev.branch) == ("pr", "promote/models/clf/development/v0")
    assert not alias_file(registry.root, "development").exists()


def test_promote_refuses_a_failing_gate(registry):
    ctx = governed(registry.root, staging=StageGate(("f1 >= 0.9",)))
    promotion.link_version(ctx, log(registry.root, "w", f1=0.8999999), "model-registry/models")
    before = head_sha(registry.root)
    with pytest.raises(GateError) as caught:
        promotion.promote(ctx, "model-registry/models/clf:v0", "staging", mode="pr")
    assert str(caught.value) == (
        "model-registry/models/clf:v0 (training/clf:v0) cannot take 'staging': "
        "f1 >= 0.9: f1 is 0.8999999, needs >= 0.9"
    )
    assert head_sha(registry.root) == before
    assert git(registry.root, "branch", "--list", "promote/*") == ""


def test_promote_a_project_version_links_it_first(registry):
    ctx = Context.open(registry.root)
    log(registry.root, "w")
    with pytest.raises(UsageError) as caught:
        promotion.promote(ctx, "training/clf:v0", "staging")
    assert str(caught.value) == (
        "say which model registry to promote in (--registry NAME); there is none yet"
    )
    governed(registry.root)
    done = promotion.promote(ctx, "training/clf:v0", "staging")  # the one registry
    assert done.link.path == "model-registry/models/clf:v0"
    promotion.create_registry(ctx, "other")
    with pytest.raises(UsageError) as caught:
        promotion.promote(ctx, "training/clf:v0", "staging")
    assert str(caught.value) == (
        "say which model registry to promote in (--registry NAME); there are models, other"
    )
    elsewhere = promotion.promote(ctx, "training/clf:v0", "candidate", registry="other")
    assert elsewhere.link.path == "model-registry/other/clf:v0"
    assert (registry.root / "registries/other/clf/aliases/candidate.yaml").is_file()


def test_the_promotion_message_says_who_what_why_and_each_gate(registry):
    ctx = governed(registry.root, production=StageGate(("f1 >= 0.9", "loss < 1"), True))
    source = log(registry.root, "w", f1=0.95, loss=0.5)
    link = promotion.link_version(ctx, source, "model-registry/models")
    promotion.promote(ctx, link.path, "staging")
    done = promotion.promote(ctx, link.path, "production", reason="beats v0")
    assert done.message == "\n".join(
        [
            "promote model-registry/models/clf:v0 to production",
            "",
            f"Who: {ctx.author()}",
            f"What: training/clf:v0 (digest {source.digest[:12]})",
            "Why: beats v0",
            "Previous: none",
            "Gate: f1 >= 0.9 -> pass (f1 is 0.95)",
            "Gate: loss < 1 -> pass (loss is 0.5)",
            "Gate: held staging -> pass",
            "Registry-Tool-Promotion: models/clf/production/v0",
        ]
    )
    failing = StageCheck(
        "production",
        [GateResult("f1 >= 0.99", False, 0.95, "f1 is 0.95, needs >= 0.99")],
        "staging",
        False,
    )
    text = promotion.promotion_message(ctx, link, source, "production", failing, 3, None)
    assert text.splitlines()[4:9] == [
        "Why: (no reason given)",
        "Previous: v3",
        "Gate: f1 >= 0.99 -> FAIL (f1 is 0.95, needs >= 0.99)",
        "Gate: held staging -> FAIL",
        "Registry-Tool-Promotion: models/clf/production/v0",
    ]


def test_promote_by_pull_request_needs_a_branch(registry):
    ctx = governed(registry.root)
    promotion.link_version(ctx, log(registry.root, "w"), "model-registry/models")
    git(registry.root, "checkout", "--quiet", "--detach", "HEAD")
    with pytest.raises(UsageError) as caught:
        promotion.promote(ctx, "model-registry/models/clf:v0", "production")
    assert str(caught.value) == (
        f"{registry.root} has a detached HEAD: check out the main branch to promote"
    )
    assert git(registry.root, "branch", "--list", "promote/*") == ""


# -- what a link and a stage move record ------------------------------------------------------


def test_latest_never_goes_back_within_one_source_collection(registry):
    ctx = governed(registry.root)
    older, newer = log(registry.root, "a"), log(registry.root, "b")
    other = log(registry.root, "c", name="other")

    def latest() -> int:
        return yaml.safe_load(alias_file(registry.root, "latest").read_text())["version"]

    promotion.link_version(ctx, newer, "model-registry/models/clf")
    assert latest() == 0
    promotion.link_version(ctx, older, "model-registry/models/clf")  # an older version: stays
    assert latest() == 0
    promotion.link_version(ctx, other, "model-registry/models/clf")  # another collection: moves
    assert latest() == 2
    promotion.link_version(ctx, newer, "model-registry/models/clf")  # linked already: back to it
    assert latest() == 0


def test_a_link_and_its_stages_record_the_run_and_the_reason(registry):
    ctx = governed(registry.root)
    link = promotion.link_version(
        ctx, log(registry.root, "w"), "model-registry/models", ["development"], run="r7"
    )
    assert link.run == "r7"
    moved = yaml.safe_load(alias_file(registry.root, "development").read_text())
    assert (moved["run"], moved.get("reason")) == ("r7", None)
    promotion.set_aliases(ctx, link, add=["staging"], reason="eval passed", message="custom")
    staged = yaml.safe_load(alias_file(registry.root, "staging").read_text())
    assert (staged.get("run"), staged["reason"]) == (None, "eval passed")
    assert git(registry.root, "log", "-1", "--format=%B") == "custom"  # the message as given


def test_set_aliases_drops_each_alias_it_holds_after_one_it_does_not(registry):
    ctx = governed(registry.root)
    link0 = promotion.link_version(ctx, log(registry.root, "a"), "model-registry/models")
    link1 = promotion.link_version(ctx, log(registry.root, "b"), "model-registry/models")
    promotion.set_aliases(ctx, link0, add=["staging"])
    promotion.set_aliases(ctx, link1, add=["development"])
    promotion.set_aliases(ctx, link0, remove=["development", "staging"])
    assert not alias_file(registry.root, "staging").exists()
    assert alias_file(registry.root, "development").exists()


def test_a_registry_names_every_type_it_takes(registry):
    ctx = Context.open(registry.root)
    promotion.create_registry(ctx, "models", types=["model", "checkpoint"])
    data = log(registry.root, "rows", name="data", kind="dataset")
    with pytest.raises(ArtifactError) as caught:
        promotion.link_version(ctx, data, "model-registry/models")
    assert str(caught.value) == (
        "model-registry/models takes model, checkpoint artifacts, not 'dataset'"
    )


def test_refusals_name_the_version_they_concern(registry):
    ctx = governed(registry.root)
    source = log(registry.root, "w")
    link = promotion.link_version(ctx, source, "model-registry/models")
    promotion.set_aliases(ctx, link, add=["production"], allow_protected=True)
    with pytest.raises(ProtectedAliasError) as caught:
        promotion.unlink(ctx, link)
    assert caught.value.version == "model-registry/models/clf:v0"
    stale = log(registry.root, "later")
    ops.delete("training/clf:v1", reason="leak", registry=registry.root)
    with pytest.raises(NotFoundError) as caught:
        promotion.link_version(ctx, stale, "model-registry/models/other", ["development"])
    assert caught.value.version == "training/clf:v1"
    assert str(caught.value).startswith("training/clf:v1") and "deleted" in str(caught.value)
    ghost = VersionRecord.from_doc({**source.to_doc(), "name": "ghost"})
    with pytest.raises(NotFoundError) as caught:
        promotion.link_version(ctx, ghost, "model-registry/models/other")
    assert (str(caught.value), caught.value.version) == (
        "training/ghost:v0 does not exist",
        "training/ghost:v0",
    )
