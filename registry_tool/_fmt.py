"""Values written for people: sizes and short digests, the same on the terminal and the
site.

>>> human_size(999), human_size(1_500_000), human_size(None)
('999 B', '1.5 MB', '-')
>>> short_digest("sha256:0123456789abcdef")
'0123456789ab'
"""

from __future__ import annotations


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
