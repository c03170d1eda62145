"""Uploaded scenarios, kept in the runs folder so that a restarted server offers them again.

Each upload is one file, ``uploads/ID.json`` in the runs folder (ID: 32 random hex digits, the
``upload:ID`` key the page runs it by), holding the name shown for it, when it was uploaded and
the uploaded text exactly as sent. It is written whole: to a temporary file in the same folder,
then renamed into place (:func:`tmpsim.runfolder.atomic_write_bytes`), so a server killed while
it writes leaves the old state, never half a file.

A server started on the runs folder reads them back and checks each one again as an upload is
checked (:func:`tmpsim.web.controls.parse_upload`: the size limit, UTF-8, YAML, the scenario
schema): one that no longer passes, is damaged or is not a regular file is skipped with a warning
in the server's log, never served, and left as it is. At most ``max_kept`` are kept: beyond that
the oldest is forgotten and its file deleted, on upload as on start. A symbolic link in place of
the ``uploads`` folder is neither read nor written through (uploads are then kept for this
server's life only, and the log says so).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tmpsim.runfolder import atomic_write_bytes
from tmpsim.scenario import ScenarioError
from tmpsim.web.controls import MAX_UPLOAD_BYTES, BaseScenario, RequestError, parse_upload

UPLOADS_DIR = "uploads"
KEY_PREFIX = "upload:"
STORED = re.compile(r"^([0-9a-f]{32})\.json$")
PARTIAL = re.compile(r"^\.[0-9a-f]{32}\.json\..+\.tmp$")  # atomic_write_bytes's temporary file
MAX_STORED_BYTES = 6 * MAX_UPLOAD_BYTES + 64 * 1024
"""Largest stored file read back: JSON writes a control character as six bytes (``\\u0001``)."""
log = logging.getLogger("tmpsim.web")


class UploadStore:
    """The uploaded scenarios of a dashboard server, oldest first, kept in ``RUNS/uploads/``.

    Call it only while holding the runs folder's lock (:class:`tmpsim.web.jobs.FolderLock`): it
    deletes files there.
    """

    def __init__(self, runs_dir: Path, max_kept: int = 20) -> None:
        self.folder = Path(runs_dir) / UPLOADS_DIR
        self.max_kept = max_kept
        self._items: OrderedDict[str, BaseScenario] = OrderedDict()
        self._lock = threading.Lock()
        self.restore()

    def add(self, name: str, content: bytes, data: dict[str, Any]) -> BaseScenario:
        """Keep an upload that passed :func:`parse_upload` (``name``, ``data`` are its result).

        Stored to disk first; if that fails (a full disk) the upload is still served until the
        server stops, and the log says it will not survive a restart.
        """
        upload_id = uuid.uuid4().hex
        base = _base(upload_id, name, data)
        if self._writable():
            record = {"name": name, "created": time.time(), "content": content.decode("utf-8")}
            try:
                atomic_write_bytes(self._path(upload_id), _json(record))
            except OSError as exc:
                log.warning(
                    "uploaded scenario %s could not be kept in %s (%s); it is served until this "
                    "server stops",
                    name,
                    self.folder,
                    exc.strerror or exc,
                )
        with self._lock:
            self._items[base.key] = base
            evicted = self._evict()
        self._delete(evicted)
        return base

    def get(self, key: str) -> BaseScenario | None:
        """The upload with this key, or None (also for keys that are not upload keys)."""
        with self._lock:
            return self._items.get(key)

    def listing(self) -> list[dict[str, str]]:
        """Key and label of every upload, oldest first (what the page adds to its choices)."""
        with self._lock:
            return [{"key": b.key, "label": b.label} for b in self._items.values()]

    def restore(self) -> None:
        """Read back the uploads an earlier server kept, checked again; oldest beyond the cap go.

        Temporary files of a write cut short are removed (no other server writes here: the
        caller holds the folder's lock); anything else not named ``ID.json`` is left alone.
        """
        if not self.folder.exists() and not self.folder.is_symlink():
            return
        if not self._writable():
            return
        try:
            entries = sorted(self.folder.iterdir())
        except OSError as exc:
            log.warning("%s: cannot be read (%s); no upload is restored", self.folder, exc)
            return
        found: list[tuple[float, str, BaseScenario]] = []
        for entry in entries:
            match = STORED.match(entry.name)
            if match is None:
                if PARTIAL.match(entry.name) and entry.is_file() and not entry.is_symlink():
                    _remove(entry)
                continue
            loaded = self._load(entry, match.group(1))
            if loaded is not None:
                found.append(loaded)
        found.sort(key=lambda item: (item[0], item[1]))
        with self._lock:
            for _, _, base in found:
                self._items.setdefault(base.key, base)
            evicted = self._evict()
        self._delete(evicted)

    # ---- internals -------------------------------------------------------------------------

    def _path(self, upload_id: str) -> Path:
        return self.folder / f"{upload_id}.json"

    def _writable(self) -> bool:
        """Whether ``uploads`` is a real folder of the runs folder, or is not there yet."""
        if self.folder.is_symlink() or (self.folder.exists() and not self.folder.is_dir()):
            log.warning(
                "%s is not a folder (a symbolic link or a file); uploads are neither read from "
                "it nor kept in it",
                self.folder,
            )
            return False
        return True

    def _evict(self) -> list[str]:
        """Forget the oldest uploads beyond the cap (call with the lock held); their keys."""
        evicted = []
        while len(self._items) > self.max_kept:
            key, _ = self._items.popitem(last=False)
            evicted.append(key)
        return evicted

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            path = self._path(key.removeprefix(KEY_PREFIX))
            if self._writable() and not path.is_symlink():
                _remove(path)

    def _load(self, path: Path, upload_id: str) -> tuple[float, str, BaseScenario] | None:
        """One stored upload checked again, or None (with a warning) if it does not pass."""
        where = f"{UPLOADS_DIR}/{path.name}"
        try:
            if path.is_symlink() or not path.is_file():
                return _skip(where, "not a regular file")
            stat = path.stat()
            if stat.st_size > MAX_STORED_BYTES:
                return _skip(where, f"too large ({stat.st_size:,} bytes)")
            record = json.loads(path.read_bytes())
        except OSError as exc:
            return _skip(where, f"cannot be read ({exc.strerror or exc})")
        except (ValueError, RecursionError):  # not JSON, not UTF-8, nested without end
            return _skip(where, "not the dashboard's record of an upload (damaged JSON)")
        if not isinstance(record, dict):
            return _skip(where, "not the dashboard's record of an upload")
        name, content, created = record.get("name"), record.get("content"), record.get("created")
        if not isinstance(name, str) or not isinstance(content, str):
            return _skip(where, "not the dashboard's record of an upload (no name or content)")
        try:
            checked, data = parse_upload(name, content.encode("utf-8"))
        except (ScenarioError, RequestError) as exc:
            return _skip(where, f"the scenario no longer passes the checks: {exc}")
        except (UnicodeEncodeError, RecursionError):
            return _skip(where, "the scenario no longer passes the checks (not UTF-8 YAML)")
        except Exception as exc:  # whatever else a damaged file provokes: never stop the server
            log.warning("%s: skipped, the check failed", where, exc_info=exc)
            return None
        if isinstance(created, bool) or not isinstance(created, int | float):
            created = stat.st_mtime
        elif not math.isfinite(created):
            created = stat.st_mtime
        return float(created), upload_id, _base(upload_id, checked, data)


def _base(upload_id: str, name: str, data: dict[str, Any]) -> BaseScenario:
    return BaseScenario(
        key=f"{KEY_PREFIX}{upload_id}", source=name, data=data, label=f"{name} (uploaded)"
    )


def _remove(path: Path) -> None:
    """Delete a file of the store; one that cannot be (a read-only folder) is only logged."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: could not be deleted (%s)", path, exc.strerror or exc)


def _skip(where: str, reason: str) -> None:
    log.warning("uploaded scenario %s skipped, not offered: %s", where, reason)
    return None


def _json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")
