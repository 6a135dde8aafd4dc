"""What the page kinds render with: the ``PageKind`` entry, the Jinja2 environment and
the ``Renderer`` that collects pages, their lineage graphs and images, and decides which
of a version's or run's pages can stay as the last build made them.

Templates come from the registry repo's ``site_templates/`` (and ``--templates``) as
well as the package, so they are data, not code: they render in Jinja's immutable
sandbox, where reaching for ``__class__``, ``__globals__`` or a method that changes a
value is a ``SecurityError``, reported as an error naming the template file and line.
A template (or the folder, or ``registry-tool.css``) that a symbolic link brings in
from outside the repo is refused, since its bytes would be published.

Templates have filters of the site's own, so every page shows the same thing the same
way: ``when`` (a timestamp, ``2026-12-02 00:48 UTC`` in a ``<time>``, to which a small
script adds how long ago), ``person`` (a git identity by name, never its e-mail
address), ``held`` (a stage mark with text a screen reader reads), ``digest`` (its
first twelve digits, the whole in a title), ``path`` (a path that may break only after
a slash, for an ``rt-path`` cell) and ``trunc`` (a long value cut to one line, the whole
in a title).

A page kind is one ``PageKind`` in ``kinds.PAGE_KINDS`` plus its render function,
which is given the ``Renderer`` and renders every page of its kind::

    def render_home(r: Renderer) -> None:
        r.render("home", r.path("home"), counts=...)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from registry_tool._engine.context import Context
from registry_tool._fmt import short_digest
from registry_tool._resources import data_path
from registry_tool._site import lineage as lineage_mod
from registry_tool._site import pages as p
from registry_tool._site.model import SiteData
from registry_tool._store import Snapshot
from registry_tool.errors import RegistryError

TEMPLATES = "site_templates"  # the registry repo's folder of templates


@dataclass(frozen=True)
class PageKind:
    """One kind of page.

    ``path`` is where its pages live in the docs tree, a ``str.format`` pattern of the
    page's parts (``"runs/{0}/{1}.md"``: project, run id); ``template`` renders them.
    mkdocs builds the ``navigable`` kinds; the others are set into the theme's shell,
    and stay in the search index when ``searchable``. ``render`` renders every page of
    the kind; None for kinds whose pages a parent kind's ``render`` makes along with
    its own (a version's files and table pages, so they share its fingerprint).
    """

    name: str
    path: str
    template: str
    render: Callable[[Renderer], None] | None
    navigable: bool = False
    searchable: bool = False


def registry_path(root: Path, rel: str) -> Path | None:
    """``root/rel`` when the registry repo has it, else None. A symbolic link on the
    way is refused: what it names, anywhere on the machine, would be published."""
    current = root
    for part in Path(rel).parts:
        current = current / part
        if current.is_symlink():
            raise RegistryError(
                f"{rel}: a symbolic link; the site reads only the repo's own files", path=rel
            )
    return current if current.exists() else None


class _Folder(jinja2.FileSystemLoader):
    """The templates of one folder; with ``contained`` (the registry's), none of them a
    symbolic link out of it."""

    def __init__(self, folder: Path, shown: str, *, contained: bool = False) -> None:
        super().__init__(str(folder))
        self.folder = os.path.normpath(str(folder))
        self.shown = shown  # how errors name the folder
        self.contained = contained

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        inside = Path(filename).resolve().is_relative_to(Path(self.folder).resolve())
        if self.contained and not inside:
            shown = f"{self.shown}/{template}"
            raise RegistryError(f"{shown}: a symbolic link out of its folder", path=shown)
        return source, filename, uptodate

    def name(self, filename: str) -> str | None:
        """How errors name ``filename``, when it is one of this folder's templates."""
        if not filename.startswith(self.folder + os.sep):
            return None
        return self.shown + "/" + Path(filename).relative_to(self.folder).as_posix()


class SiteEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, knowing its template folders so that errors name the file."""

    folders: list[_Folder]

    def name(self, filename: str) -> str | None:
        for folder in self.folders:
            found = folder.name(filename)
            if found is not None:
                return found
        return None


_ADDRESS = re.compile(r"\s*<[^<>]*>\s*$")


def when(value: Any) -> Markup | str:
    """A timestamp as every page shows it, ``2026-12-02 00:48 UTC``, in a ``<time>``
    whose ``datetime`` machines read and whose title keeps the seconds; text that is not
    a timestamp is shown as it is. Already shown (Markup) passes through, so a value a
    render function formatted is not formatted twice."""
    if isinstance(value, Markup) or value is None or value == "":
        return "" if value is None else value
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:  # the registry writes UTC; a bare time is taken as such
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    iso = moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso, moment.strftime("%Y-%m-%d %H:%M:%S UTC"), moment.strftime("%Y-%m-%d %H:%M UTC")
    )


def person(value: Any) -> str:
    """Who did something, by name: a git identity ``Ada <ada@example.test>`` shows
    ``Ada``, a bare address its local part, so no page publishes an e-mail address."""
    text = "" if value is None else str(value)
    name = _ADDRESS.sub("", text).strip()
    if not name and "<" in text:  # "<ada@example.test>" alone
        text = text.strip().strip("<>")
    elif name:
        text = name
    return text.split("@", 1)[0] if "@" in text else text


TIME_SCRIPT = "assets/registry-tool-time.js"  # adds "(3 days ago)" to each <time>
_TIME_JS = b"""(function () {
  var units = [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];
  function ago(s) {
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(s / units[i][1]);
      if (n >= 1) return n + " " + units[i][0] + (n > 1 ? "s" : "") + " ago";
    }
    return "just now";
  }
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var s = (Date.now() - Date.parse(t.dateTime)) / 1e3;
    if (!(s >= 0)) return;
    var e = t.querySelector(".rt-ago");
    if (!e) {
      e = document.createElement("span");
      e.className = "rt-ago";
      t.appendChild(document.createTextNode(" "));
      t.appendChild(e);
    }
    e.textContent = "(" + ago(s) + ")";
  });
})();
"""


def held(stage: Any) -> Markup:
    """The mark of a version holding ``stage``: a dot that screen readers read as
    "holds production" instead of "black circle"."""
    return Markup('<span role="img" aria-label="holds {}" title="holds {}">●</span>').format(
        stage, stage
    )


def shown(value: Any) -> str:
    """A value as a page shows it: a mapping or list as JSON, and text past
    ``pages.MAX_TEXT`` characters cut with a note of how much more there was, so that
    one value cannot make a page of megabytes."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if len(text) > p.MAX_TEXT:
        text = text[: p.MAX_TEXT] + f"… ({len(text) - p.MAX_TEXT} more characters)"
    return text


def digest(value: Any) -> Markup | str:
    """A digest in a line of text or a cell: its first twelve digits, as the CLI and the
    files list show it, in a ``<code>`` whose title holds the whole. The whole, 64
    digits in one word, would break mid-string on a phone and push the line apart."""
    if value is None or value == "":
        return ""
    text = str(value)
    return Markup('<code class="rt-digest" title="{}">{}</code>').format(text, short_digest(text))


def path(value: Any) -> Markup | str:
    """A path escaped, with a ``<wbr>`` after each slash, so that in a narrow ``rt-path``
    cell it breaks between its folders rather than inside a name."""
    if value is None:
        return ""
    escaped = str(escape(shown(value)))  # escaping writes no slash: they are the path's
    broken = escaped.replace("/", "/<wbr>")
    return Markup(broken.removesuffix("<wbr>") if escaped.endswith("/") else broken)


def trunc(value: Any) -> Markup | str:
    """A free value in a cell of a list (a run's name, a summary's text): past
    ``pages.TRUNC_AT`` characters it is cut to one line by ``rt-trunc`` with the whole of it
    in the title, so that one long value does not make every row of its table tall."""
    if value is None:
        return ""
    text = shown(value)
    if len(text) <= p.TRUNC_AT:
        return escape(text)
    return Markup('<span class="rt-trunc" title="{}">{}</span>').format(text, text)


def environment(ctx: Context, templates: Path | None) -> SiteEnvironment:
    """Templates from ``templates``, then the registry's ``site_templates/``, then the
    packaged ones, rendered in the sandbox; every value HTML-escaped and cut at
    ``pages.MAX_TEXT``."""
    folders: list[_Folder] = []
    if templates is not None:
        folders.append(_Folder(templates, str(templates)))
    own = registry_path(ctx.store.root, TEMPLATES)
    if own is not None and own.is_dir():
        folders.append(_Folder(own, TEMPLATES, contained=True))
    packaged = data_path(TEMPLATES)
    folders.append(_Folder(Path(str(packaged)), str(packaged)))

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup) or value is None:
            return "" if value is None else value
        return shown(value)

    env = SiteEnvironment(
        loader=jinja2.ChoiceLoader(list(folders)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
    )
    env.folders = folders
    env.filters.update(when=when, person=person, held=held, digest=digest, path=path, trunc=trunc)
    return env


def template_error(env: SiteEnvironment, template: str, exc: jinja2.TemplateError) -> RegistryError:
    """A template's failure as one line naming its file and line: the template that
    broke (an included one, when it was), not only the page's."""
    filename: str | None = getattr(exc, "filename", None)  # a syntax error says where
    line: int | None = getattr(exc, "lineno", None)
    if filename is None:  # a failure while rendering: the last template frame says where
        tb = exc.__traceback__
        while tb is not None:
            if env.name(tb.tb_frame.f_code.co_filename) is not None:
                filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
    shown = (env.name(filename) if filename else None) or template
    lines = (exc.message or "").strip().splitlines() or [type(exc).__name__]
    why = "the sandbox refused it: " if isinstance(exc, SecurityError) else ""
    where = f" line {line}:" if line else ""
    return RegistryError(f"{shown}:{where} {why}{lines[0]}", path=shown)


def fingerprint_base(env: jinja2.Environment, config: dict[str, Any]) -> str:
    """What every page depends on besides its data: the templates in effect, the site
    config (the nav, so the shells), the theme's and this code's versions."""
    h = hashlib.sha256()
    assert env.loader is not None
    for name in sorted(env.loader.list_templates()):
        source, _, _ = env.loader.get_source(env, name)
        h.update(name.encode() + b"\0" + source.encode() + b"\0")
    stable = {k: v for k, v in config.items() if k not in ("docs_dir", "site_dir")}
    h.update(json.dumps(stable, sort_keys=True, default=str).encode())
    h.update(version("mkdocs-material").encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        h.update(module.read_bytes())
    return h.hexdigest()


class Renderer:
    """Collects a build's pages (docs path -> Markdown) as the page kinds render them."""

    def __init__(
        self,
        ctx: Context,
        data: SiteData,
        env: SiteEnvironment,
        kinds: Mapping[str, PageKind],
        *,
        fingerprint_base: str = "",
        out: Path = Path(),
        prior: dict[str, Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.data = data
        self.env = env
        self.kinds = kinds
        self.fingerprint_base = fingerprint_base  # what every page depends on
        self.out = out
        self.prior = prior or {}  # version or run page -> [fingerprint, pages, assets]
        self.lineage = lineage_mod.Lineage(data, lambda key: key)
        self.pages: dict[str, str] = {}
        self.group: list[str] | None = None  # pages of the version being rendered
        self.group_assets: set[str] = set()  # and the images its tables show
        self.reused: dict[str, Any] = {}  # the same as ``prior``, this build
        self.kept: set[str] = set()  # pages left as the last build made them
        self.kept_assets: set[str] = set()
        self.detached: set[str] = set()  # rendered into a shell, not built by mkdocs
        self.searchable: set[str] = set()  # detached pages still in the search index
        self.graphs: dict[str, tuple[str, bool]] = {}  # page -> (DOT source, cut)
        self.assets: dict[str, bytes] = {TIME_SCRIPT: _TIME_JS}

    def packaged_asset(self, asset: str) -> None:
        """Publish one of the site's own files from ``site_templates/`` at ``asset``
        (``assets/<its name>``)."""
        source = data_path("site_templates") / asset.removeprefix("assets/")
        self.assets[asset] = source.read_bytes()

    @functools.cached_property
    def snapshot(self) -> Snapshot:
        """The commit the site is built from, opened once for every page that reads
        beyond the loaded records (a version's edits): opening it reads the commit, and
        a 10,000-version build would do so 20,000 times."""
        return Snapshot(self.ctx.store.git, self.data.commit)

    def path(self, kind: str, *parts: str) -> str:
        """Where a page of ``kind`` lives in the docs tree (``.md``)."""
        return self.kinds[kind].path.format(*parts)

    def href(self, from_page: str, kind: str, *parts: str) -> str:
        """Relative URL from ``from_page`` to a page of ``kind``."""
        return p.href(from_page, self.path(kind, *parts))

    def render(self, kind: str, target: str, /, **context: Any) -> None:
        """Render ``target``, a page of ``kind``, with the kind's template."""
        entry = self.kinds[kind]
        try:
            self.pages[target] = self.env.get_template(entry.template).render(**context)
        except jinja2.TemplateError as exc:
            raise template_error(self.env, entry.template, exc) from exc
        if "<time datetime=" in self.pages[target]:  # the reader's "3 days ago", kept fresh
            script = p.asset_href(target, TIME_SCRIPT)
            self.pages[target] += f'\n<script src="{script}" defer></script>\n'
        if entry.navigable:
            return
        self.detached.add(target)
        if self.group is not None:
            self.group.append(target)
        if entry.searchable:
            self.searchable.add(target)

    def unchanged(self, page: str, fingerprint: str) -> bool:
        """Whether a version's (or a run's) pages can stay as the last build made them:
        the same inputs, and every page of them still in OUT."""
        prior = self.prior.get(page)
        if not prior or prior[0] != fingerprint:
            return False
        if not all((self.out / (q.removesuffix(".md") + ".html")).is_file() for q in prior[1]):
            return False
        self.kept.update(prior[1])
        self.kept_assets.update(prior[2])
        self.reused[page] = prior
        return True

    def around(self, focus: str) -> lineage_mod.Graph:
        """The lineage graph around a node, its links relative to the node's page."""
        result = self.lineage.around(focus)
        page = self.path(*lineage_mod.page_of(focus))
        for key, attrs in result.nodes.items():
            attrs["URL"] = p.href(page, self.path(*lineage_mod.page_of(key)))
        return result

    def lineage_marker(self, page: str, graph: lineage_mod.Graph, dot: str) -> str:
        """Register ``page``'s graph; the marker its template shows, replaced by the
        picture once every graph is rendered (``inline_lineage``)."""
        self.graphs[page] = (dot, graph.cut)
        return f"@@LINEAGE:{page}@@"

    def inline_lineage(self, svgs: Mapping[str, str]) -> None:
        """Replace each page's lineage marker by its SVG, or by the DOT source in a code
        block when there is no SVG (``dot`` missing)."""
        for page, (dot, cut) in self.graphs.items():
            found = svgs.get(page)
            if found is not None:
                block = f'<div class="rt-lineage">{found}</div>'
            else:
                block = "```dot\n" + dot + "```"
            if cut:
                block += (
                    f'\n\n<p class="rt-cut">Showing {lineage_mod.HOPS} steps around this '
                    "node; the lineage goes on beyond them.</p>"
                )
            self.pages[page] = self.pages[page].replace(f"@@LINEAGE:{page}@@", block)
