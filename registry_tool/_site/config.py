"""The site's mkdocs settings: the packaged ``mkdocs.yml``, or the registry repo's own,
read as data and checked against an allow-list before anything is built.

A registry repo is written by whoever may open a pull request, and its site is built
on their laptops and in the Pages job. mkdocs would run code from its settings in many
ways: ``hooks`` are Python files it imports, every plugin is code (and some, such as
``material/projects`` or ``material/group``, load further settings or plugins),
a Markdown extension is a module imported by name (a dotted path finds a module in the
checkout), ``theme.custom_dir`` and ``extra_templates`` are Jinja templates mkdocs
renders outside any sandbox, and ``INHERIT`` pulls in another file these checks would
never see. So a registry's ``mkdocs.yml`` may change how the site looks and nothing
else; any other key is refused with a ``DocumentError`` naming ``mkdocs.yml`` and the
key, before a page is rendered or a file written.

The allow-list (every other key, at any level, is refused):

- ``site_name``, ``site_description``, ``site_author``, ``copyright``: text. The
  theme writes these into its HTML unescaped (``copyright`` is meant to be HTML), so
  ``<``, ``>`` and ``"`` are refused rather than escaped (escaping would show twice
  where the theme escapes too).
- ``site_url``: an ``http(s)://`` URL (the pages' canonical links).
- ``theme``: ``material`` (registry-tool sets its pages into material's page), with
  ``language``, ``direction``, ``features``, ``palette`` (``media``, ``scheme``,
  ``primary``, ``accent``, ``toggle.icon``, ``toggle.name``), ``font`` (``false`` or
  ``text``/``code`` font names) and ``icon`` (icon names). Names and icons are plain
  words (an icon is a path of a template mkdocs includes). Not ``custom_dir`` nor
  ``static_templates``: registry pages are customised with ``site_templates/*.md.j2``,
  which render in Jinja's sandbox (see ``render.environment``), and with
  ``site_templates/registry-tool.css``.
- ``plugins``: ``search`` (or ``material/search``) with ``enabled``, ``lang`` and
  ``separator``: the one plugin the site needs. Not its ``prebuild_index`` (it runs
  ``node``), nor ``offline`` (its search index is a script the build does not extend).
- ``markdown_extensions``: Python-Markdown's and pymdownx's markup-only extensions in
  ``EXTENSIONS``, each with the options listed there as plain values. They import
  nothing named in the settings and read no file; ``pymdownx.snippets`` (which reads
  any file, or a URL, into a page) and options that name code (a fence's formatter)
  are refused.
- ``extra_css``: only ``assets/registry-tool.css``, the stylesheet the build writes
  from ``site_templates/registry-tool.css``: any other path names a file the site does
  not have, and a URL would make every page load from elsewhere.
- ``extra``: ``generator`` (``false`` hides the theme's credit) only; the theme's other
  extras add scripts (``analytics``, ``consent``) or links the site does not need.

``extra_javascript`` is refused: a script on every page would undo the escaping of
registry text the site promises. ``docs_dir``, ``site_dir``, ``nav``,
``use_directory_urls`` and ``not_in_nav`` are the build's own and refused rather than
silently replaced. YAML tags (``!!python/...``, ``!ENV``, ``!relative``) are refused by
the strict reader, as anchors and duplicate keys are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from registry_tool import _yamlio as yamlio
from registry_tool._resources import data_path
from registry_tool.errors import DocumentError

FILE = "mkdocs.yml"
# The folder of a registry's own page templates and stylesheet.
TEMPLATES = "site_templates"
_TEXT_REFUSED = re.compile(r'[<>"\x00-\x08\x0b-\x1f\x7f]')
_URL = re.compile(r'\Ahttps?://[^\s<>"\'`\\]+\Z')
_WORD = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9 ._+-]*\Z")  # a font, colour or feature
_ICON = re.compile(r"\A[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*\Z")
_LANGUAGE = re.compile(r"\A[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?\Z")
_MEDIA = re.compile(r"\A[A-Za-z0-9 ():,_-]+\Z")

_Check = Callable[[Any, str, str], None]

PLUGINS: dict[str, frozenset[str]] = {
    "search": frozenset({"enabled", "lang", "separator"}),
    "material/search": frozenset({"enabled", "lang", "separator"}),
}
EXTENSIONS: dict[str, frozenset[str]] = {
    # The site's own pages use these three; mkdocs adds toc.
    "tables": frozenset(),
    "attr_list": frozenset(),
    "md_in_html": frozenset(),
    "toc": frozenset({"permalink", "permalink_title", "title", "toc_depth", "baselevel"}),
    "abbr": frozenset(),
    "admonition": frozenset(),
    "def_list": frozenset(),
    "footnotes": frozenset(),
    "sane_lists": frozenset(),
    "pymdownx.caret": frozenset(),
    "pymdownx.details": frozenset(),
    "pymdownx.highlight": frozenset(
        {"anchor_linenums", "line_spans", "linenums", "pygments_lang_class", "use_pygments"}
    ),
    "pymdownx.inlinehilite": frozenset(),
    "pymdownx.keys": frozenset(),
    "pymdownx.mark": frozenset(),
    "pymdownx.superfences": frozenset(),
    "pymdownx.tabbed": frozenset({"alternate_style"}),
    "pymdownx.tasklist": frozenset({"custom_checkbox"}),
    "pymdownx.tilde": frozenset(),
}
_WHY = {
    "hooks": "hooks are Python files mkdocs imports; a registry's mkdocs.yml may not add any",
    "INHERIT": "it would read settings from another file, past these checks",
    "extra_javascript": "a script on every page would undo the escaping of registry text",
    "extra_templates": "mkdocs renders these templates outside the sandbox "
    "(customise pages with site_templates/*.md.j2)",
    "custom_dir": "mkdocs renders theme overrides outside the sandbox "
    "(customise pages with site_templates/*.md.j2 and site_templates/registry-tool.css)",
    "static_templates": "mkdocs renders these templates outside the sandbox",
}
_BUILD_OWN = ("docs_dir", "site_dir", "nav", "use_directory_urls", "not_in_nav")


def load(root: Path) -> dict[str, Any]:
    """The settings the site is built with, checked: the registry's ``mkdocs.yml`` when
    ``root`` has one, else the packaged one (errors name the file either way)."""
    own = root / FILE
    if own.is_symlink():
        raise DocumentError(FILE, "$", "must be a regular file, not a symbolic link")
    source: Traversable = own if own.is_file() else data_path(FILE)
    name = FILE if own.is_file() else str(source)
    config = read(source, name)
    check(config, name)
    return config


def read(source: Traversable, name: str) -> dict[str, Any]:
    """The YAML of ``source`` (strict: no tags, anchors or duplicate keys) as a mapping."""
    loaded = yamlio.loads(source.read_bytes(), name)
    if loaded is not None and not isinstance(loaded, dict):
        raise DocumentError(name, "$", "must be a mapping of mkdocs settings")
    return loaded or {}


def check(config: Mapping[str, Any], name: str) -> None:
    """Refuse every setting off the allow-list (see the module docstring)."""
    for key, value in config.items():
        field = f"$.{key}"
        if key in _WHY:
            raise DocumentError(name, field, f"not allowed: {_WHY[key]}")
        if key in _BUILD_OWN:
            raise DocumentError(name, field, "not allowed: registry-tool site build sets it")
        rule = _TOP.get(key)
        if rule is None:
            raise DocumentError(
                name,
                field,
                f"not a setting a registry's mkdocs.yml may change (allowed: "
                f"{', '.join(sorted(_TOP))})",
            )
        rule(value, field, name)


def _text(value: Any, field: str, name: str) -> None:
    if not isinstance(value, str):
        raise DocumentError(name, field, "must be text")
    if _TEXT_REFUSED.search(value):
        raise DocumentError(
            name, field, 'may not contain <, > or " (the theme writes it into its HTML as is)'
        )


def _matching(pattern: re.Pattern[str], what: str) -> _Check:
    def rule(value: Any, field: str, name: str) -> None:
        if not isinstance(value, str) or not pattern.match(value):
            raise DocumentError(name, field, f"must be {what}")

    return rule


def _mapping(rules: Mapping[str, _Check]) -> _Check:
    def rule(value: Any, field: str, name: str) -> None:
        if not isinstance(value, dict):
            raise DocumentError(name, field, "must be a mapping")
        for key, item in value.items():
            if key in _WHY:
                raise DocumentError(name, f"{field}.{key}", f"not allowed: {_WHY[key]}")
            if key not in rules:
                raise DocumentError(
                    name, f"{field}.{key}", f"not allowed here (allowed: {', '.join(rules)})"
                )
            rules[key](item, f"{field}.{key}", name)

    return rule


def _list_of(item_rule: _Check) -> _Check:
    def rule(value: Any, field: str, name: str) -> None:
        if not isinstance(value, list):
            raise DocumentError(name, field, "must be a list")
        for i, item in enumerate(value):
            item_rule(item, f"{field}[{i}]", name)

    return rule


def _one_of(*choices: Any) -> _Check:
    def rule(value: Any, field: str, name: str) -> None:
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            raise DocumentError(name, field, f"must be one of {', '.join(map(str, choices))}")

    return rule


def _site_url(value: Any, field: str, name: str) -> None:
    if not isinstance(value, str) or not _URL.match(value):
        raise DocumentError(name, field, "must be an http:// or https:// URL")


def _extra_css(value: Any, field: str, name: str) -> None:
    if not isinstance(value, list):
        raise DocumentError(name, field, "must be a list")
    for i, item in enumerate(value):
        if item != "assets/registry-tool.css":
            raise DocumentError(
                name,
                f"{field}[{i}]",
                "only assets/registry-tool.css (the site's styles come from "
                "site_templates/registry-tool.css, never from elsewhere)",
            )


def _icons(value: Any, field: str, name: str) -> None:
    if not isinstance(value, dict):
        raise DocumentError(name, field, "must be a mapping of icon names")
    for key, item in value.items():
        if isinstance(item, dict):
            _icons(item, f"{field}.{key}", name)
        else:
            _matching(_ICON, "an icon name (material/...)")(item, f"{field}.{key}", name)


def _font(value: Any, field: str, name: str) -> None:
    if value is False:
        return
    word = _matching(_WORD, "a font name")
    _mapping({"text": word, "code": word})(value, field, name)


_PALETTE = _mapping(
    {
        "media": _matching(_MEDIA, "a media query"),
        "scheme": _matching(_WORD, "a colour scheme name"),
        "primary": _matching(_WORD, "a colour name"),
        "accent": _matching(_WORD, "a colour name"),
        "toggle": _mapping(
            {"icon": _matching(_ICON, "an icon name (material/...)"), "name": _text}
        ),
    }
)


def _palette(value: Any, field: str, name: str) -> None:
    if isinstance(value, list):
        _list_of(_PALETTE)(value, field, name)
    else:
        _PALETTE(value, field, name)


_THEME = _mapping(
    {
        "name": _one_of("material"),
        "language": _matching(_LANGUAGE, "a language code"),
        "direction": _one_of("ltr", "rtl"),
        "features": _list_of(_matching(_WORD, "a feature name")),
        "palette": _palette,
        "font": _font,
        "icon": _icons,
    }
)


def _theme(value: Any, field: str, name: str) -> None:
    if isinstance(value, str):
        _one_of("material")(value, field, name)
    else:
        _THEME(value, field, name)


def _plain(value: Any, field: str, name: str) -> None:
    """An option's value: text, a number or a flag; never a structure a tag could hide
    code in (the strict reader has refused tags already)."""
    if isinstance(value, str):
        _text(value, field, name)
    elif not isinstance(value, (bool, int, float)):
        raise DocumentError(name, field, "must be text, a number or true/false")


def _named(kind: str, allowed: Mapping[str, frozenset[str]]) -> _Check:
    """A list of plugins or Markdown extensions: each a name, or a mapping of names to
    their options (None for none)."""

    def entry(key: Any, options: Any, field: str, name: str, at: str) -> None:
        """One plugin or extension: ``field`` names the entry, ``at`` its options."""
        if key not in allowed:
            raise DocumentError(
                name,
                field,
                f"{kind} {key!r} is not allowed (allowed: {', '.join(sorted(allowed))})",
            )
        if options is None:
            return
        if not isinstance(options, dict):
            raise DocumentError(name, at, "must be a mapping of options")
        for option, value in options.items():
            if option not in allowed[key]:
                listed = ", ".join(sorted(allowed[key])) or "none"
                raise DocumentError(
                    name, f"{at}.{option}", f"not an option allowed here (allowed: {listed})"
                )
            _plain(value, f"{at}.{option}", name)

    def rule(value: Any, field: str, name: str) -> None:
        if isinstance(value, dict):
            for key, options in value.items():
                entry(key, options, f"{field}.{key}", name, f"{field}.{key}")
            return
        if not isinstance(value, list):
            raise DocumentError(name, field, "must be a list")
        for i, item in enumerate(value):
            where = f"{field}[{i}]"
            if isinstance(item, dict):
                for key, options in item.items():
                    entry(key, options, where, name, f"{where}.{key}")
            else:
                entry(item, None, where, name, where)

    return rule


_TOP: dict[str, _Check] = {
    "site_name": _text,
    "site_description": _text,
    "site_author": _text,
    "copyright": _text,
    "site_url": _site_url,
    "theme": _theme,
    "plugins": _named("plugin", PLUGINS),
    "markdown_extensions": _named("Markdown extension", EXTENSIONS),
    "extra_css": _extra_css,
    "extra": _mapping({"generator": _one_of(False, True)}),
}
