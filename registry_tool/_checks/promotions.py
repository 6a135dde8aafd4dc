"""The rules of a change that govern model registries: who may move a stage, to what,
and what may not travel with it.

- **Protected stages move only by pull request** (``arrived_by_pr`` says, per path,
  whether the change reached the branch through one).
- **A stage move meets the stage's gates and order**, judged on the head (for a pull
  request, GitHub's merge commit: the gates as they will be once it merges).
- **Introduce and promote are separate reviews.** A move into a protected stage may
  only point at a link, and a source version, that are already on the base: the
  reviewers of a promotion see a model that was logged and linked in its own change,
  never bytes and metrics that arrive together with the promotion.
- **A promotion does not change its own gates** (the separate-approval policy, see
  ``registry_tool._checks``).
- **Nor the metadata its gates read.** An edit of a logged version (``edits/``) that
  sets or removes a metadata key a gate of the registry reads is a gate change for
  that version: a move into a protected stage of a link to it may not bring the edit
  along. The edit merges alone, reviewed; the promotion is judged on it afterwards.
  Gates are judged on the version as readers see it: logged values, edits applied.
- **Nothing takes a protected stage down**: soft-deleting the source version of a
  link that holds a protected stage, or unlinking that link, is refused while the
  stage holds it; the stage first moves off through a reviewed promotion.
- **Storage moves alone.** A change to the root ``registry.yaml``'s storage settings
  merges in a change of its own: CI trusts the base's storage settings (it never sends
  a signed request to an endpoint a pull request brings), so a change that also adds
  versions could not be checked against the storage it names.
- **Allowed types.** A link added to a registry with ``types`` links a version of one
  of them.
- **A policy change is judged against what it governs.** A change to a model
  registry's ``registry.yaml`` has every protected stage's current holder judged by
  the new policy: raising a gate above production's holder is red before it merges,
  not discovered after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from registry_tool._checks import rules
from registry_tool._checks.holders import Holder, judge, protected_holders
from registry_tool._checks.report import Problem
from registry_tool._checks.rules import Parsed
from registry_tool._engine.context import Context
from registry_tool._engine.edits import read_edits
from registry_tool._model import layout
from registry_tool._model.gates import parse_condition
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig
from registry_tool._model.layout import REGISTRY_FILE, Key
from registry_tool._model.records import AliasRecord
from registry_tool._promotion import check_stage
from registry_tool._store import Snapshot, registries
from registry_tool.errors import DocumentError

# What decides whether a version may take a protected stage.
GATE_FIELDS = ("stages", "protected", "types", "gates")
# The root registry.yaml's fields that say where the bytes are.
STORAGE_FIELDS = ("storage", "previous_storage")

ArrivedByPr = Callable[[str], bool]


def protected_in(base: Snapshot, head: Snapshot, ctx: Context, registry: str) -> set[str]:
    """The registry's protected stages on the base or on the head: a change that
    unprotects a stage and moves it is still judged as moving a protected stage."""
    found: set[str] = set()
    for snap in (base, head):
        try:
            config = registries.read_config(ctx.store, snap, registry)
        except DocumentError:
            continue
        if config is not None:
            found.update(config.protected)
    return found


def moved_outside_pr(
    path: str, key: Key, protected: set[str], arrived_by_pr: ArrivedByPr, *, deleted: bool
) -> list[Problem]:
    """A protected alias moves (or goes) only by pull request."""
    if key.alias not in protected or arrived_by_pr(path):
        return []
    what = "removed" if deleted else "moved"
    return [
        Problem(path, "$.alias", f"protected alias {key.alias!r} was {what} outside a pull request")
    ]


def stage_move(
    ctx: Context,
    base: Snapshot,
    head: Snapshot,
    facts: rules.Facts,
    parsed: Parsed,
    alias: AliasRecord,
    arrived_by_pr: ArrivedByPr,
) -> list[Problem]:
    """A stage alias moved: by pull request if protected, in a registry that exists, to
    a link that exists (on the base, if protected), of a live version that meets the
    stage's gates and order. A document the judgement needs that does not parse (the
    registry's config, the link, its source) is a problem of the move too: the move is
    refused rather than the check stopped, and the document's own problem is reported
    where it is checked."""
    path, key = parsed.path, parsed.key
    protected = protected_in(base, head, ctx, key.collection_key[0])
    problems = moved_outside_pr(path, key, protected, arrived_by_pr, deleted=False)
    try:
        return problems + _move_target(ctx, base, head, facts, parsed, alias, protected)
    except DocumentError as exc:
        return [
            *problems,
            Problem(
                path, "$", f"cannot be judged while a document it needs does not parse ({exc})"
            ),
        ]


def _move_target(
    ctx: Context,
    base: Snapshot,
    head: Snapshot,
    facts: rules.Facts,
    parsed: Parsed,
    alias: AliasRecord,
    protected: set[str],
) -> list[Problem]:
    """What a stage move points at: the registry, the link, its source, the gates."""
    path = parsed.path
    registry, collection = parsed.key.collection_key
    config = registries.read_config(ctx.store, head, registry)
    if config is None:
        return [Problem(path, "$", f"there is no model registry {registry!r}")]
    missing = rules.alias_target(parsed, alias, facts)
    link = registries.read_link(ctx.store, head, registry, collection, alias.version)
    if missing or link is None:
        return missing
    source = ctx.store.read_version(head, link.project, link.name, link.source_version)
    if source is None:
        return [
            Problem(
                path, "$.version", f"{link.path} links {link.source_path}, which does not exist"
            )
        ]
    if source.deleted is not None:
        return [
            Problem(path, "$.version", f"{link.path} links {link.source_path}, which is deleted")
        ]
    problems = []
    if registries.is_unlinked(head, registry, collection, alias.version):
        problems.append(Problem(path, "$.version", f"{link.path} is unlinked"))
    if alias.alias in protected:
        problems += _introduced_here(ctx, base, path, alias.alias, link)
        problems += _gate_keys_edited_here(ctx, base, head, path, alias.alias, config, link)
    # check_stage judges the metadata readers see at head: the logged values, edits applied.
    verdict = check_stage(ctx, head, config, link, source, alias.alias)  # history up to head
    for problem in verdict.problems():
        problems.append(
            Problem(path, "$.version", f"{link.path} cannot take {alias.alias!r}: {problem}")
        )
    return problems


def _introduced_here(
    ctx: Context, base: Snapshot, path: str, stage: str, link: LinkRecord
) -> list[Problem]:
    """Introduce and promote are separate reviews: the link and its source version a
    protected stage moves to are on the base already."""
    if not base.exists(layout.link_file(link.registry, link.collection, link.version)):
        new = link.path
    elif not base.exists(layout.version_file(link.project, link.name, link.source_version)):
        new = link.source_path
    else:
        return []
    return [
        Problem(
            path,
            "$.version",
            f"{new} is new in this change, which also moves the protected stage {stage!r} "
            "to it: introducing a version and promoting it are separate reviews. Merge the "
            "version and its link first, then promote it (registry-tool promote ... --pr)",
        )
    ]


def _gate_keys_edited_here(
    ctx: Context,
    base: Snapshot,
    head: Snapshot,
    path: str,
    stage: str,
    config: ModelRegistryConfig,
    link: LinkRecord,
) -> list[Problem]:
    """An edit this change brings to the source version, of a metadata key a gate of
    the registry reads: a gate change for that version, reviewed on its own first."""
    read = {
        parse_condition(condition).path[0]
        for gate in config.gates.values()
        for condition in gate.conditions
    }
    problems = []
    for edit in read_edits(ctx.store, head, link.project, link.name, link.source_version):
        edit_path = layout.edit_file(edit.project, edit.name, edit.version, edit.seq)
        keys = sorted(edit.keys & read)
        if not keys or base.exists(edit_path):
            continue
        problems.append(
            Problem(
                path,
                "$.version",
                f"{edit_path} edits {', '.join(repr(k) for k in keys)} of "
                f"{link.source_path}, which the gates of model-registry/{config.name} read, "
                f"in the change that moves the protected stage {stage!r} to it: an edit of "
                "gated metadata needs its own review. Merge the edit alone first, then "
                "promote (registry-tool promote ... --pr)",
            )
        )
    return problems


def stage_removed(
    ctx: Context,
    base: Snapshot,
    head: Snapshot,
    path: str,
    key: Key,
    arrived_by_pr: ArrivedByPr,
) -> list[Problem]:
    assert key.registry is not None
    protected = protected_in(base, head, ctx, key.registry)
    return moved_outside_pr(path, key, protected, arrived_by_pr, deleted=True)


def link_type(ctx: Context, head: Snapshot, path: str, link: LinkRecord) -> list[Problem]:
    """An added link links a version of a type its registry takes."""
    try:
        config = registries.read_config(ctx.store, head, link.registry)
        source = ctx.store.read_version(head, link.project, link.name, link.source_version)
    except DocumentError:
        return []  # reported where the document is checked
    if config is None or source is None or not config.types or source.type in config.types:
        return []
    return [
        Problem(
            path,
            "$.source",
            f"{link.source_path} is of type {source.type!r}; model-registry/{config.name} "
            f"takes {', '.join(config.types)}",
        )
    ]


def holders_taken_down(
    ctx: Context, head: Snapshot, changes: Iterable[tuple[str, str]]
) -> list[Problem]:
    """A version soft-deleted, a link unlinked (or a link file deleted) while it holds
    a protected stage at the head."""
    touched = {
        (key.kind, *key.collection_key, key.version): path
        for status, path in changes
        if (key := layout.parse(path)) is not None
        and (
            (key.kind == "version" and status == "M")
            or (key.kind == "unlink" and status == "A")
            or (key.kind == "link" and status == "D")
        )
    }
    if not touched:
        return []
    problems = []
    for holder in protected_holders(ctx, head):
        for kind, what in _taken_down(holder, touched):
            problems.append(
                Problem(
                    touched[kind],
                    "$",
                    f"{what} while it holds the protected stage {holder.stage!r} of "
                    f"{holder.where} (v{holder.version}): move the stage off first, through "
                    "a reviewed promotion (registry-tool promote ... --pr)",
                )
            )
    return problems


def _taken_down(
    holder: Holder, touched: dict[tuple[Any, ...], str]
) -> Iterable[tuple[tuple[Any, ...], str]]:
    registry, collection, number = holder.config.name, holder.collection, holder.version
    for kind, verb in (("unlink", "unlinked"), ("link", "deleted")):
        key = (kind, registry, collection, number)
        if key in touched:
            yield key, f"model-registry/{registry}/{collection}:v{number} is {verb}"
    if holder.link is not None and holder.source is not None and holder.source.deleted:
        link = holder.link
        key = ("version", link.project, link.name, link.source_version)
        if key in touched:
            yield key, f"{link.source_path} is soft-deleted"


def holders_under_new_policy(
    ctx: Context, head: Snapshot, changes: list[tuple[str, str]]
) -> list[Problem]:
    """Every protected stage holder of a registry whose registry.yaml the change
    modifies, judged at the head (the stages the change moves are judged as moves)."""
    changed = {
        key.registry
        for status, path in changes
        if status == "M"
        and (key := layout.parse(path)) is not None
        and key.kind == "model-registry"
    }
    if not changed:
        return []
    moved = {path for _, path in changes}
    problems = []
    for holder in protected_holders(ctx, head):
        if holder.config.name in changed and holder.path not in moved:
            problems += judge(ctx, head, holder)  # the stages held: history up to head
    return problems


def storage_alone(base: Snapshot, head: Snapshot, changes: list[tuple[str, str]]) -> list[Problem]:
    """A change to the root registry.yaml's storage settings is the change's only file."""
    if not any(path == REGISTRY_FILE and status == "M" for status, path in changes):
        return []
    old, new = config_doc(base, REGISTRY_FILE), config_doc(head, REGISTRY_FILE)
    changed = [f for f in STORAGE_FIELDS if old.get(f) != new.get(f)]
    others = sorted(path for _, path in changes if path != REGISTRY_FILE)
    if not changed or not others:
        return []
    return [
        Problem(
            REGISTRY_FILE,
            f"$.{changed[0]}",
            f"the storage settings changed together with {len(others)} other file(s) "
            f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}): a storage "
            "change merges alone, so the change after it is checked against the storage "
            "it was reviewed with",
        )
    ]


def gates_moved_with_promotion(
    base: Snapshot, head: Snapshot, changes: list[tuple[str, str]]
) -> list[Problem]:
    """The separate-approval policy: a change that moves (or removes) a protected alias
    of a model registry may not also change that registry's stages, protection, types
    or gates. See ``registry_tool._checks``."""
    keys = [(key, path) for _, path in changes if (key := layout.parse(path)) is not None]
    problems = []
    configs = {k.registry for k, _ in keys if k.kind == "model-registry" and k.registry}
    for registry in sorted(configs):
        path = layout.model_registry_file(registry)
        # The fields as written, not a ModelRegistryConfig: a condition that does not
        # parse is still a change to review, and must not stop the check.
        old = config_doc(base, path)
        new = config_doc(head, path)
        changed = [f for f in GATE_FIELDS if old.get(f) != new.get(f)]
        protected = {*old.get("protected", ()), *new.get("protected", ())}
        moved = sorted(
            (p, k.alias or "")
            for k, p in keys
            if k.kind == "registry-alias" and k.registry == registry and k.alias in protected
        )
        if not changed or not moved:
            continue
        aliases = ", ".join(sorted({repr(alias) for _, alias in moved}))
        problems.append(
            Problem(
                path,
                f"$.{changed[0]}",
                f"{' and '.join(changed)} of model-registry/{registry} changed in the same "
                f"change that moves the protected alias {aliases} "
                f"({', '.join(p for p, _ in moved)}): a "
                "gate or protection change needs its own review. Split the pull request: "
                f"first merge the change to {path} alone, then open the promotion on the "
                "updated main (registry-tool promote ... --pr), checked against those gates",
            )
        )
    return problems


def config_doc(snap: Snapshot, path: str) -> dict[str, Any]:
    """A registry.yaml's document at a commit, as written; empty when missing or
    invalid."""
    data = snap.read(path)
    key = layout.parse(path)
    if data is None or key is None:
        return {}
    parsed = rules.parse_file(path, key, data)[0]
    return parsed.doc if parsed is not None else {}
