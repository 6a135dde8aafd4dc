"""Nothing unreviewed takes production down, and ``latest`` never goes back.

A link that holds a protected stage is not unlinked (by the CLI, the SDK or a stale
clone): the stage moves off first, by a reviewed promotion. A link that holds only
unprotected aliases is unlinked with them, as before. Linking an older source version
again never moves a registry's ``latest`` back to it.
"""

from __future__ import annotations

import json

import pytest

import registry_tool as wandb
from registry_tool import _promotion as promotion
from registry_tool._engine.context import Context
from registry_tool._store import init_registry
from tests.helpers import cli_error, cli_out, clone_bare, clone_registry, git, write

PROD = "model-registry/prod/model"


def log(content: str, name: str = "p/model") -> str:
    write("w.bin", content)
    out = json.loads(cli_out("log", "w.bin", "--name", name, "--type", "model", "--json"))
    return out["version"] if "version" in out else out["path"].rsplit(":", 1)[1]


def link(source: str, aliases: tuple[str, ...] = (), *, reviewed: bool = False) -> str:
    """Link ``source`` into model-registry/prod; ``reviewed``: protected stages are set
    as a merged promotion sets them."""
    ctx = Context.open()
    record = ctx.resolve(source, project=None)
    done = promotion.link_version(ctx, record, PROD, aliases, allow_protected=reviewed)
    return done.path


def latest() -> str:
    art = wandb.Api().artifact(f"{PROD}:latest")
    return f"{art.version} <- {art.source_name}"


@pytest.fixture
def prod(registry):
    cli_out(
        "registry", "create", "prod", "--stages", "staging,production",
        "--protected", "production",
    )  # fmt: skip
    return registry


def head(store) -> str:
    return git(store.root, "rev-parse", "HEAD")


# -- unlink ------------------------------------------------------------------------------


def test_unlinking_the_production_holder_is_refused_and_writes_nothing(prod):
    log("weights 0")
    link("p/model:v0", ("staging", "production"), reviewed=True)
    before = head(prod)
    expected = (
        f"error: cannot unlink {PROD}:v0: it holds the protected stage 'production' of "
        f"{PROD}; a protected stage moves only by a reviewed promotion: move it to another "
        f"version first (registry-tool promote {PROD}:<version> --to production --pr)"
    )

    for path in (f"{PROD}:v0", f"{PROD}:production", f"{PROD}:latest"):
        assert cli_error("unlink", path, "--reason", "retire") == expected
    with pytest.raises(
        wandb.errors.ProtectedAliasError, match="holds the protected stage 'production'"
    ):
        wandb.Api().artifact(f"{PROD}:v0").unlink()

    assert head(prod) == before
    assert git(prod.root, "status", "--porcelain") == ""
    assert wandb.Api().artifact(f"{PROD}:production").version == "v0"


def test_a_stale_clone_cannot_unlink_what_production_took_on_the_remote(tmp_path, monkeypatch):
    seed = init_registry(tmp_path / "seed", name="acme", storage=str(tmp_path / "blobs"))
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(seed.root))
    cli_out(
        "registry", "create", "prod", "--stages", "staging,production", "--protected", "production"
    )
    log("weights 0")
    link("p/model:v0")
    bare = clone_bare(seed.root, tmp_path / "remote.git")
    stale = clone_registry(bare, tmp_path / "stale")
    mate = clone_registry(bare, tmp_path / "mate")
    # On the remote, production moves to v0 (a merged promotion); the stale clone has not pulled.
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(mate.root))
    link("p/model:v0", ("production",), reviewed=True)
    remote_main = git(bare, "rev-parse", "main")
    monkeypatch.setenv("REGISTRY_TOOL_DIR", str(stale.root))

    err = cli_error("unlink", f"{PROD}:v0")

    assert "holds the protected stage 'production'" in err and "--pr" in err
    assert git(bare, "rev-parse", "main") == remote_main
    assert git(bare, "ls-tree", "-r", "--name-only", "main", "registries/prod/model/unlinked") == ""


def test_a_link_with_only_unprotected_aliases_is_unlinked_with_them(prod):
    """Today's behaviour, kept: the unlink mark is written, and every alias the link
    holds (unprotected stages, other aliases, ``latest``) goes in the same commit."""
    log("weights 0")
    link("p/model:v0", ("staging", "candidate"))
    out = json.loads(cli_out("unlink", f"{PROD}:staging", "--reason", "bad eval", "--json"))
    assert out == {"path": f"{PROD}:v0", "source": "p/model:v0", "unlinked": True}
    mark = (prod.root / "registries/prod/model/unlinked/v0.yaml").read_text()
    assert "reason: bad eval" in mark
    assert not (prod.root / "registries/prod/model/aliases").exists()
    assert git(prod.root, "log", "-1", "--format=%s") == f"unlink {PROD}:v0"


def test_unlink_takes_only_a_registry_version(prod):
    log("weights 0")
    err = cli_error("unlink", "p/model:v0")
    assert err == (
        "error: p/model:v0: unlink takes a registry version, "
        "model-registry/<registry>/<collection>:<vN or alias>"
    )


# -- latest --------------------------------------------------------------------------------


def test_linking_an_older_source_again_never_moves_latest_back(prod):
    for n in range(3):
        log(f"weights {n}")
    link("p/model:v2")
    assert latest() == "v0 <- p/model:v2"
    assert link("p/model:v0") == f"{PROD}:v1"  # a new link, of an older source
    assert latest() == "v0 <- p/model:v2"
    link("p/model:v1")
    link("p/model:v2")  # the same content again: its existing link
    assert latest() == "v0 <- p/model:v2"
    log("weights 3")
    link("p/model:v3")
    assert latest() == "v3 <- p/model:v3"
    link("p/model:v0")  # the existing link v1 of p/model:v0: latest stays
    assert latest() == "v3 <- p/model:v3"


def test_latest_follows_the_newest_link_across_source_collections(prod):
    """Versions of different collections are not ordered: the link made last is latest."""
    log("weights 5")
    log("weights 6")
    link("p/model:v1")
    log("other weights", name="p/other")
    link("p/other:v0")
    assert latest() == "v1 <- p/other:v0"
