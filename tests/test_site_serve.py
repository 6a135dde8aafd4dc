"""``registry-tool site serve`` as a user runs it: a real process on 127.0.0.1, a busy
port told in one line, and nothing left running once the command is stopped."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.helpers import CLI_SCRIPT, cli_process


def _gone(pgid: int, within: float = 10.0) -> bool:
    """Whether no process of the group ``pgid`` is left (waiting up to ``within`` s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_busy_port_is_one_line_and_exit_1_before_any_build(registry, tmp_path):
    with socket.socket() as held:  # the port this test holds busy
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        out = tmp_path / "site"
        proc = cli_process("site", "serve", "--port", str(port), "--out", str(out), timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"port {port} on 127.0.0.1" in lines[0] and "in use" in lines[0]
    assert not out.exists()  # told before the build: nothing written


def test_a_port_out_of_range_is_a_usage_error(registry, tmp_path):
    proc = cli_process("site", "serve", "--port", "65536", "--out", str(tmp_path / "s"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("stop", "started_ignoring_sigint"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
)
def test_serves_the_site_and_leaves_nothing_running_when_stopped(
    registry, tmp_path, stop, started_ignoring_sigint
):
    out = tmp_path / "site"
    proc = subprocess.Popen(
        [CLI_SCRIPT, "site", "serve", "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: what is left of it can be found
        # A job a script put in the background, or a test runner's worker, starts
        # with SIGINT ignored: Ctrl-C must still stop the server.
        preexec_fn=_ignore_sigint if started_ignoring_sigint else None,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert found, (first, proc.stderr.read() if proc.stderr else "")
        url = found.group(0)
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url) as page:
            assert page.status == 200 and b"<html" in page.read()
        proc.send_signal(stop)
        assert proc.wait(timeout=120) == 0
        assert _gone(proc.pid), "a process of the serve command outlived it"
        stderr = proc.stderr.read() if proc.stderr else ""
        assert "Traceback" not in stderr, stderr
        with socket.socket() as again:  # no one listens on the port any more
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", int(found.group(1))))
    finally:
        if proc.poll() is None:  # only what this test started, by its PID
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
