"""The engine: one opened registry with its blob store and caches, and the operations
every feature above it shares (ingest, log, resolve, alias moves, download)."""

from registry_tool._engine.context import Context, LogOutcome, Resolved, deleted_message

__all__ = ["Context", "LogOutcome", "Resolved", "deleted_message"]
