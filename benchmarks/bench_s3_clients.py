"""The three clients ``bench_s3.py`` puts side by side, as commands: registry-tool (a
registry on S3, ``log``, ``get``), a plain boto3 loop (a ``python -c`` snippet) and DVC
(its own venv, a git + DVC repo per side); and the environment they all run in."""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

from common import (
    GIT_IDENTITY,
    CommandFailed,
    install_venv,
    isolated_env,
    registry_cmd,
    run,
    say,
)
from servers import ACCESS_KEY, SECRET_KEY

# Makes a registry with S3 storage (registry-tool init has no endpoint option).
INIT_SNIPPET = """
import sys
from registry_tool._store import init_registry
init_registry(sys.argv[1], name="bench-s3", storage=sys.argv[2],
              storage_options={"endpoint_url": sys.argv[3], "region": "us-east-1"})
"""

# The plain boto3 side: one client, one thread, s3transfer's defaults.
BOTO_SNIPPET = """
import os, sys, time
t0 = time.perf_counter()
import boto3, botocore.config
mode, endpoint, bucket, prefix, src, dst = sys.argv[1:7]
client = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1",
    config=botocore.config.Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    ),
)
t1 = time.perf_counter()
if mode == "upload-dir":
    for name in sorted(os.listdir(src)):
        client.upload_file(os.path.join(src, name), bucket, prefix + "/" + name)
elif mode == "download-dir":
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        client.download_file(bucket, prefix + "/" + name, os.path.join(dst, name))
elif mode == "upload-file":
    client.upload_file(src, bucket, prefix + "/" + os.path.basename(src))
elif mode == "download-file":
    client.download_file(bucket, prefix + "/" + os.path.basename(src), dst)
else:
    raise SystemExit("unknown mode " + mode)
print(f"{t1 - t0:.3f} {time.perf_counter() - t1:.3f}")
"""


def s3_env(home: Path) -> dict[str, str]:
    """os.environ with HOME and XDG dirs inside ``home``, no AWS identity but the
    benchmark's, no registry overrides, a fixed git author."""
    return isolated_env(
        home,
        unset_prefixes=("AWS_", "REGISTRY_TOOL_", "DVC_", "GIT_"),
        extra={
            "XDG_CONFIG_HOME": str(home / ".config"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "DVC_NO_ANALYTICS": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            **GIT_IDENTITY,
        },
    )


def checksum_env() -> dict[str, str]:
    return {
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }


# -- registry-tool and boto3 ---------------------------------------------------------


def rt_registry(python: Path, path: Path, bucket: str, endpoint: str, env: dict[str, str]) -> Path:
    """A registry at ``path`` whose storage is ``s3://<bucket>/rt`` on ``endpoint``."""
    cmd = [str(python), "-c", INIT_SNIPPET, str(path), f"s3://{bucket}/rt", endpoint]
    run(cmd, env=env, cwd=path.parent)
    return path


def rt_get(cli: Path, registry: Path, ref: str, root: Path) -> list[str]:
    return registry_cmd(cli, registry, "get", ref, "--root", str(root))


def boto_cmd(
    python: Path, endpoint: str, mode: str, bucket: str, prefix: str, src: Path, dst: Path
) -> list[str]:
    """The boto3 snippet: ``mode`` is upload-dir, download-dir, upload-file or
    download-file; it prints its import and transfer seconds."""
    return [str(python), "-c", BOTO_SNIPPET, mode, endpoint, bucket, prefix, str(src), str(dst)]


# -- DVC -----------------------------------------------------------------------------


def install_dvc(venv: Path) -> tuple[float | None, str]:
    """``dvc[s3]`` in its own venv (reused when it answers): seconds (None when reused)
    and what was done."""
    dvc = venv / "bin" / "dvc"
    if dvc.exists():
        with contextlib.suppress(CommandFailed):
            version = run([str(dvc), "--version"]).strip()
            note = f"reused {venv} (dvc {version})"
            say(note)
            return None, note
        shutil.rmtree(venv)
    say(f"installing dvc[s3] into {venv} (timed separately, not counted)")
    base = getattr(sys, "_base_executable", None) or sys.executable
    seconds = install_venv(venv, "dvc[s3]", python=base)
    say(f"dvc installed in {seconds:.1f} s")
    return seconds, f"pip install 'dvc[s3]' into {venv}"


def dvc_repo(dvc: Path, repo: Path, bucket: str, endpoint: str, env: dict[str, str]) -> None:
    """A fresh git + DVC repo with ``s3://bucket/dvc`` as its default remote."""
    repo.mkdir(parents=True)
    exe = str(dvc)
    # DVC's site cache (its index of hashes) defaults to /var/tmp/dvc: keep it here,
    # fresh for every repo (its commands all run with this env).
    env["DVC_SITE_CACHE_DIR"] = str(repo.parent / "dvc-site-cache")
    run(["git", "init", "--quiet", "--initial-branch=main"], env=env, cwd=repo)
    run([exe, "init", "--quiet"], env=env, cwd=repo)
    run([exe, "config", "core.analytics", "false"], env=env, cwd=repo)
    run([exe, "remote", "add", "--default", "bench", f"s3://{bucket}/dvc"], env=env, cwd=repo)
    run([exe, "remote", "modify", "bench", "endpointurl", endpoint], env=env, cwd=repo)
