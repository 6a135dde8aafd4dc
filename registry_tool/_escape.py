r"""Text from a registry made inert for the medium it is written to.

Names are strict, but reasons, authors, descriptions, metadata, file paths of a hand
edit and the messages that quote them are not: whatever prints them must keep them
from acting as anything but text. Three media, one function each:

- a terminal or a CI log line: ``log_line`` (control characters shown as escapes, and
  nothing GitHub's runner would take for a workflow command);
- a GitHub workflow command (``::error file=...::message``): ``workflow_command_escape``;
- a Markdown table cell (job summary, pull request body): ``md_cell``.

>>> print(log_line("ok\n::warning::pwned \x1b[2J"))
ok\n::warning::pwned \x1b[2J
>>> workflow_command_escape("a:b,c\n", property=True)
'a%3Ab%2Cc%0A'
>>> md_cell("<b>|x|</b>")
'&lt;b&gt;\\|x\\|&lt;/b&gt;'
"""

from __future__ import annotations

import re

# Characters that act instead of showing: C0 and C1 controls and DEL (line breaks,
# terminal escape sequences; U+009B is CSI on its own), the line and paragraph
# separators, and the bidirectional controls that make text read as other text.
_ACTING = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""``text`` with every acting character written as a Python escape (``\n``,
    ``\x1b``, ``\u202e``), so it shows on one line and changes nothing on the screen.

    A backslash already in the text stays as it is: text escaped once (a history
    cell, say) is not escaped again.

    >>> print(printable("two\nlines\x1b[2J \u202e café"))
    two\nlines\x1b[2J \u202e café
    """
    return _ACTING.sub(_escape_char, text) if _ACTING.search(text) else text


def log_line(text: str) -> str:
    r"""``text`` as one line of a terminal or CI log: ``printable``, and never a GitHub
    workflow command. The runner reads every line a step prints: ``::cmd::`` at the
    start of a line (after spaces) and the legacy ``##[cmd]`` anywhere in it are
    commands (``add-mask``, ``stop-commands``, ``warning``...). The colon or bracket
    that would start one is written as its escape.

    >>> print(log_line("  ::add-mask::secret"))
      \x3a:add-mask::secret
    >>> print(log_line("reason: ##[warning]pwned"))
    reason: ##\x5bwarning]pwned
    """
    text = printable(text)
    body = text.lstrip()
    if body.startswith("::"):
        start = len(text) - len(body)
        text = f"{text[:start]}\\x3a{text[start + 1 :]}"
    return text.replace("##[", "##\\x5b")


_MESSAGE_CODES = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY_CODES = {**_MESSAGE_CODES, ":": "%3A", ",": "%2C"}
_MESSAGE_SPECIAL = re.compile(f"[%\\r\\n]|{_ACTING.pattern}")
_PROPERTY_SPECIAL = re.compile(f"[%\\r\\n:,]|{_ACTING.pattern}")


def workflow_command_escape(text: str, *, property: bool = False) -> str:
    r"""``text`` escaped for a GitHub workflow command: ``%``, CR and LF as ``%25``,
    ``%0D`` and ``%0A`` (the runner decodes them), and in a property (``file=``,
    ``title=``) also ``:`` and ``,`` as ``%3A`` and ``%2C``, which would otherwise end the
    property or the command's head. Other acting characters are percent-encoded too
    (their UTF-8 bytes): the runner leaves those as written, so they show as text.

    >>> workflow_command_escape("50% done\r\n::warning::x")
    '50%25 done%0D%0A::warning::x'
    >>> workflow_command_escape("a\x1b[2J\u2028", property=True)
    'a%1B[2J%E2%80%A8'
    """
    codes = _PROPERTY_CODES if property else _MESSAGE_CODES
    special = _PROPERTY_SPECIAL if property else _MESSAGE_SPECIAL

    def code(match: re.Match[str]) -> str:
        char = match.group()
        return codes.get(char) or "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))

    return special.sub(code, text)


# Markdown punctuation that could start emphasis, code, a link or an image, strike
# through, math, or split a table cell: escaped with a backslash (CommonMark lets any
# ASCII punctuation be escaped so). The backslash itself goes first.
_MD_PUNCTUATION = re.compile(r"[\\`*_\[\]|~$]")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# GitHub links what looks like a URL, a www. host or an e-mail address, and notifies
# who an @mention names: an invisible joiner keeps each from matching.
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")
_JOINER = "\u200d"


def md_cell(text: object) -> str:
    r"""``text`` as inert Markdown in one table cell: acting characters shown as escapes
    (a line break cannot end the row), HTML's ``&``, ``<`` and ``>`` as entities, the
    punctuation of emphasis, code, links, images, strike-through, math and cells
    backslash-escaped, and URLs, ``www.`` hosts, e-mail addresses and @mentions broken
    by a zero-width joiner, so that GitHub renders the text and nothing else.

    >>> md_cell("[x](https://e.test) *hi* @octocat `c`")
    '\\[x\\](https:\u200d//e.test) \\*hi\\* @\u200doctocat \\`c\\`'
    """
    out = printable(str(text))
    out = _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(), out)
    out = "".join(_MD_ENTITIES.get(ch, ch) for ch in out) if re.search("[&<>]", out) else out
    return _AUTOLINK.sub(lambda m: m.group()[:1] + _JOINER + m.group()[1:], out)
