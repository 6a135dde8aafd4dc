"""Model registries' verbs: create a registry, link versions into it, move stage
aliases, unlink, promote.

A link is a registry version (``model-registry/<registry>/<collection>:vN``) pointing
at a source version by path and digest; linking the same source again returns the
existing link. Stage aliases must meet the stage's gates (``stages``); protected
aliases move only through a promotion branch and pull request (``promote``), never by a
direct write. Reading registries is the store's (``_store.registries``); resolving a
registry path is the engine's (``Context.resolve_ref``).
"""

from registry_tool._promotion.links import (
    CODEOWNERS,
    create_registry,
    link_version,
    set_aliases,
    stage_changes,
    unlink,
)
from registry_tool._promotion.promote import (
    Promotion,
    promote,
    promotion_message,
    pull_request_body,
)
from registry_tool._promotion.stages import StageCheck, check_stage, require
from registry_tool.errors import GateError, ProtectedAliasError

__all__ = [
    "CODEOWNERS",
    "GateError",
    "Promotion",
    "ProtectedAliasError",
    "StageCheck",
    "check_stage",
    "create_registry",
    "link_version",
    "promote",
    "promotion_message",
    "pull_request_body",
    "require",
    "set_aliases",
    "stage_changes",
    "unlink",
]
