"""Finding credentials in registry files, where they must never be.

A registry repo is read by everyone who can clone it, and its site is published:
credentials belong in the AWS credential chain (environment, ``AWS_PROFILE``, an
instance role) or the CI's secret store, never in ``registry.yaml``. The schemas
already refuse unknown keys; this catches a secret put where text is allowed:

- a key named like a credential (``aws_secret_access_key``, ``secret_key``, ``token``,
  ``password``, ``credentials``, ``api_key``...), whatever its value;
- a value that looks like one: a GitHub token (``ghp_...``, ``github_pat_...``), an
  AWS access key id (``AKIA...``, ``ASIA...``), a 40-character AWS secret access key;
- a URL carrying credentials: ``s3://KEY:SECRET@bucket``, ``https://user:pw@host``, or
  a query string with ``X-Amz-Credential``, ``X-Amz-Signature``, ``token=``...;
- any of the value patterns in a comment.

Findings never repeat the secret: they say where it is and what it looks like.

>>> [f.field for f in scan({"storage": {"url": "s3://AKIAABCDEFGHIJKLMNOP:x@bucket"}})]
['$.storage.url']
>>> scan({"description": "weights of the tokenizer"})
[]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CREDENTIALS_FROM = (
    "use the AWS credential chain (environment, AWS_PROFILE, an instance role) or your "
    "CI's secrets instead"
)
ADVICE = f"looks like a secret; credentials never go in registry files: {CREDENTIALS_FROM}"

# Whole words of a key (split on _ - . and camelCase) that name a credential.
_SECRET_WORDS = {
    "secret",
    "secrets",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "token",
    "credential",
    "credentials",
    "apikey",
    "signature",
}
_SECRET_PAIRS = {
    ("api", "key"),
    ("access", "key"),
    ("secret", "key"),
    ("private", "key"),
    ("session", "key"),
    ("auth", "key"),
    ("security", "token"),
    ("x", "amz"),
}
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

_PATTERNS = [
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"), "a GitHub token"),
    (
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|APKA)[A-Z0-9]{16}\b"),
        "an AWS access key id",
    ),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]
# An AWS secret access key: 40 base64 characters, standing alone.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_BUCKET_SCHEMES = ("s3", "gs")


@dataclass(frozen=True)
class Finding:
    """Where a secret seems to be (a JSON path like ``$.storage.url``) and what it
    looks like; never the secret itself."""

    field: str
    what: str

    @property
    def message(self) -> str:
        return f"{ADVICE} (it looks like {self.what})"


def secret_key_name(key: str) -> bool:
    """Whether a key names a credential: ``aws_secret_access_key``, ``apiKey``, ``token``
    (not ``tokenizer``: whole words only)."""
    words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in pairwise(words))


def _looks_random(text: str) -> bool:
    """Mixed case and digits, few separators, high entropy: a generated key, not a
    path, a word or a hex digest."""
    if not (re.search(r"[a-z]", text) and re.search(r"[A-Z]", text) and re.search(r"\d", text)):
        return False
    if text.count("/") + text.count("+") > 3:
        return False
    counts = {c: text.count(c) for c in set(text)}
    entropy = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return entropy >= 4.0


def value_findings(text: str) -> Iterator[str]:
    """What in a piece of text looks like a credential."""
    for pattern, what in _PATTERNS:
        if pattern.search(text):
            yield what
    if any(_looks_random(m.group(0)) for m in _AWS_SECRET.finditer(text)):
        yield "an AWS secret access key"
    for match in _URL.finditer(text):
        yield from _url_findings(match.group(0))


def _authority(rest: str) -> str:
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


def _has_userinfo(scheme: str, rest: str) -> bool:
    """Whether the part after ``scheme://`` starts with ``user[:password]@``.

    ``s3://KEY:SE/CRET@bucket``: a secret with '/' in it ends the authority early, so
    for the bucket schemes a ':' in it counts too (a bucket name holds neither ':' nor
    '@'), while an '@' further on is a key's own character (``s3://b/model@v2``)."""
    authority = _authority(rest)
    if "@" in authority:
        return True
    return scheme.lower() in _BUCKET_SCHEMES and ":" in authority


def _url_findings(url: str) -> Iterator[str]:
    scheme, _, rest = url.partition("://")
    if _has_userinfo(scheme, rest):
        yield "credentials in a URL (user:password@)"
        return
    try:
        query = urlsplit(url).query
    except ValueError:
        return
    # ';' separates parameters for some servers as '&' does for all.
    for name, value in parse_qsl(query.replace(";", "&"), keep_blank_values=True):
        if value and (secret_key_name(name) or name.lower() in ("sig", "awsaccesskeyid")):
            yield f"a credential in a URL's query string ({name}=...)"
            return


def url_findings(url: str) -> list[str]:
    """What in one URL looks like a credential (its userinfo, a signing or token query
    parameter, or any value pattern anywhere in it), each named once.

    >>> url_findings("https://host/f.bin?X-Amz-Signature=abc")
    ["a credential in a URL's query string (X-Amz-Signature=...)"]
    >>> url_findings("s3://bucket/models/resnet@v2.bin")
    []
    """
    found = [what for pattern, what in _PATTERNS if pattern.search(url)]
    if any(_looks_random(m.group(0)) for m in _AWS_SECRET.finditer(url)):
        found.append("an AWS secret access key")
    found.extend(_url_findings(url))
    return list(dict.fromkeys(found))


def redact_url(url: str) -> str:
    """``url`` fit to be shown when it holds a credential: no userinfo, no query string,
    no fragment, and nothing past the host when what is left still looks like one.

    >>> redact_url("s3://KEY:SE/CRET@bucket/key?x=1")
    's3://bucket/key'
    >>> redact_url("https://host/data.bin?X-Amz-Signature=abc")
    'https://host/data.bin'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(a URL)"
    authority = _authority(rest)
    if "@" in authority:
        rest = authority.rpartition("@")[2] + rest[len(authority) :]
    elif _has_userinfo(scheme, rest) and "@" in rest:
        rest = rest.split("@", 1)[1]  # s3://KEY:SE/CRET@bucket: the secret held a '/'
    rest = rest.split("?", 1)[0].split("#", 1)[0].split(";", 1)[0]
    shown = f"{scheme}://{rest}"
    if url_findings(shown):
        shown = f"{scheme}://{_authority(rest).rpartition('@')[2]}/..."
    return shown


def _walk(value: Any, path: str, *, names_are_data: bool = False) -> Iterator[Finding]:
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}"
            if (
                not names_are_data
                and isinstance(key, str)
                and secret_key_name(key)
                and item not in (None, "", [], {})
            ):
                yield Finding(child, f"a credential (a key named {key!r})")
                continue
            # A model registry's gates are keyed by stage names, which are data.
            yield from _walk(item, child, names_are_data=path == "$" and key == "gates")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, str):
        for what in value_findings(value):
            yield Finding(path, what)


def scan(doc: Any, raw: bytes | None = None) -> list[Finding]:
    """Every field of a parsed document (and, given ``raw``, every comment) that looks
    like it holds a credential, one finding per field; ``doc`` None scans ``raw`` whole
    (a file that does not parse)."""
    found: dict[str, list[str]] = {}
    for finding in _walk(doc, "$") if doc is not None else ():
        found.setdefault(finding.field, []).append(finding.what)
    if raw is not None:
        values = list(_strings(doc))
        for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            if doc is not None:
                _, hash_mark, line = line.partition("#")
                if not hash_mark or any(line in v for v in values):
                    continue
            where = f"line {number}" if doc is None else f"a comment on line {number}"
            for what in value_findings(line):
                found.setdefault("$", []).append(f"{what}, in {where}")
    return [Finding(field, ", ".join(dict.fromkeys(whats))) for field, whats in found.items()]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value
