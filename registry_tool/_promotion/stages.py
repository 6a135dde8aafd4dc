"""Whether a link may take a stage: the stage's gates, evaluated on the source
version's metadata, and its previous-stage rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry_tool._engine import Context, edits
from registry_tool._model.gates import GateResult, check_gates
from registry_tool._model.governance import LinkRecord, ModelRegistryConfig, StageGate
from registry_tool._model.records import VersionRecord
from registry_tool._store import Snapshot, registries
from registry_tool.errors import GateError


@dataclass(frozen=True)
class StageCheck:
    """Whether a link may take a stage: gate results and the previous-stage rule."""

    stage: str
    results: list[GateResult] = field(default_factory=list)
    previous_stage: str | None = None
    held_previous: bool | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and self.held_previous is not False

    def problems(self) -> list[str]:
        out = [f"{r.condition}: {r.detail}" for r in self.results if not r.passed]
        if self.held_previous is False:
            out.append(f"the version must hold {self.previous_stage!r} before {self.stage!r}")
        return out


def check_stage(
    ctx: Context,
    snap: Snapshot,
    config: ModelRegistryConfig,
    link: LinkRecord,
    source: VersionRecord,
    stage: str,
    *,
    ref: str | None = None,
) -> StageCheck:
    """Evaluate a stage's gates (and its previous-stage rule) for one link."""
    if stage not in config.stages:
        return StageCheck(stage)
    gate: StageGate = config.gate(stage)
    # The metadata as readers see it: the logged values with their edits (an edit of a
    # gated key merged alone, reviewed, before this promotion relies on it).
    results = check_gates(list(gate.conditions), edits.merged(ctx.store, snap, source).metadata)
    previous = config.previous_stage(stage) if gate.requires_previous_stage else None
    held = None
    if previous is not None:
        current = registries.read_alias(ctx.store, snap, config.name, link.collection, previous)
        held = bool(current and current.version == link.version)
        if not held and snap.commit is not None:
            events = registries.stage_moves(
                ctx.store, config.name, link.collection, previous, ref=ref or snap.commit
            )
            held = any(e.version == link.version for e in events)
    return StageCheck(stage, results, previous, held)


def require(verdict: StageCheck, link: LinkRecord, stage: str) -> StageCheck:
    """The verdict, or a GateError saying every condition the link fails."""
    if not verdict.passed:
        raise GateError(
            f"{link.path} ({link.source_path}) cannot take {stage!r}: "
            + "; ".join(verdict.problems()),
            verdict.results,
        )
    return verdict
