"""Results of deterministic precomputations, kept on disk between commands.

A few things a run builds before its first day depend on a handful of the scenario's values and
on tmpsim's own files, not on the seed or the scale of the run: the sending market's run behind
a scenario's ``origins_market`` is one (a third of a second, a tenth of a short command). They
are kept in a cache folder under a key that digests everything they were computed from,
tmpsim's own code and data and the versions of Python, NumPy and pydantic included, so an entry
is only ever reused by the same computation: a changed input or another version gives another
key. Like numba's cache of compiled kernels, it only saves time; removing the folder is always
safe.

The folder is ``TMPSIM_CACHE_DIR`` when set (``off``, ``0`` or empty turns the cache off), else
the user's cache folder (``platformdirs``: ``~/.cache/tmpsim`` on Linux). Entries are written
atomically; one that cannot be read is computed again and replaced, and a folder that cannot be
written leaves the run as it would be without a cache. Each kind keeps its ``KEEP`` newest
entries, so a calibration that varies the market's inputs does not fill the disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from tmpsim.runfolder import atomic_path

ENV = "TMPSIM_CACHE_DIR"
FORMAT = 1  # bump when the layout of an entry changes
KEEP = 16  # entries kept per kind
_OFF = ("", "0", "off", "no", "false")
T = TypeVar("T")


def folder() -> Path | None:
    """The cache folder, or None when the cache is off (``TMPSIM_CACHE_DIR``)."""
    value = os.environ.get(ENV)
    if value is None:
        return Path(platformdirs.user_cache_dir("tmpsim", appauthor=False))
    if value.strip().lower() in _OFF:
        return None
    return Path(value).expanduser()


@functools.cache
def code_digest() -> str:
    """SHA-256 of tmpsim's own files, code and packaged data (one version of tmpsim)."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            h.update(path.relative_to(root).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def key(*parts: str | bytes) -> str:
    """A key for the inputs ``parts`` under this version of tmpsim, Python, NumPy and pydantic."""
    h = hashlib.sha256(f"tmpsim-cache-{FORMAT}\0{code_digest()}\0{_runtime()}\0".encode())
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


@functools.cache
def _runtime() -> str:
    """The versions an entry's arrays and objects depend on besides tmpsim's own files."""
    import numpy
    import pydantic

    return f"{sys.version}|numpy {numpy.__version__}|pydantic {pydantic.VERSION}"


def _path(kind: str, k: str) -> Path | None:
    root = folder()
    return None if root is None else root / kind / f"{k}.pickle"


def load(kind: str, k: str) -> Any | None:
    """The entry of ``kind`` kept under key ``k``, or None (none kept, or unreadable)."""
    path = _path(kind, k)
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - the user's own cache, written by ``store``
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign file: compute again (``store`` replaces it)
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def store(kind: str, k: str, value: Any) -> None:
    """Keep ``value`` under ``k`` (atomically); only the ``KEEP`` newest of ``kind`` stay.

    A folder that cannot be written is left alone: the cache only saves time.
    """
    path = _path(kind, k)
    if path is None:
        return
    try:
        with atomic_path(path, sync=False) as tmp, open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        entries = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return


def kept(kind: str, k: str, compute: Callable[[], T], expected: type) -> T:
    """The entry of ``kind`` under ``k`` if it is an ``expected``; else ``compute()``, kept."""
    found = load(kind, k)
    if isinstance(found, expected):
        return found  # type: ignore[return-value]
    value = compute()
    store(kind, k, value)
    return value
