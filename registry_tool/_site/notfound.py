"""The site's 404 page, made to work wherever it is shown.

mkdocs writes ``404.html`` with every URL from the server's root (``/assets/...``),
since a server shows it at any depth. That breaks the page on a project site
(``https://org.github.io/repo/``, where the root is ``/repo/``) and when it is opened
from disk (``file://``, where ``/`` is the machine's root). ``relative`` makes its URLs
relative to the site's root folder, which is where the file lies, so it works from
disk as it is; served, a first script in its head gives the page a ``<base>`` at the
site's root: the path of ``site_url`` when the config sets one, else, on
``*.github.io``, the first folder of the address (a project site), else ``/``. The
theme resolves its own base from the page's address, not from ``<base>``, so a second
script, just before the theme's, sets it from the document's base.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

_HEAD = re.compile(r"<head(\s[^>]*)?>")
_BUNDLE = re.compile(r'<script src="[^"]*assets/javascripts/bundle\.[^"]*"')

# Served (http or https), a <base> at the site's root before any URL in the page is read.
_BASE_SCRIPT = (
    "<script>(function(){{if(!/^https?:$/.test(location.protocol))return;var b={root};"
    'if(!b){{var s=location.pathname.split("/");'
    'b=/\\.github\\.io$/.test(location.hostname)&&s.length>2?"/"+s[1]+"/":"/"}}'
    "document.write('<base href=\"'+b+'\">')}})()</script>"
)
# The theme's base (its links, search) from the document's base, not the page's address.
_CONFIG_SCRIPT = (
    '<script>(function(){var e=document.getElementById("__config");if(!e)return;'
    'var c=JSON.parse(e.textContent);c.base=document.baseURI.replace(/[^/]*$/,"");'
    "e.textContent=JSON.stringify(c)})()</script>"
)


def root_path(site_url: str | None) -> str:
    """The path mkdocs put before every URL of the 404 page: ``site_url``'s, else ``/``."""
    path = urlsplit(site_url or "/").path or "/"
    return path if path.endswith("/") else path + "/"


def relative(text: str, site_url: str | None = None) -> str:
    """``text``, the 404 page mkdocs wrote, with its URLs relative to the site's root
    and the two scripts that place it there when it is served at another depth.

    >>> page = '<html><head><link href="/repo/assets/a.css"></head><body>'
    >>> page += '<a href="/repo/">home</a></body></html>'
    >>> out = relative(page, "https://org.github.io/repo/")
    >>> 'href="assets/a.css"' in out and 'href="./"' in out and '"/repo/"' in out
    True
    """
    prefix = root_path(site_url)

    def local(match: re.Match[str]) -> str:
        return f'{match.group(1)}="{match.group(2) or "./"}"'

    text = re.sub(rf'\b(href|src|action)="{re.escape(prefix)}(?!/)([^"]*)"', local, text)
    text = text.replace(f'"base": "{prefix}"', '"base": "."')
    text = text.replace(f'"search": "{prefix}', '"search": "')
    known = json.dumps(prefix if site_url else "").replace("<", "\\u003c")
    text = _HEAD.sub(lambda m: m.group(0) + _BASE_SCRIPT.format(root=known), text, count=1)
    return _BUNDLE.sub(lambda m: _CONFIG_SCRIPT + m.group(0), text, count=1)
