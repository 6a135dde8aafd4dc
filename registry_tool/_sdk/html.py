"""The HTML a run shows in a notebook (``run.to_html()``, ``run.display()``): its page
on the published site in a frame, with a link; the run's name is escaped."""

from __future__ import annotations

import html
import importlib
import sys


def run_html(url: str | None, name: str, height: int = 420, hidden: bool = False) -> str:
    """A link to the run's page and the page in a frame, or a line saying the registry
    names no site URL. ``hidden`` hides the block, as W&B's ``hidden`` does."""
    label = html.escape(name)
    if url is None:
        body = f"<p>run <code>{label}</code> (no site URL)</p>"
    else:
        href = html.escape(url, quote=True)
        body = (
            f'<p><a href="{href}" target="_blank">{label}</a></p>'
            f'<iframe src="{href}" style="border:none;width:100%;height:{int(height)}px;"></iframe>'
        )
    return f'<div style="display:none">{body}</div>' if hidden else body


def show_html(snippet: str) -> bool:
    """Show ``snippet`` in the running Jupyter kernel; False outside one (nothing shown),
    as W&B's ``display`` returns."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  #
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return False
    shown = importlib.import_module("IPython.display")
    shown.display(shown.HTML(snippet))
    return True
