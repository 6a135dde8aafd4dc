"""Blobs in a local directory: the embedded default, and any shared mount."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from registry_tool._blobs.base import FRESH_FOR, BlobInfo, blob_key
from registry_tool._hashing import CHUNK, Advance, copy_and_hash, hash_file, scratch_path
from registry_tool.errors import CorruptBlobError, StorageError


class LocalBlobStore:
    """``<root>/sha256/<2 hex>/<64 hex>``, written by temp file and rename, read-only after."""

    parallel = 1
    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self._base = f"{root}{os.sep}sha256{os.sep}"
        self.url = root.as_uri()
        self._tmp = root / "tmp"

    def path_for(self, hexdigest: str) -> Path:
        return self.root / blob_key(hexdigest)

    def local_path(self, hexdigest: str) -> Path | None:
        return self.path_for(hexdigest)

    def has(self, hexdigest: str) -> bool:
        # Plain strings, not pathlib: this runs once per file on every log.
        return os.path.isfile(f"{self._base}{hexdigest[:2]}{os.sep}{hexdigest}")

    def _tempfile(self) -> tuple[int, str]:
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            return tempfile.mkstemp(dir=self._tmp, prefix=".incoming-")
        except OSError as exc:
            raise StorageError(f"cannot write to blob store {self.root}: {exc}") from exc

    def _publish(self, tmp: str, hexdigest: str) -> bool:
        """Put the verified bytes in ``tmp`` in place; False when a sound copy is there
        already. A copy that fails its digest is replaced: only here, when the blob is
        there already, is it read, and this is what repairs a corrupt blob."""
        final = self.path_for(hexdigest)
        if final.exists() and self._sound(final, hexdigest):
            os.unlink(tmp)
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return True

    @staticmethod
    def _sound(final: Path, hexdigest: str) -> bool:
        try:
            return hash_file(final) == hexdigest
        except OSError:
            return False  # unreadable (a directory, no permission): not the blob

    def ingest(self, path: Path, hexdigest: str | None, advance: Advance) -> tuple[str, bool]:
        if hexdigest is not None and self.has(hexdigest):
            return hexdigest, False
        fd, tmp = self._tempfile()
        try:
            with os.fdopen(fd, "wb") as dst, open(path, "rb", buffering=0) as src:
                digest, _ = copy_and_hash(src, dst, advance)
            return digest, self._publish(tmp, digest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest):
            return digest
        fd, tmp = self._tempfile()
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self._publish(tmp, digest)
        return digest

    def fetch(self, hexdigest: str, dest: Path, advance: Advance) -> None:
        src_path = self.path_for(hexdigest)
        try:
            src = open(src_path, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:  # adds nothing to "missing"
            raise CorruptBlobError(f"blob sha256:{hexdigest} is missing from {self.root}") from None
        with src, open(dest, "xb") as dst:
            digest, _ = copy_and_hash(src, dst, advance)
        if digest != hexdigest:
            raise CorruptBlobError(
                f"blob sha256:{hexdigest} in {self.root} is corrupt (its bytes hash to {digest})"
            )

    def iter_digests(self) -> Iterator[str]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            for blob in sorted(sub.iterdir()):
                yield blob.name

    def iter_blobs(self) -> Iterator[BlobInfo]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for sub in sorted(base.iterdir()):
            with os.scandir(sub) as it:
                found = sorted(it, key=lambda e: e.name)
            for entry in found:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed since the listing (another gc)
                yield BlobInfo(entry.name, st.st_size, st.st_mtime)

    def refresh(self, hexdigest: str) -> bool:
        path = self.path_for(hexdigest)
        try:
            if os.stat(path).st_mtime > time.time() - FRESH_FOR:
                return True
            os.utime(path)
        except FileNotFoundError:
            return False
        except OSError:  # another user's blob in a shared store: there, not refreshed
            return self.has(hexdigest)
        return True

    def delete(self, hexdigest: str, older_than: float | None = None) -> bool:
        """Moved aside first (one rename), then its age read: a blob a log refreshed
        meanwhile goes back, and a refresh after the move finds it gone and stores it
        again, so a reused blob is never lost to a race."""
        final = self.path_for(hexdigest)
        aside = scratch_path(self._tmp, f".gc-{hexdigest[:12]}-")
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
            os.rename(final, aside)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(
                f"cannot remove blob sha256:{hexdigest} from {self.root}: {exc}"
            ) from exc
        if older_than is not None and os.stat(aside).st_mtime > older_than:
            os.replace(aside, final)
            return False
        os.unlink(aside)
        return True


__all__ = ["CHUNK", "LocalBlobStore"]
