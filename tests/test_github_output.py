"""What a registry's text can do once printed: nothing. The GitHub annotations and job
summary of ``check``, and every line the CLI prints, carry a registry's names, paths,
reasons and descriptions as text only.

GitHub's runner is stood in for by ``runner_commands``, which reads a step's output as
actions/runner does (``ActionCommand.TryParseV2``, then the legacy ``TryParse``), and
the job summary is rendered by markdown-it's GFM-like preset (tables, autolinks, HTML).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from registry_tool._checks.report import CheckReport, Problem
from registry_tool._escape import log_line, md_cell, printable, workflow_command_escape
from registry_tool._model.layout import alias_file, collection_dir
from registry_tool._store import RegistryStore
from registry_tool.cli import render
from registry_tool.cli.check_cmds import github_report
from tests.helpers import cli_out, git, invoke, write

# --- GitHub's runner, as it reads a step's output --------------------------------------

# Commands the runner registers (every command extension, and stop-commands).
REGISTERED = {
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
}
_UNESCAPE_DATA = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
_UNESCAPE_PROPERTY = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]


def _unescape(text: str, table: list[tuple[str, str]]) -> str:
    for token, value in table:
        text = text.replace(token, value)
    return text


def runner_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands GitHub's runner finds in ``output``, one per line at most:
    (command, properties, data), unescaped as the runner does."""
    found = []
    for line in re.split(r"\r\n|\r|\n", output):
        body = line.lstrip()
        if body.startswith("::"):  # TryParseV2
            end = body.find("::", 2)
            if end < 0:
                continue
            head, data = body[2:end], body[end + 2 :]
            name, _, props = head.partition(" ")
            if name not in REGISTERED:
                continue
            properties = {}
            for prop in filter(None, props.split(",")):
                key, _, value = prop.partition("=")
                properties[key] = _unescape(value, _UNESCAPE_PROPERTY)
            found.append((name, properties, _unescape(data, _UNESCAPE_DATA)))
        elif "##[" in line:  # TryParse (legacy): anywhere in the line
            start = line.index("##[") + 3
            end = line.find("]", start)
            if end >= 0 and line[start:end].split(" ")[0] in REGISTERED:
                found.append((line[start:end].split(" ")[0], {}, line[end + 1 :]))
    return found


def test_the_stand_in_runner_finds_commands():
    out = "plain\n  ::add-mask::s3cret\nx ##[warning]legacy\n::error file=a%3Ab.yaml,line=2::m%0An"
    assert runner_commands(out) == [
        ("add-mask", {}, "s3cret"),
        ("warning", {}, "legacy"),
        ("error", {"file": "a:b.yaml", "line": "2"}, "m\nn"),
    ]


# --- the escapers ------------------------------------------------------------------------


def test_workflow_command_escape_follows_githubs_rules():
    assert workflow_command_escape("100%\r\n: a, b") == "100%25%0D%0A: a, b"
    assert workflow_command_escape("100%\r\n: a, b", property=True) == "100%25%0D%0A%3A a%2C b"
    # A literal "%0A" stays text: the percent sign is escaped first.
    assert workflow_command_escape("%0A") == "%250A"
    # What the runner does not decode is percent-encoded all the same, and shows as text.
    assert workflow_command_escape("\x1b[2J\u2028\x85") == "%1B[2J%E2%80%A8%C2%85"


@pytest.mark.parametrize(
    "text", ["plain", "a:b,c=d", "x\n::warning::pwned", "100% %0A\r", "::add-mask::", "é,:"]
)
def test_a_property_round_trips_through_the_runner(text: str):
    line = f"::error file={workflow_command_escape(text, property=True)},line=1::m"
    assert runner_commands(line) == [("error", {"file": text, "line": "1"}, "m")]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("tab\there", "tab\\there"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("café → 日本 \xa0", "café → 日本 \xa0"),
        ("C:\\already\\nescaped", "C:\\already\\nescaped"),
    ],
)
def test_printable_shows_every_acting_character_escaped(text: str, shown: str):
    assert printable(text) == shown
    assert printable(shown) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("::add-mask::secret", "\\x3a:add-mask::secret"),
        ("  \t::warning::x", "  \\t::warning::x"),
        ("   ::stop-commands::tok", "   \\x3a:stop-commands::tok"),
        ("a: ##[add-mask]x ##[error]y", "a: ##\\x5badd-mask]x ##\\x5berror]y"),
        ("ok\n::warning::pwned", "ok\\n::warning::pwned"),
        ("a :: b", "a :: b"),
    ],
)
def test_a_log_line_is_never_a_workflow_command(text: str, shown: str):
    assert log_line(text) == shown
    assert runner_commands(log_line(text)) == []


HOSTILE = [
    "a | b",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](https://evil.example)",
    "![pixel](https://evil.example/p.png)",
    "https://evil.example/path",
    "visit www.evil.example now",
    "mail someone@evil.example",
    "@octocat and @org/team",
    "&#64;octocat &lt;b&gt;",
    "*strong* **bold** _em_ __under__",
    "`code` ``more``",
    "~~gone~~ $x^2$",
    "back\\slash\\| and \\`",
    "line\nbreak\r\n| x | y |\n|---|---|",
    "\x1b[2J and \u2028",
]


def _cells(markdown: str) -> list[list[str]]:
    """The body cells of the one table ``markdown`` renders to (their HTML)."""
    rendered = MarkdownIt("gfm-like").render(markdown)
    assert rendered.count("<table>") == 1, rendered
    body = rendered.split("<tbody>", 1)[1]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in body.split("<tr>")[1:]]


def _text(cell_html: str) -> str:
    return html.unescape(cell_html).replace("\u200d", "")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_markdown_cell_is_inert(value: str):
    cells = _cells(f"| a | b |\n|---|---|\n| {md_cell(value)} | end |\n")
    assert len(cells) == 1 and len(cells[0]) == 2, cells
    cell = cells[0][0]
    assert "<" not in cell.replace("&lt;", ""), cell  # no element at all: no link, no image
    assert _text(cell) == printable(value)
    assert cells[0][1] == "end"
    shown = html.unescape(cell)
    assert not re.search(r"@[A-Za-z0-9]", shown), "an @mention would notify"
    assert "://" not in shown and "www." not in shown.lower()


# --- check under GitHub Actions ----------------------------------------------------------

PROBLEMS = [
    Problem("projects/p/m/x\n::warning::pwned.yaml", "$", "not a registry file"),
    Problem("::add-mask::secret.yaml", "$.a\n::add-mask::b", "bad, very: bad 100%"),
    Problem("projects/a,b:c.yaml", "$.reason", "x\r\n##[error]y | <b>[l](https://e.test)</b>"),
]


def test_annotations_are_one_escaped_line_per_problem(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    github_report(CheckReport(3, list(PROBLEMS)), root=tmp_path)
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "::error file=projects/p/m/x%0A%3A%3Awarning%3A%3Apwned.yaml,line=1"
        "::$: not a registry file",
        "::error file=%3A%3Aadd-mask%3A%3Asecret.yaml,line=1"
        "::$.a\\n::add-mask::b: bad, very: bad 100%25",
        "::error file=projects/a%2Cb%3Ac.yaml,line=1"
        "::$.reason: x\\r\\n##[error]y | <b>[l](https://e.test)</b>",
    ]
    assert runner_commands(out) == [
        ("error", {"file": p.path, "line": "1"}, printable(f"{p.field}: {p.message}"))
        for p in PROBLEMS
    ]


def test_the_step_summary_is_inert_markdown(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    problems = [*PROBLEMS, *(Problem(f"p{i}.yaml", "$", value) for i, value in enumerate(HOSTILE))]
    github_report(CheckReport(3, problems), root=tmp_path)
    capsys.readouterr()
    text = summary.read_text("utf-8")
    assert text.startswith("## registry-tool check\n")
    rows = _cells(text)
    assert len(rows) == len(problems)
    for row, found in zip(rows, problems, strict=True):
        assert [_text(c) for c in row] == [
            printable(v) for v in (found.path, found.field, found.message)
        ]
        assert "<" not in "".join(row).replace("&lt;", "")


def _committed(store: RegistryStore, files: dict[str, str]) -> None:
    for path, content in files.items():
        write(store.root / path, content)
    git(store.root, "add", "-A")
    git(store.root, "commit", "--quiet", "-m", "hand edit")


def test_check_under_actions_runs_no_command_of_the_registry(registry, tmp_path, monkeypatch):
    write("a.txt", "weights")
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model")
    hostile = f"{collection_dir('p', 'm')}/x\n::warning::pwned ##[add-mask]y.yaml"
    masked = f"{collection_dir('p', 'm')}/::add-mask::secret.yaml"
    _committed(
        registry,
        {
            hostile: "x: 1\n",
            masked: "x: 1\n",
            alias_file("p", "m", "best"): (
                "kind: alias\nalias: best\nversion: 0\nset_at: '2024-05-01T12:00:00Z'\n"
                'reason: "ok\\n::warning::pwned"\n'
            ),
        },
    )
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke("check")
    assert result.exit_code == 1, result.output
    problems = result.stderr.splitlines()
    assert len(problems) == 3, result.stderr
    assert runner_commands(result.stderr) == []
    commands = runner_commands(result.stdout)
    assert sorted(p["file"] for _, p, _ in commands) == sorted(
        [hostile, masked, alias_file("p", "m", "best")]
    )
    assert {name for name, _, _ in commands} == {"error"}
    assert len(_cells(summary.read_text("utf-8"))) == 3


# --- plain output: the terminal and the log --------------------------------------------


def test_render_prints_registry_text_escaped(capsys):
    render.line("name: \x1b[2Jgone\n::warning::pwned")
    render.problem("p.yaml: $: bad\r\n##[add-mask]x")
    render.error("\x1b]8;;https://e.test\x07link\x1b]8;;\x07")
    out, err = capsys.readouterr()
    assert out == "name: \\x1b[2Jgone\\n::warning::pwned\n"
    assert err.splitlines() == [
        "p.yaml: $: bad\\r\\n##\\x5badd-mask]x",
        "error: \\x1b]8;;https://e.test\\x07link\\x1b]8;;\\x07",
    ]
    assert "\x1b" not in out + err


def test_render_table_cells_are_escaped(capsys):
    render.table(["NAME", "REASON"], [["::add-mask::x", "a\nb\x1b[2J"], ["[bold]x[/bold]", None]])
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert len(out.splitlines()) == 3, out
    assert "a\\nb\\x1b[2J" in out and "[bold]x[/bold]" in out
    assert runner_commands(out) == []


def test_json_output_is_the_same_data_without_acting_characters(capsys):
    value: dict[str, Any] = {"reason": "a\u2028b\x85c\x9b[2J ##[warning]x", "n": [1, "é"]}
    render.emit_json(value)
    out = capsys.readouterr().out
    assert json.loads(out) == value
    assert re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", out) is None
    assert runner_commands(out) == []
    assert "é" in out


def test_show_prints_a_hostile_description_on_one_line(registry):
    write("a.txt", "weights")
    description = "\x1b[2Jfirst\n::warning::pwned\u2028third"
    cli_out("log", "a.txt", "--name", "p/m", "--type", "model", "--description", description)
    out = cli_out("show", "p/m:v0")
    assert "  description: \\x1b[2Jfirst\\n::warning::pwned\\u2028third\n" in out
    assert "\x1b" not in out and "\u2028" not in out
    assert runner_commands(out) == []
