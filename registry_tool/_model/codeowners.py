"""CODEOWNERS as GitHub reads it, and the paths a registry's CODEOWNERS must cover.

A promotion is safe only if GitHub asks the right people to review it, and GitHub
decides who from CODEOWNERS. So ``check`` reads the file exactly as GitHub does, and
asks of every path that governs the registry whether some owner must approve a change
to it. GitHub's rules, which this module follows:

- a line is a pattern and its owners (``@org/team``, ``@user`` or an email); ``#`` starts
  a comment; ``\\#`` is a ``#`` inside a pattern, though not at its start, where GitHub
  reads no escape;
- patterns are gitignore's: a leading ``/`` or one inside the pattern anchors it at the
  root, else a one-name pattern matches at any depth; ``*`` and ``?`` never match ``/``
  and ``**`` spans folders; a trailing ``/`` owns what is below a folder; a pattern
  without one also owns what is below a folder of that name, except ``dir/*``, which
  owns only the folder's own files; paths are case-sensitive;
- the last matching line wins, and a matching line without owners leaves a path with
  none;
- a line GitHub cannot read (``!``, ``[ ]``, ``***``, a malformed owner) is skipped.

>>> found = parse("/registries/ @acme/ml\\n/registries/dev/\\n")
>>> found.owners_of("registries/prod/registry.yaml"), found.owners_of("registries/dev/registry.yaml")
(('@acme/ml',), ())
>>> uncovered("/registries/ @acme/ml\\n", ["/registries/*/registry.yaml", "/mkdocs.yml"])
['/mkdocs.yml']
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from registry_tool._model.governance import ModelRegistryConfig
from registry_tool._model.layout import (
    REGISTRY_FILE,
    links_dir,
    model_registry_file,
    registry_alias_file,
    unlinked_dir,
)
from registry_tool._model.records import RegistryConfig
from registry_tool.errors import UsageError

CODEOWNERS = ".github/CODEOWNERS"
# Where GitHub looks for the file; it reads the first that exists.
LOCATIONS = (CODEOWNERS, "CODEOWNERS", "docs/CODEOWNERS")
SITE_TEMPLATES = "site_templates"
MKDOCS = "mkdocs.yml"
GITHUB = ".github"

_TEAM = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_-]*")
_USER = re.compile(r"@[A-Za-z0-9][A-Za-z0-9_-]*")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A name no pattern of the file needs to spell: it stands for every name the file's
# patterns do not tell apart.
_ANY = "x-any"


def check_owner(owner: str) -> str:
    """``owner`` if it has a form GitHub reads as an owner, else a ``UsageError`` naming
    it: a malformed owner makes GitHub skip the whole line, leaving its paths unowned.

    >>> check_owner("@acme/ml-approvers")
    '@acme/ml-approvers'
    """
    if not any(form.fullmatch(owner) for form in (_TEAM, _USER, _EMAIL)):
        raise UsageError(f"{owner!r} is not @org/team, @user or an email")
    return owner


def parse_owners(owners: Iterable[str]) -> tuple[str, ...]:
    """The owners, each checked, repeats dropped; at least one."""
    checked = tuple(dict.fromkeys(check_owner(owner) for owner in owners))
    if not checked:
        raise UsageError("CODEOWNERS lines need at least one owner: @org/team, @user or an email")
    return checked


@dataclass(frozen=True)
class Rule:
    """One line: ``pattern`` as written (escapes kept), its owners (none un-owns what
    it matches) and its line number (0 for a line not read from a file)."""

    pattern: str
    owners: tuple[str, ...] = ()
    line: int = 0

    def __post_init__(self) -> None:
        _compile(self.pattern)

    def matches(self, path: str) -> bool:
        """Whether this line applies to ``path`` (relative to the repo root, no leading
        ``/``)."""
        return _compile(self.pattern).fullmatch(path) is not None


@dataclass(frozen=True)
class CodeOwners:
    """A CODEOWNERS file as GitHub reads it: the lines it applies, in order, and why it
    skips the others (``line N: ...``)."""

    rules: tuple[Rule, ...]
    errors: tuple[str, ...] = ()

    def owners_of(self, path: str) -> tuple[str, ...]:
        """Who must review a change to ``path``: the owners of the last line matching it,
        none when that line has none or no line matches."""
        for rule in reversed(self.rules):
            if rule.matches(path):
                return rule.owners
        return ()


def parse(text: str) -> CodeOwners:
    """Read a CODEOWNERS file; lines GitHub would skip are skipped and reported."""
    rules: list[Rule] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _words(line)
        if not words:
            continue
        pattern, *owners = words
        try:
            rules.append(Rule(pattern, tuple(check_owner(o) for o in owners), line=number))
        except (ValueError, UsageError) as exc:
            errors.append(f"line {number}: {exc}")
    return CodeOwners(tuple(rules), tuple(errors))


def render(rules: Iterable[Rule]) -> str:
    """CODEOWNERS lines for ``rules``, a space or ``#`` in a pattern escaped."""
    return "".join(f"{' '.join((_escaped(r.pattern), *r.owners))}\n" for r in rules)


def with_paths(text: str, paths: Iterable[str], owners: Sequence[str]) -> str:
    """``text`` with a line for each of ``paths`` it leaves uncovered, owned by
    ``owners``, added at the end (where they win); the file's own lines stay as they
    are, and a file covering every path comes back unchanged."""
    missing = uncovered(text, paths)
    if not missing:
        return text
    team = parse_owners(owners)
    head = text if not text or text.endswith("\n") else text + "\n"
    return head + render(Rule(path, team) for path in missing)


def extend(text: str, required: Iterable[str]) -> str:
    """``with_paths`` with the owners the file gives ``/registry.yaml``: the people who
    govern the registry govern what is added to it. A file naming nobody for it stays
    as it is (``check`` reports what it leaves uncovered)."""
    owners = parse(text).owners_of(REGISTRY_FILE)
    return with_paths(text, required, owners) if owners else text


def required_paths(
    root_config: RegistryConfig | None, model_registries: Iterable[ModelRegistryConfig]
) -> list[str]:
    """The CODEOWNERS patterns whose every path needs an owner: the registry's config
    (``root_config``'s file, required whatever it says: it names the storage every
    version's bytes are read from), every model registry's config (a new registry
    included), each protected stage's alias files, each model registry's link and unlink
    files, the site's templates and configuration, and ``.github/`` (the workflows,
    their pinned requirements and CODEOWNERS itself)."""
    paths = [f"/{REGISTRY_FILE}", f"/{model_registry_file('*')}"]
    for config in model_registries:
        paths += [f"/{registry_alias_file(config.name, '*', s)}" for s in config.protected]
        paths += [f"/{links_dir(config.name, '*')}/*", f"/{unlinked_dir(config.name, '*')}/*"]
    paths += [f"/{SITE_TEMPLATES}/", f"/{MKDOCS}", f"/{GITHUB}/"]
    return list(dict.fromkeys(paths))


def uncovered(codeowners_text: str, required: Iterable[str]) -> list[str]:
    """The patterns of ``required`` (anchored, ``*`` only as a whole name, a trailing
    ``/`` for a folder) that stand for some path ``codeowners_text`` gives no owner, in
    the order given.

    A pattern stands for endless paths; the ones tried are those the file's own
    patterns can tell apart: each ``*`` (and, below a folder, one and two levels of
    names) filled with a name no pattern spells and, one at a time, with a name fitting
    each name of every pattern of the file, plus every line's own example path.
    """
    found = parse(codeowners_text)
    names = _names(found.rules)
    return [
        pattern
        for pattern in required
        if any(not found.owners_of(path) for path in _examples(pattern, found.rules, names))
    ]


# -- matching ------------------------------------------------------------------------


def _words(line: str) -> list[str]:
    """The words of a line up to its comment; an escaped space or ``#`` stays in its
    word, escape included (the pattern reads it)."""
    words: list[str] = []
    word = ""
    escaped = False
    for ch in line:
        if escaped:
            word += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "#":
            break
        elif ch in " \t":
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    word += "\\" if escaped else ""
    return [*words, word] if word else words


def _escaped(pattern: str) -> str:
    out = ""
    escaped = False
    for ch in pattern:
        out += "\\" + ch if ch in " \t#" and not escaped else ch
        escaped = ch == "\\" and not escaped
    return out


def _unescaped(pattern: str) -> Iterator[str]:
    escaped = False
    for ch in pattern:
        if not escaped and ch != "\\":
            yield ch
        escaped = ch == "\\" and not escaped


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    """The regular expression a pattern stands for (used with ``fullmatch``); a
    ``ValueError`` for a pattern GitHub cannot read."""
    if not pattern:
        raise ValueError("an empty pattern")
    if "\n" in pattern or "\r" in pattern:
        raise ValueError(f"{pattern!r}: a pattern holds no line break")
    if pattern.startswith("!"):
        raise ValueError(f"{pattern!r}: GitHub has no ! (negated patterns) in CODEOWNERS")
    if pattern.startswith(("#", "\\#")):
        raise ValueError(f"{pattern!r}: GitHub reads no escaped # at the start of a pattern")
    if "***" in pattern:
        raise ValueError(f"{pattern!r}: *** is no pattern")
    if {"[", "]"} & set(_unescaped(pattern)):
        raise ValueError(f"{pattern!r}: GitHub has no [ ] (character ranges) in CODEOWNERS")
    if pattern.endswith("\\") and not pattern.endswith("\\\\"):
        raise ValueError(f"{pattern!r}: a pattern ending in a lone backslash")
    if pattern == "/":
        return re.compile(r"(?!)")
    anchored = pattern.startswith("/")
    segments = (pattern[1:] if anchored else pattern).split("/")
    folder = len(segments) > 1 and segments[-1] == ""
    if folder:
        segments[-1] = "**"
    if not anchored and len(segments) - folder == 1 and segments[0] != "**":
        segments.insert(0, "**")
    out = ""
    slash = False
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == 0:
                out += ".+" if index == last else "(?:.+/)?"
                slash = False
            else:
                out += "/.*" if index == last else "(?:/.+)?"
                slash = True
            continue
        out += "/" if slash else ""
        if segment == "*":
            out += "[^/]+"  # a lone * at the end owns no deeper file (GitHub's dir/*)
        else:
            out += _segment(segment) + ("(?:/.*)?" if index == last else "")
        slash = True
    return re.compile(out)


def _segment(segment: str) -> str:
    out = ""
    escaped = False
    for ch in segment:
        if escaped:
            out += re.escape(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(ch) or re.escape(ch)
    return out


# -- coverage ------------------------------------------------------------------------


def _example_name(segment: str) -> str:
    """A name the glob ``segment`` matches."""
    name = ""
    escaped = False
    for ch in segment:
        if escaped or ch not in "\\*?":
            name += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "?":
            name += "x"
    return name or _ANY


def _parts(rule: Rule) -> list[str]:
    """Example names for the names of a rule's pattern, ``**`` left out."""
    body = rule.pattern.strip("/")
    return [_example_name(s) for s in body.split("/") if s not in ("", "**")] if body else []


def _names(rules: Sequence[Rule]) -> list[str]:
    return list(dict.fromkeys([_ANY, *(name for rule in rules for name in _parts(rule))]))


def _examples(pattern: str, rules: Sequence[Rule], names: Sequence[str]) -> Iterator[str]:
    if not pattern.startswith("/") or pattern == "/":
        raise ValueError(f"{pattern!r}: a required path starts at the root (/...)")
    folder = pattern.endswith("/")
    segments = pattern.strip("/").split("/")
    if any(s != "*" and set(s) & set("*?\\[]") for s in segments):
        raise ValueError(f"{pattern!r}: a required path has * only as a whole name")
    shapes = [[*segments, "*"], [*segments, "*", "*"]] if folder else [segments]
    for shape in shapes:
        slots = [i for i, s in enumerate(shape) if s == "*"]
        base = [_ANY if s == "*" else s for s in shape]
        yield "/".join(base)
        for slot in slots:
            for name in names:
                yield "/".join([*base[:slot], name, *base[slot + 1 :]])
        for slot in (s for s in slots if s + 1 in slots):
            for rule in rules:
                parts = _parts(rule)
                for first, second in itertools.pairwise(parts):
                    yield "/".join([*base[:slot], first, second, *base[slot + 2 :]])
    for rule in rules:
        parts = _parts(rule) + ([_ANY] if rule.pattern.endswith("/") else [])
        deep_enough = len(parts) > len(segments) if folder else len(parts) == len(segments)
        if deep_enough and all(s in ("*", p) for s, p in zip(segments, parts, strict=False)):
            yield "/".join(parts)
