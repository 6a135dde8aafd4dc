"""A local S3 server for the benchmarks: the tests' SeaweedFS (``weed mini`` on
127.0.0.1, its own data dir), started and stopped by its PID, with the untimed
bucket chores a benchmark needs (create, count, drop)."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

from common import REPO, say


def _load_s3server() -> ModuleType:
    """``tests/s3server.py`` of this checkout, loaded by its path: putting the checkout
    on sys.path would shadow the ``registry_tool`` of the environment."""
    spec = importlib.util.spec_from_file_location("s3server", REPO / "tests" / "s3server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_s3server = _load_s3server()
ACCESS_KEY: str = _s3server.ACCESS_KEY
SECRET_KEY: str = _s3server.SECRET_KEY


class S3Server:
    """One SeaweedFS under ``root`` (wiped when started) and the script's own client."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server: Any = None
        self._client: Any = None

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.proc is not None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return str(self.server.endpoint)

    @property
    def pid(self) -> int:
        assert self.running
        return int(self.server.proc.pid)

    @property
    def log(self) -> Path | None:
        return None if self.server is None else Path(self.server.log)

    @property
    def client(self) -> Any:
        """The script's own (untimed) client: buckets, object counts, cleanup."""
        if self._client is None:
            assert self.server is not None
            self._client = self.server.client()
        return self._client

    def start(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.server = _s3server.SeaweedFS(self.root)
        say(f"starting SeaweedFS (data dir {self.root / 'data'})")
        self.server.start()
        say(f"SeaweedFS pid {self.pid} answers on {self.endpoint}")

    def stop(self) -> None:
        if self.running:
            pid = self.pid
            self.server.stop()  # SIGTERM to its own process group (its PID), then SIGKILL
            say(f"stopped SeaweedFS (pid {pid})")

    def log_tail(self) -> None:
        """Tell the end of the server's log (after a failure)."""
        log = self.log
        if log is not None and log.exists():
            say("SeaweedFS log tail:\n" + log.read_text(errors="replace")[-2000:])

    def create_bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        return name

    def count_objects(self, bucket: str, prefix: str) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sum(len(page.get("Contents", [])) for page in pages)

    def object_size(self, bucket: str, key: str) -> int:
        return int(self.client.head_object(Bucket=bucket, Key=key)["ContentLength"])

    def drop_bucket(self, bucket: str) -> None:
        with contextlib.suppress(Exception):
            self.client.delete_bucket(Bucket=bucket)  # SeaweedFS drops a non-empty one
            return
        with contextlib.suppress(Exception):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(
                        Bucket=bucket, Delete={"Objects": keys, "Quiet": True}
                    )
            self.client.delete_bucket(Bucket=bucket)
