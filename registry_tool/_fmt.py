"""Values written for people: sizes, short digests and kinds of file, the same on the
terminal and the site.

>>> human_size(999), human_size(1_500_000), human_size(None)
('999 B', '1.5 MB', '-')
>>> short_digest("sha256:0123456789abcdef")
'0123456789ab'
>>> file_kind(0o010644)
'a FIFO'
"""

from __future__ import annotations

import stat

_KINDS = (
    (stat.S_ISREG, "a file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def human_size(n: int | None) -> str:
    """Bytes in decimal units (``1.5 MB``); ``-`` when unknown."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def short_digest(digest: str) -> str:
    """The first 12 hex digits of a ``sha256:`` digest."""
    return digest.removeprefix("sha256:")[:12]


def file_kind(mode: int) -> str:
    """What a ``st_mode`` names, for messages that refuse anything but a regular file
    (``"a FIFO"``, ``"a character device"``...): reading one of those can block forever
    or never end, so a message says which it met."""
    return next((kind for test, kind in _KINDS if test(mode)), "a special file")
