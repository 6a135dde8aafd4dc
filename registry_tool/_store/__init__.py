"""The Git-backed registry store: find or create a registry, read, validate, commit, push."""

from registry_tool._store.git import Snapshot
from registry_tool._store.locate import init_registry, open_registry
from registry_tool._store.paths import cache_home, data_home
from registry_tool._store.registry import Change, RegistryStore, WriteResult, now

__all__ = [
    "Change",
    "RegistryStore",
    "Snapshot",
    "WriteResult",
    "cache_home",
    "data_home",
    "init_registry",
    "now",
    "open_registry",
]
