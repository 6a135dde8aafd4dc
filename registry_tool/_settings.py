"""Every ``REGISTRY_TOOL_*`` environment variable, read here and nowhere else.

Each setting is read when it is asked for (not at import), so a test or a long-lived
process that changes the environment sees the change. ``SETTINGS`` is the table the
README and ARCHITECTURE.md print; a test holds the three in step.

>>> sorted(SETTINGS)[:2]
['REGISTRY_TOOL_CACHE_DIR', 'REGISTRY_TOOL_CACHE_MAX_SIZE']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from registry_tool.errors import UsageError


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    meaning: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "REGISTRY_TOOL_DIR",
            "the nearest registry.yaml, else the embedded default",
            "the registry: a path, or a git URL kept as a managed clone",
        ),
        Setting(
            "REGISTRY_TOOL_CACHE_DIR",
            "$XDG_CACHE_HOME/registry-tool",
            "the download cache, the stat cache and parsed documents",
        ),
        Setting(
            "REGISTRY_TOOL_CACHE_MAX_SIZE",
            "20GiB",
            "the bound of the download cache (least recently used blobs go first)",
        ),
        Setting(
            "REGISTRY_TOOL_WORKERS",
            "what the blob store suits: 1 locally, 16 on S3",
            "how many files are stored or fetched at once",
        ),
        Setting(
            "REGISTRY_TOOL_GIT_TIMEOUT",
            "60",
            "seconds a git remote may stall before a fetch or push gives up",
        ),
        Setting("REGISTRY_TOOL_NO_GH", "unset", "1: never use the gh CLI to open pull requests"),
        Setting(
            "REGISTRY_TOOL_S3_FAST",
            "1",
            "0: send every S3 request through botocore (no lean PUT/GET path)",
        ),
        Setting(
            "REGISTRY_TOOL_S3_PATH_STYLE",
            "registry.yaml's storage.path_style, else path style with an endpoint",
            "1 or 0: path-style S3 addressing",
        ),
        Setting(
            "REGISTRY_TOOL_S3_CHECKSUM",
            "registry.yaml's storage.checksum, else when_required with an endpoint",
            "botocore's request_checksum_calculation",
        ),
        Setting("REGISTRY_TOOL_S3_RETRY_MODE", "standard", "botocore's retry mode"),
        Setting("REGISTRY_TOOL_S3_MAX_ATTEMPTS", "6", "botocore's retry attempts per request"),
    )
}


def _get(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    assert name in SETTINGS, name
    value = os.environ.get(name)
    return value if value and value.strip() else None


def registry_dir() -> str | None:
    return _get("REGISTRY_TOOL_DIR")


def cache_dir() -> Path | None:
    value = _get("REGISTRY_TOOL_CACHE_DIR")
    return Path(value) if value else None


def cache_max_size() -> str | None:
    """The raw text (``10GiB``); the cache parses it and names the variable on error."""
    return _get("REGISTRY_TOOL_CACHE_MAX_SIZE")


def workers() -> int | None:
    value = _get("REGISTRY_TOOL_WORKERS")
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise UsageError(f"$REGISTRY_TOOL_WORKERS: {value!r} is not a whole number of 1 or more")
    return count


def git_timeout() -> float:
    """Seconds a git remote may stall; 60 when unset or unreadable, at least 1."""
    try:
        return max(1.0, float(_get("REGISTRY_TOOL_GIT_TIMEOUT") or 60))
    except ValueError:
        return 60.0


def use_gh() -> bool:
    return _get("REGISTRY_TOOL_NO_GH") is None


def s3_fast() -> bool:
    return (_get("REGISTRY_TOOL_S3_FAST") or "1").lower() not in ("0", "false", "no", "off")


def s3_path_style() -> str | None:
    return _get("REGISTRY_TOOL_S3_PATH_STYLE")


def s3_checksum() -> str | None:
    return _get("REGISTRY_TOOL_S3_CHECKSUM")


def s3_retry_mode() -> str:
    return _get("REGISTRY_TOOL_S3_RETRY_MODE") or "standard"


def s3_max_attempts() -> int:
    value = _get("REGISTRY_TOOL_S3_MAX_ATTEMPTS") or "6"
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"$REGISTRY_TOOL_S3_MAX_ATTEMPTS: {value!r} is not a whole number"
        ) from None


def s3_environment() -> tuple[tuple[str, str], ...]:
    """The environment that shapes an S3 client (AWS's and ours): a cache key for one."""
    return tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith(("AWS_", "REGISTRY_TOOL_S3_")))
    )
