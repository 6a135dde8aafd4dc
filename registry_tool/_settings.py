"""Every ``REGISTRY_TOOL_*`` environment variable, read here and nowhere else.

Each setting is read when it is asked for (not at import), so a test or a long-lived
process that changes the environment sees the change. ``SETTINGS`` is the table the
README and ARCHITECTURE.md print; a test holds the three in step.

>>> sorted(SETTINGS)[:2]
['REGISTRY_TOOL_CACHE_DIR', 'REGISTRY_TOOL_CACHE_MAX_SIZE']
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
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
            "the download cache, the stat cache, parsed documents and the version index",
        ),
        Setting(
            "REGISTRY_TOOL_CACHE_MAX_SIZE",
            "20GiB",
            "the bound of the download cache (least recently used blobs go first)",
        ),
        Setting(
            "REGISTRY_TOOL_WORKERS",
            "what the blob store suits: 1 locally, 16 on S3; for references, what their "
            "scheme suits: 16 for s3, gs and http, 1 for file",
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


class SettingError(UsageError):
    """A ``REGISTRY_TOOL_*`` variable holds a value it cannot take. It is a usage error,
    as a bad option is, so the command line exits with 2 (``exit_code``)."""

    exit_code = 2


# The most files stored or fetched at once: each is a thread, and a count past this is
# a typo, not a plan (S3's own pool is far smaller).
MAX_WORKERS = 1024
# The longest a git remote may stall, in seconds: a day; more is read as a day.
MAX_GIT_TIMEOUT = 86400.0
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_CHECKSUMS = ("when_supported", "when_required")
_RETRY_MODES = ("legacy", "standard", "adaptive")
# A size as the download cache reads it (``_cache.parse_size``): digits, a unit of
# bytes. Refused here first, so that a bad value is a usage error like the others and
# 5,000 digits never reach ``int()``.
_SIZE = re.compile(r"\s*(\d{1,20}(\.\d{0,20})?|\.\d{1,20})\s*(|b|[kmgt]i?b|[kmgt])\s*", re.I)


def _shown(value: str) -> str:
    """The value as an error quotes it: in quotes, and cut short when it is long."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or blank."""
    assert name in SETTINGS, name
    value = os.environ.get(name)
    return value if value and value.strip() else None


def _whole(name: str, value: str, low: int, high: int, what: str) -> int:
    text = value.strip()
    count = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else -1
    if not low <= count <= high:
        raise SettingError(f"${name}: {_shown(value)} is not {what}")
    return count


def _switch(name: str, value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise SettingError(f"${name}: {_shown(value)} is not 1 or 0 (true/false, yes/no, on/off)")


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> str:
    word = value.strip().lower()
    if word not in choices:
        raise SettingError(f"${name}: {_shown(value)} is not one of {', '.join(choices)}")
    return word


def _size(name: str, value: str) -> str:
    if not _SIZE.fullmatch(value):
        raise SettingError(
            f"${name}: {_shown(value)} is not a size (plain bytes, or a number with a unit: "
            "KB, MB, GB, TB or KiB, MiB, GiB, TiB, e.g. 20GB or 512MiB)"
        )
    return value


# Every setting that takes a number or a word from a list, with what reads it.
_CHECKS: dict[str, Callable[[str, str], object]] = {
    "REGISTRY_TOOL_CACHE_MAX_SIZE": lambda n, v: _size(n, v),
    "REGISTRY_TOOL_WORKERS": lambda n, v: _whole(
        n, v, 1, MAX_WORKERS, f"a whole number of 1 or more, up to {MAX_WORKERS}"
    ),
    "REGISTRY_TOOL_NO_GH": _switch,
    "REGISTRY_TOOL_S3_FAST": _switch,
    "REGISTRY_TOOL_S3_PATH_STYLE": _switch,
    "REGISTRY_TOOL_S3_CHECKSUM": lambda n, v: _one_of(n, v, _CHECKSUMS),
    "REGISTRY_TOOL_S3_RETRY_MODE": lambda n, v: _one_of(n, v, _RETRY_MODES),
    "REGISTRY_TOOL_S3_MAX_ATTEMPTS": lambda n, v: _whole(
        n, v, 0, 100, "a whole number from 0 to 100"
    ),
}


def check() -> None:
    """Raise :class:`SettingError` for the first variable set to a value it cannot take.

    Every accessor runs this first, so a typo in any setting is reported by the first
    command, whatever it reads, rather than by the upload that reads it hours later."""
    for name, parse in _CHECKS.items():
        value = _raw(name)
        if value is not None:
            parse(name, value)


def _get(name: str) -> str | None:
    """The variable's value (None when it is unset or blank), once every setting has
    been found readable."""
    check()
    return _raw(name)


def registry_dir() -> str | None:
    return _get("REGISTRY_TOOL_DIR")


def cache_dir() -> Path | None:
    value = _get("REGISTRY_TOOL_CACHE_DIR")
    return Path(value) if value else None


def cache_max_size() -> str | None:
    """The text (``10GiB``), of the shape of a size; the cache reads its value."""
    return _get("REGISTRY_TOOL_CACHE_MAX_SIZE")


def workers() -> int | None:
    value = _get("REGISTRY_TOOL_WORKERS")
    return None if value is None else int(value)


def git_timeout() -> float:
    """Seconds a git remote may stall: 60 when unset or not a number (NaN included),
    at least 1 and at most a day (an infinite wait would overflow the watchdog)."""
    try:
        seconds = float(_get("REGISTRY_TOOL_GIT_TIMEOUT") or 60)
    except ValueError:
        return 60.0
    if math.isnan(seconds):
        return 60.0
    return min(MAX_GIT_TIMEOUT, max(1.0, seconds))


def use_gh() -> bool:
    value = _get("REGISTRY_TOOL_NO_GH")
    return value is None or not _switch("REGISTRY_TOOL_NO_GH", value)


def s3_fast() -> bool:
    value = _get("REGISTRY_TOOL_S3_FAST")
    return value is None or _switch("REGISTRY_TOOL_S3_FAST", value)


def s3_path_style() -> str | None:
    """``"1"`` or ``"0"`` when set (any of the words a switch takes), else None."""
    value = _get("REGISTRY_TOOL_S3_PATH_STYLE")
    if value is None:
        return None
    return "1" if _switch("REGISTRY_TOOL_S3_PATH_STYLE", value) else "0"


def s3_checksum() -> str | None:
    value = _get("REGISTRY_TOOL_S3_CHECKSUM")
    return None if value is None else value.strip().lower()


def s3_retry_mode() -> str:
    value = _get("REGISTRY_TOOL_S3_RETRY_MODE")
    return "standard" if value is None else value.strip().lower()


def s3_max_attempts() -> int:
    return int(_get("REGISTRY_TOOL_S3_MAX_ATTEMPTS") or "6")


def s3_environment() -> tuple[tuple[str, str], ...]:
    """The environment that shapes an S3 client (AWS's and ours): a cache key for one."""
    return tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith(("AWS_", "REGISTRY_TOOL_S3_")))
    )
