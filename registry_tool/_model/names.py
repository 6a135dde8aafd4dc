"""Names, aliases, entry paths and artifact paths: the grammar of DESIGN.md, no I/O.

>>> parse_artifact_path("team/proj/model:best")
ArtifactPath(entity='team', project='proj', name='model', alias='best', version=None, registry=None)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from registry_tool._model.layout import COLLECTION_FILE, REGISTRY_FILE, RUNS
from registry_tool._model.layout import parse_version as parse_version  # the grammar of :vN
from registry_tool.errors import InvalidNameError, UsageError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_NAME_RE = re.compile(NAME_PATTERN)
_LOOKS_LIKE_VERSION = re.compile(r"^v[0-9]+$")

REGISTRY_PROJECT = "model-registry"
LATEST = "latest"
MAX_ENTRY_PATH = 1024
MAX_SEGMENT = 255  # NAME_MAX: the longest file name ext4, APFS, XFS and btrfs hold, in bytes

# Names that the registry's own files take beside a name of this kind, in the same
# folder of the repo (``_model/layout.py`` draws the layout): an artifact called "runs"
# would be the project's runs folder, a run called "artifact" a collection's file, and a
# registry collection called "registry.yaml" the registry's config. Compared folded, and
# without trailing dots (Windows drops them), as a checkout on macOS or Windows sees them.
_LAYOUT_NEIGHBOURS = {
    "artifact name": (RUNS, RUNS),
    "run id": (COLLECTION_FILE.partition(".")[0], COLLECTION_FILE),
    "collection name": (REGISTRY_FILE, REGISTRY_FILE),
}


def validate_name(value: object, *, what: str = "name") -> str:
    """Return ``value`` if it is a valid artifact, project or run name (``what`` says
    which), and not a name the repo layout keeps for its own files beside it.

    >>> validate_name("Runs", what="artifact name")
    Traceback (most recent call last):
    ...
    registry_tool.errors.InvalidNameError: invalid artifact name 'Runs': it is reserved (the repo layout uses 'runs' there)
    """
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise InvalidNameError(
            f"invalid {what} {value!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    reserved = _LAYOUT_NEIGHBOURS.get(what)
    if reserved is not None and fold(value).rstrip(".") == reserved[0]:
        raise InvalidNameError(
            f"invalid {what} {value!r}: it is reserved (the repo layout uses {reserved[1]!r} there)"
        )
    return value


def validate_alias(value: object) -> str:
    """Return ``value`` if it is a valid alias (a name that is not ``v<digits>``)."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise InvalidNameError(
            f"invalid alias {value!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if _LOOKS_LIKE_VERSION.fullmatch(value):
        raise InvalidNameError(
            f"invalid alias {value!r}: 'v<digits>' names a version, it cannot be an alias"
        )
    return value


_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.@+=,%~ -]+(?:/[A-Za-z0-9_.@+=,%~ -]+)*")
# Characters no file name may hold: C0 and C1 controls and DEL (terminal escapes, NEL,
# which YAML reads as a line break), the line and paragraph separators (they break the
# one-line messages and listings a name is printed in) and the bidirectional controls
# (they make a listed name read as another one: "evil\u202etxt.exe").
_UNSAFE_CHAR = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


# What a one-line field (a reason, an author, a storage URL, a gate condition...) may not
# hold: line breaks (LF, CR, NEL, U+2028, U+2029) and every other C0 or C1 control and
# DEL. A newline in a reason would forge a trailer in a commit message, an escape
# sequence would rewrite the terminal it is printed on. The schemas' ``$defs/line`` refuses
# the same characters (a test compares them).
LINE_BREAK_OR_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NOT_ONE_LINE = "may not contain a line break or control character"


def validate_line(value: str | None, *, field: str) -> str | None:
    """Return ``value`` (or None) if it is one line, for a check before anything is
    written: ``field`` is the JSON path the value will be stored at.

    >>> validate_line("offline eval passed", field="$.reason")
    'offline eval passed'
    >>> validate_line("ok\\nReviewed-by: boss", field="$.reason")
    Traceback (most recent call last):
    ...
    registry_tool.errors.UsageError: $.reason: may not contain a line break or control character
    """
    if value is not None and LINE_BREAK_OR_CONTROL.search(value):
        raise UsageError(f"{field}: {NOT_ONE_LINE}", field=field)
    return value


# Version control folders, as git itself refuses them in a tree (``verify_path``): a
# download that writes ``.git/config`` or ``.git/hooks/...`` into a code repository, or a
# ``.git`` file pointing elsewhere, makes the next ``git status`` there run a command of
# the artifact's choosing (``core.fsmonitor``); ``.hg`` and ``.svn`` hold the same power
# for Mercurial and Subversion. Matched as the file systems of a checkout see a name:
# any case, trailing dots and spaces dropped (Windows), ``git~1`` (the NTFS short name)
# and the code points HFS+ ignores (zero-width joiners and the like).
_VCS_SEGMENT = re.compile(r"(?:^|/)(\.git|\.hg|\.svn|git~1)[. ]*(?:/|$)", re.IGNORECASE)
_HFS_IGNORED = re.compile(r"[\u200c\u200d\u200e\u200f\u202a-\u202e\u206a-\u206f\ufeff]")


def vcs_segment(path: str) -> str | None:
    """The segment of ``path`` that a version control tool would take for its own
    folder, or None.

    >>> vcs_segment("models/.Git/config"), vcs_segment(".gitignore")
    ('.Git', None)
    """
    for segment in path.split("/"):
        plain = segment if segment.isascii() else _HFS_IGNORED.sub("", segment).casefold()
        if _VCS_SEGMENT.fullmatch(plain):
            return segment
    return None


def _long_segment(path: str) -> str | None:
    """The first segment of ``path`` over ``MAX_SEGMENT`` UTF-8 bytes, or None."""
    return next((s for s in path.split("/") if len(s.encode("utf-8")) > MAX_SEGMENT), None)


def validate_entry_path(value: object) -> str:
    """Return ``value`` if it is a safe relative POSIX path inside an artifact: one that
    every common file system can hold and that no tool takes for its own."""
    if (
        isinstance(value, str)
        and len(value) <= MAX_ENTRY_PATH
        and _PLAIN_PATH.fullmatch(value)
        and "/./" not in f"/{value}/"
        and "/../" not in f"/{value}/"
        and (len(value) <= MAX_SEGMENT or _long_segment(value) is None)
        and not _VCS_SEGMENT.search(value)
    ):
        return value  # the common case: plain ASCII names, checked in one regex
    if not isinstance(value, str) or not value:
        raise InvalidNameError(f"invalid file name {value!r} in artifact: empty")
    problem = None
    if "\x00" in value:
        problem = "contains a NUL byte"
    elif "\\" in value:
        problem = "contains a backslash (use '/')"
    elif value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        problem = "is absolute"
    elif len(value.encode("utf-8", "surrogatepass")) > MAX_ENTRY_PATH:
        problem = f"is longer than {MAX_ENTRY_PATH} bytes"
    elif any(part in ("", ".", "..") for part in value.split("/")):
        problem = "has an empty, '.' or '..' segment"
    elif unsafe := _UNSAFE_CHAR.search(value):
        problem = f"contains a control character (U+{ord(unsafe.group()):04X})"
    elif any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        problem = "is not valid UTF-8"
    elif unicodedata.normalize("NFC", value) != value:
        problem = "is not in Unicode NFC form"
    if problem:
        raise InvalidNameError(f"invalid file name {value!r} in artifact: it {problem}")
    if long := _long_segment(value):
        raise InvalidNameError(
            f"invalid file name {value!r} in artifact: its segment {long!r} is "
            f"{len(long.encode('utf-8'))} bytes, over the {MAX_SEGMENT} a file name may have"
        )
    if vcs := vcs_segment(value):
        raise InvalidNameError(
            f"invalid file name {value!r} in artifact: {vcs!r} is reserved for version "
            "control (a download there could make git run commands)"
        )
    return value


@dataclass(frozen=True)
class ArtifactPath:
    """A parsed artifact path; at most one of ``alias`` and ``version`` is set."""

    entity: str | None
    project: str | None
    name: str
    alias: str | None = None
    version: int | None = None
    registry: str | None = None

    @property
    def selector(self) -> str:
        """``vN``, the alias, or ``latest`` when neither was given."""
        if self.version is not None:
            return f"v{self.version}"
        return self.alias or LATEST

    def __str__(self) -> str:
        if self.registry is not None:
            entity = f"{self.entity}/" if self.entity else ""
            collection = f"/{self.name}" if self.name else ""
            return f"{entity}{REGISTRY_PROJECT}/{self.registry}{collection}:{self.selector}"
        prefix = "/".join(p for p in (self.entity, self.project) if p)
        return f"{prefix + '/' if prefix else ''}{self.name}:{self.selector}"


def parse_artifact_path(text: object) -> ArtifactPath:
    """Parse ``name``, ``name:alias``, ``name:vN``, ``project/name:alias``,
    ``entity/project/name:alias`` or ``model-registry/<registry>/<collection>:<alias>``.
    """
    if not isinstance(text, str) or not text:
        raise InvalidNameError(f"invalid artifact path {text!r}")
    body, sep, selector = text.partition(":")
    if sep and not selector:
        raise InvalidNameError(f"invalid artifact path {text!r}: nothing after ':'")
    parts = body.split("/")
    alias: str | None = None
    version: int | None = None
    if sep:
        version = parse_version(selector)
        if version is None:
            alias = validate_alias(selector)

    def named(value: str, what: str) -> str:
        try:
            return validate_name(value, what=what)
        except InvalidNameError as exc:
            raise InvalidNameError(f"invalid artifact path {text!r}: {exc}") from None

    if REGISTRY_PROJECT in parts[:2] and len(parts) >= 2:
        start = parts.index(REGISTRY_PROJECT)
        rest = parts[start + 1 :]
        if start > 1 or len(rest) not in (1, 2):
            raise InvalidNameError(
                f"invalid artifact path {text!r}: expected "
                "'model-registry/<registry>/<collection>:<alias>'"
            )
        entity = named(parts[0], "entity") if start == 1 else None
        registry = named(rest[0], "registry name")
        collection = named(rest[1], "collection name") if len(rest) == 2 else ""
        return ArtifactPath(entity, REGISTRY_PROJECT, collection, alias, version, registry)
    if len(parts) == 1:
        return ArtifactPath(None, None, named(parts[0], "artifact name"), alias, version)
    if len(parts) == 2:
        return ArtifactPath(
            None, named(parts[0], "project"), named(parts[1], "artifact name"), alias, version
        )
    if len(parts) == 3:
        return ArtifactPath(
            named(parts[0], "entity"),
            named(parts[1], "project"),
            named(parts[2], "artifact name"),
            alias,
            version,
        )
    raise InvalidNameError(
        f"invalid artifact path {text!r}: expected [[entity/]project/]name[:alias|:vN]"
    )


def parse_link_target(target: str, default_collection: str) -> tuple[str, str]:
    """``model-registry/<registry>[/<collection>]`` -> (registry, collection); the
    collection defaults to the linked artifact's name.

    >>> parse_link_target("model-registry/prod", "clf")
    ('prod', 'clf')
    """
    parts = target.strip("/").split("/")
    if parts[0] != "model-registry" or len(parts) not in (2, 3):
        raise UsageError(
            f"link target {target!r}: expected 'model-registry/<registry>' or "
            "'model-registry/<registry>/<collection>'"
        )
    registry = validate_name(parts[1], what="registry name")
    collection = validate_name(
        parts[2] if len(parts) == 3 else default_collection, what="collection name"
    )
    return registry, collection


def fold(name: str) -> str:
    """A name as a case-insensitive file system (or a person) sees it: ``Model`` and
    ``model`` are one place on macOS and Windows checkouts.

    >>> fold("Model") == fold("model") == fold("ＭＯＤＥＬ")
    True
    """
    return unicodedata.normalize("NFKC", name).casefold()
