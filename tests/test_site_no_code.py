"""Building the site runs no code from the registry repo.

Whatever a registry repo holds (its ``mkdocs.yml``, its ``site_templates/``, a Python
file at its root) is read as data: hooks, plugins, Markdown extensions and theme
overrides are refused before anything is written, registry templates render in
Jinja's sandbox, and mkdocs never imports a module from the repo. Each way code could
run is tried with a real ``mkdocs build`` and a marker file the code would create.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import registry_tool as wandb
from registry_tool._engine.context import Context
from registry_tool._resources import data_path
from registry_tool._site import build as site_build
from registry_tool.errors import DocumentError, RegistryError
from tests.helpers import cli_error, cli_out, cli_process, write


@pytest.fixture
def small(registry):
    """A registry with one logged version, so the build has pages of every sort: built
    by mkdocs (home) and set into the theme's shell (the version's)."""
    write("model.bin", "weights")
    with wandb.init(project="demo", job_type="train") as run:
        model = wandb.Artifact("classifier", type="model")
        model.add_file("model.bin")
        run.log_artifact(model)
    return registry


@pytest.fixture
def marker(tmp_path) -> Path:
    """The file hostile code would create: it must never exist."""
    return tmp_path / "marker"


def _python_writing(marker: Path) -> str:
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"


def _mkdocs_yml(root: Path, extra: str) -> None:
    """The packaged mkdocs.yml with ``extra`` appended (top-level YAML)."""
    base = data_path("mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(base + extra, encoding="utf-8")


def _refused(root: Path, out: Path, field: str) -> DocumentError:
    with pytest.raises(DocumentError) as failed:
        site_build.build(Context.open(root), out)
    assert failed.value.path == "mkdocs.yml" and failed.value.field == field, failed.value
    assert str(failed.value).startswith(f"mkdocs.yml: {field}: ")
    assert not out.exists()  # refused before anything was written
    return failed.value


# -- the registry's mkdocs.yml ---------------------------------------------------------


def test_a_hook_is_refused_and_never_imported(small, tmp_path, marker):
    hook = write(small.root / "hooks.py", _python_writing(marker))
    _mkdocs_yml(small.root, f"hooks:\n  - {hook}\n")
    _refused(small.root, tmp_path / "site", "$.hooks")
    assert not marker.exists()


def test_a_plugin_off_the_list_is_refused_and_never_loaded(small, tmp_path, marker, monkeypatch):
    # A real installed plugin (a distribution with an mkdocs.plugins entry point, found
    # on PYTHONPATH as any installed package is found) that writes the marker on import.
    site = tmp_path / "site-packages"
    write(site / "rt_marker_plugin.py", _python_writing(marker) + "Plugin = object\n")
    info = site / "rt_marker_plugin-1.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: rt-marker-plugin\nVersion: 1.0\n")
    write(info / "entry_points.txt", "[mkdocs.plugins]\nrt-marker = rt_marker_plugin:Plugin\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    base = (
        data_path("mkdocs.yml").read_text().replace("  - search\n", "  - search\n  - rt-marker\n")
    )
    write(small.root / "mkdocs.yml", base)
    error = _refused(small.root, tmp_path / "site", "$.plugins[1]")
    assert "rt-marker" in str(error) and "search" in str(error)  # names the allowed ones
    assert not marker.exists()


def test_a_markdown_extension_named_by_module_is_refused(small, tmp_path, marker, monkeypatch):
    # In the Pages job the build runs from the registry's checkout: a module there is
    # importable by name unless nothing ever names it.
    write(small.root / "evilext.py", _python_writing(marker))
    monkeypatch.chdir(small.root)
    base = data_path("mkdocs.yml").read_text()
    write(small.root / "mkdocs.yml", base + "  - evilext\n")  # markdown_extensions is last
    _refused(small.root, tmp_path / "site", "$.markdown_extensions[3]")
    assert not marker.exists()


def test_a_module_at_the_registry_root_shadows_nothing_mkdocs_imports(
    small, tmp_path, marker, monkeypatch
):
    write(small.root / "click.py", _python_writing(marker) + "raise SystemExit(3)\n")
    write(small.root / "yaml.py", _python_writing(marker) + "raise SystemExit(3)\n")
    monkeypatch.chdir(small.root)
    site_build.build(Context.open(small.root), tmp_path / "site")
    assert not marker.exists()
    assert (tmp_path / "site/index.html").is_file()


def test_a_theme_override_folder_is_refused_and_never_rendered(small, tmp_path, marker):
    overrides = small.root / "site_templates" / "overrides"
    write(
        overrides / "main.html",
        '{% extends "base.html" %}{% block content %}'
        f"{{{{ cycler.__init__.__globals__.os.makedirs({str(marker)!r}) }}}}"
        "{% endblock %}",
    )
    base = data_path("mkdocs.yml").read_text()
    text = base.replace("  name: material\n", f"  name: material\n  custom_dir: {overrides}\n")
    write(small.root / "mkdocs.yml", text)
    _refused(small.root, tmp_path / "site", "$.theme.custom_dir")
    assert not marker.exists()


def test_inherit_is_refused_and_its_file_never_read(small, tmp_path, marker):
    hook = write(tmp_path / "elsewhere/hooks.py", _python_writing(marker))
    parent = write(tmp_path / "elsewhere/base.yml", f"hooks:\n  - {hook}\n")
    _mkdocs_yml(small.root, f"INHERIT: {parent}\n")
    _refused(small.root, tmp_path / "site", "$.INHERIT")
    assert not marker.exists()


def test_a_python_tag_is_refused(small, tmp_path, marker):
    _mkdocs_yml(small.root, f"extra:\n  x: !!python/object/apply:os.makedirs [{str(marker)!r}]\n")
    with pytest.raises(DocumentError) as failed:
        site_build.build(Context.open(small.root), tmp_path / "site")
    assert failed.value.path == "mkdocs.yml"
    assert not marker.exists() and not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("extra_javascript:\n  - https://example.com/x.js\n", "$.extra_javascript"),
        ("extra_templates:\n  - x.html\n", "$.extra_templates"),
        ("docs_dir: /etc\n", "$.docs_dir"),
        ("nav:\n  - Home: index.md\n", "$.nav"),
        ("site_description: '<script>alert(1)</script>'\n", "$.site_description"),
        ("copyright: 'a \"quoted\" one'\n", "$.copyright"),
        ("site_url: 'javascript:alert(1)'\n", "$.site_url"),
        ("extra:\n  analytics:\n    provider: google\n", "$.extra.analytics"),
        ("watch:\n  - /\n", "$.watch"),
        ("extra:\n  generator: 'no'\n", "$.extra.generator"),
    ],
)
def test_settings_off_the_list_are_refused(small, tmp_path, extra, field):
    _mkdocs_yml(small.root, extra)
    _refused(small.root, tmp_path / "site", field)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        # Reads files from anywhere on disk into a page, and may fetch URLs.
        ("  - md_in_html\n", "  - md_in_html\n  - pymdownx.snippets\n", "$.markdown_extensions[3]"),
        ("  - tables\n", "  - markdown.extensions.tables\n", "$.markdown_extensions[0]"),
        # An allowed extension, but an option off its list (a fence's formatter is code).
        (
            "  - md_in_html\n",
            "  - md_in_html\n  - pymdownx.superfences:\n      custom_fences:\n        - name: x\n",
            "$.markdown_extensions[3].pymdownx.superfences.custom_fences",
        ),
        (
            "  - search\n",
            "  - search:\n      prebuild_index: true\n",
            "$.plugins[0].search.prebuild_index",
        ),
        ("  - search\n", "  - material/projects\n", "$.plugins[0]"),
        (
            "  - assets/registry-tool.css\n",
            "  - assets/registry-tool.css\n  - https://example.com/x.css\n",
            "$.extra_css[1]",
        ),
        ("  name: material\n", "  name: readthedocs\n", "$.theme.name"),
        (
            "plugins:\n  - search\n",
            "plugins:\n  search: {}\n  rt-marker: {}\n",
            "$.plugins.rt-marker",
        ),
        (
            "  - tables\n",
            "  - toc:\n      permalink: [1]\n",
            "$.markdown_extensions[0].toc.permalink",
        ),
        ("  - tables\n", "  - toc:\n      slugify: x\n", "$.markdown_extensions[0].toc.slugify"),
        (
            "  name: material\n",
            "  name: material\n  static_templates: [x.html]\n",
            "$.theme.static_templates",
        ),
        ("scheme: slate\n", 'scheme: slate"><script>x</script>\n', "$.theme.palette[1].scheme"),
        (
            "icon: material/brightness-7\n",
            "icon: ../../../etc/passwd\n",
            "$.theme.palette[0].toggle.icon",
        ),
    ],
)
def test_plugins_extensions_and_theme_keys_off_the_list_are_refused(
    small, tmp_path, old, new, field
):
    base = data_path("mkdocs.yml").read_text()
    assert old in base
    write(small.root / "mkdocs.yml", base.replace(old, new, 1))
    _refused(small.root, tmp_path / "site", field)


def test_the_cli_says_it_on_one_line_and_exits_1(small, tmp_path, marker):
    hook = write(small.root / "hooks.py", _python_writing(marker))
    _mkdocs_yml(small.root, f"hooks:\n  - {hook}\n")
    message = cli_error("site", "build", "--out", str(tmp_path / "site"))
    assert message.startswith("error: mkdocs.yml: $.hooks: ")
    assert not marker.exists() and not (tmp_path / "site").exists()


def test_the_packaged_config_and_every_allowed_setting_build(small, tmp_path):
    from registry_tool._site import config as site_config

    site_config.check(site_config.read(data_path("mkdocs.yml"), "mkdocs.yml"), "mkdocs.yml")
    base = data_path("mkdocs.yml").read_text()
    base = base.replace("site_name: Registry\n", "site_name: Team R&D models\n")
    base = base.replace("  - search\n", "  - search:\n      lang: en\n")
    base += (
        "  - toc:\n      permalink: true\n  - admonition\n  - pymdownx.details\n"
        "  - pymdownx.superfences\n"
        "site_description: What the team trains\n"
        "site_author: The team\n"
        "copyright: Copyright 2025 The team\n"
        "site_url: https://models.example.com/\n"
        "extra:\n  generator: false\n"
    )
    write(small.root / "mkdocs.yml", base)
    site_build.build(Context.open(small.root), tmp_path / "site")
    home = (tmp_path / "site/index.html").read_text()
    assert "Team R&amp;D models" in home or "Team R&D models" in home
    assert "Copyright 2025 The team" in home
    assert (tmp_path / "site/artifacts/demo/classifier/v0.html").is_file()


def test_the_short_forms_of_allowed_settings_build(small, tmp_path):
    base = data_path("mkdocs.yml").read_text()
    theme = base[base.index("theme:") : base.index("plugins:")]
    base = base.replace(theme, "theme: material\n").replace(
        "plugins:\n  - search\n", "plugins:\n  search:\n    separator: '[-_ ]+'\n"
    )
    write(small.root / "mkdocs.yml", base)
    site_build.build(Context.open(small.root), tmp_path / "site")
    assert (tmp_path / "site/artifacts/demo/classifier/v0.html").is_file()


def test_as_the_pages_job_runs_it_no_module_of_the_checkout_is_imported(small, tmp_path, marker):
    # The console script, started from the registry's checkout, as the workflow does.
    for module in ("click.py", "yaml.py", "markdown.py", "jinja2.py"):
        write(small.root / module, _python_writing(marker) + "raise SystemExit(3)\n")
    built = cli_process("site", "build", "--out", str(tmp_path / "site"), cwd=small.root)
    assert built.returncode == 0, built.stderr
    assert not marker.exists()
    assert (tmp_path / "site/artifacts/demo/classifier/v0.html").is_file()


def test_the_default_site_still_builds(small, tmp_path):
    report = site_build.build(Context.open(small.root), tmp_path / "site")
    assert (tmp_path / "site/index.html").is_file()
    assert (tmp_path / "site/artifacts/demo/classifier/v0.html").is_file()
    assert report.pages > 0
    out = cli_out("site", "build", "--out", str(tmp_path / "again"))
    assert "Built" in out


# -- the registry's templates ----------------------------------------------------------


ESCAPES = {
    "cycler": "{{{{ cycler.__init__.__globals__.os.makedirs({m!r}) }}}}",
    "lipsum": "{{{{ lipsum.__globals__['os'].makedirs({m!r}) }}}}",
    "namespace": "{{{{ namespace.__init__.__globals__.os.makedirs({m!r}) }}}}",
    "joiner": "{{{{ joiner.__init__.__globals__.os.makedirs({m!r}) }}}}",
    "subclasses": "{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}",
    "self": "{{{{ self.__init__.__globals__ }}}}",
    "format": "{{{{ '{{0.__class__.__init__.__globals__}}'.format(cycler) }}}}",
    "attr filter": "{{{{ cycler | attr('__init__') | attr('__globals__') }}}}",
    "mutation": "{{% set xs = [] %}}{{{{ xs.append({m!r}) }}}}",
}


@pytest.mark.parametrize("payload", ESCAPES.values(), ids=list(ESCAPES))
def test_a_registry_template_reaching_out_of_the_sandbox_is_refused(
    small, tmp_path, marker, payload
):
    write(small.root / "site_templates/index.md.j2", "# Home\n\n" + payload.format(m=str(marker)))
    with pytest.raises(RegistryError) as failed:
        site_build.build(Context.open(small.root), tmp_path / "site")
    assert failed.value.path == "site_templates/index.md.j2"
    assert str(failed.value).startswith("site_templates/index.md.j2: ")
    assert "\n" not in str(failed.value)
    assert not marker.exists() and not (tmp_path / "site").exists()


def test_the_error_names_the_included_template_that_broke_out(small, tmp_path, marker):
    write(small.root / "site_templates/index.md.j2", '# Home\n\n{% include "part.md.j2" %}\n')
    write(
        small.root / "site_templates/part.md.j2",
        "ok\n" + ESCAPES["cycler"].format(m=str(marker)),
    )
    message = cli_error("site", "build", "--out", str(tmp_path / "site"))
    assert message.startswith("error: site_templates/part.md.j2: line 2: the sandbox refused")
    assert not marker.exists() and not (tmp_path / "site").exists()


def test_a_templates_folder_given_on_the_command_line_is_sandboxed_too(small, tmp_path, marker):
    folder = tmp_path / "mine"
    write(folder / "index.md.j2", "# Home\n" + ESCAPES["lipsum"].format(m=str(marker)))
    with pytest.raises(RegistryError) as failed:
        site_build.build(Context.open(small.root), tmp_path / "site", templates=folder)
    assert failed.value.path == str(folder / "index.md.j2")
    assert not marker.exists() and not (tmp_path / "site").exists()


def test_a_broken_registry_template_is_an_error_naming_it(small, tmp_path):
    write(small.root / "site_templates/index.md.j2", "# Home\n\n{% if %}\n")
    message = cli_error("site", "build", "--out", str(tmp_path / "site"))
    assert message.startswith("error: site_templates/index.md.j2: line 3: ")
    assert not (tmp_path / "site").exists()


def test_a_registry_template_still_customises_its_page_with_values_escaped(small, tmp_path):
    write(
        small.root / "site_templates/index.md.j2",
        "# {{ data.name }} home\n\n{{ '<b>not bold</b>' }} {% for c in counts.items() %}"
        "{{ c[0] }}={{ c[1] }} {% endfor %}\n",
    )
    report = site_build.build(Context.open(small.root), tmp_path / "site")
    home = report.markdown["index.md"]
    assert "test-registry home" in home and "&lt;b&gt;not bold&lt;/b&gt;" in home
    assert "versions=1" in home
    assert "test-registry home" in (tmp_path / "site/index.html").read_text()


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("site_templates/index.md.j2", "site_templates/index.md.j2"),
        ("site_templates/registry-tool.css", "site_templates/registry-tool.css"),
        ("site_templates", "site_templates"),
        ("mkdocs.yml", "mkdocs.yml"),
    ],
)
def test_a_symbolic_link_out_of_the_repo_is_refused_not_published(small, tmp_path, link, shown):
    secret = write(tmp_path / "secret/index.md.j2", "# TOPSECRET\n")
    write(tmp_path / "secret/registry-tool.css", "/* TOPSECRET */\n")
    target = secret.parent if link == "site_templates" else secret
    (small.root / link).parent.mkdir(parents=True, exist_ok=True)
    (small.root / link).symlink_to(target)
    with pytest.raises(RegistryError) as failed:
        site_build.build(Context.open(small.root), tmp_path / "site")
    assert failed.value.path == shown and str(failed.value).startswith(f"{shown}: ")
    assert "symbolic link" in str(failed.value)
    assert not (tmp_path / "site").exists()
