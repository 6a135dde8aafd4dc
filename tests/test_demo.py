"""`make demo`'s main job, run as a user would (fresh HOME, embedded default registry)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_twice_and_stays_idempotent(tmp_path, isolated_env):
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "registry_tool.demo"], capture_output=True, text=True, cwd=isolated_env
        )
        assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "lineage         two-blobs:v0 -> run" in out
    assert "promoted        model-registry/demo-models/blob-classifier:v0 to production" in out
    assert "The registry is a git repo at" in out and "promote model-registry/demo-models" in out
