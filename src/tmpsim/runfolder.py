"""Run folders as a whole: staged beside the target, renamed into place, described by run.json.

A run is written into a hidden temporary folder beside its target (``.NAME.partial-PID-XXXX``)
and renamed into place in one step, so a reader or a crash never sees two runs mixed, nor half
of one. ``run.json`` is written last inside the staged folder: it is the manifest, listing every
file of the run with its size and SHA-256 and the format version. Readers call
:func:`check_run_folder`, which says what is wrong with a folder that is incomplete, damaged or
not a run folder at all.

Other files in a run folder (``report.html``, ``figures/``, exports) are derived from the run and
written later; they are not in the manifest and readers ignore them, unless they carry the name of
a run file (``agents.parquet`` left by another run is refused).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FORMAT = "tmpsim-run"
FORMAT_VERSION = 2
"""Version 1: the run folders of earlier releases (run.json without a file list)."""
MANIFEST = "run.json"
RUN_FILES = (
    "series.parquet",
    "summary.json",
    "scenario.yaml",
    "agents.parquet",
    "groups.parquet",
    "origins_flows.parquet",
    "origins_brokers.parquet",
)
"""Files a run writes (agents.parquet only when agents are kept, origins_*.parquet only with a
sending market); run.json comes last."""
REQUIRED_FILES = ("series.parquet", "summary.json", "scenario.yaml")
EXPERIMENT_MARKER = "experiment.json"


class RunFolderError(ValueError):
    """A folder that cannot be read or written as a run folder; the message says why."""


class LegacyRunFolderWarning(UserWarning):
    """A run folder written before run folders had a manifest (format version 1)."""


def safe_name(name: str, fallback: str = "scenario") -> str:
    """A scenario name made safe as one path part (no separators, no leading dots), at most 80."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+|\.{2,}", "-", str(name))
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip(".-")[:80].strip(".-")
    return cleaned or fallback


def is_experiment_folder(path: Path) -> bool:
    """Tell whether a folder holds an experiment (``experiment.json``)."""
    return (Path(path) / EXPERIMENT_MARKER).is_file()


def holds_run(path: Path) -> bool:
    """Tell whether a folder looks like a run folder (a manifest or a run's series)."""
    path = Path(path)
    return (path / MANIFEST).is_file() or (path / "series.parquet").is_file()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def describe_file(path: Path) -> dict[str, Any]:
    """A file's size in bytes and SHA-256, as the manifest lists it."""
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


def describe_files(
    folder: Path, known: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The run files present in ``folder``: name -> bytes and sha256 (``known``: taken as is)."""
    known = known or {}
    out = {}
    for name in RUN_FILES:
        path = Path(folder) / name
        if path.is_file():
            out[name] = known.get(name) or describe_file(path)
    return out


def write_manifest(
    folder: Path, info: dict[str, Any], known: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Write run.json (last): ``info`` plus the format and every run file's size and digest.

    ``known``: descriptions already made (agents.parquet is hashed by the thread that wrote it).
    """
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **info}
    manifest["files"] = describe_files(folder, known)
    text = json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n"
    atomic_write_bytes(Path(folder) / MANIFEST, text.encode())
    return manifest


# ---- writing ---------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions open() would give a new file (0o666 less the process's umask)."""
    return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: Path, sync: bool = True) -> Iterator[str]:
    """Yield a temporary file beside ``path`` to write; on success it replaces ``path`` whole.

    Readers see the old or the new content, never a partial one; on failure the temporary file
    is removed and ``path`` is untouched. ``sync`` forces the content to disk before the rename.
    A failed write (a full disk, a file-size limit, a folder in the way) is raised as an OSError
    naming ``path``, not the temporary file, with the system's reason for its errno (Arrow's
    messages wrap it in their own words).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, file_mode())
    try:
        yield tmp
        if sync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno and exc.filename in (None, tmp):
            # OSError(errno, ...) is the subclass of that errno (IsADirectoryError, ...)
            raise OSError(exc.errno, os.strerror(exc.errno), str(path)) from exc
        raise


def _file_locks() -> tuple[Any, Any]:
    """The module that locks files here, as (``fcntl``, ``msvcrt``) with at most one of them.

    (fcntl, None) on POSIX, (None, msvcrt) on Windows, (None, None) where neither imports.
    Imported at each call, so that the tests can stand in for either.
    """
    try:
        import fcntl
    except ImportError:
        pass
    else:
        return fcntl, None
    try:
        import msvcrt
    except ImportError:
        return None, None
    return None, msvcrt


def lock_file(path: Path) -> int | None:
    """Open ``path`` (created if missing) and lock it for this open file alone, without waiting.

    Returns the descriptor (closing it drops the lock; so does the process's end), or None where
    the system has no file locks tmpsim knows (neither ``fcntl`` nor ``msvcrt``). POSIX systems
    take an advisory ``flock``; Windows a lock on the file's first byte (``msvcrt.locking``),
    which Windows also drops when the handle is closed or its process ends (``release_lock``
    unlocks first, as Windows asks). A link in the file's place is not followed where the system
    has ``O_NOFOLLOW``. ``BlockingIOError``: another open file of it holds the lock; other
    ``OSError``: it could not be opened or locked.
    """
    fcntl, msvcrt = _file_locks()
    if fcntl is None and msvcrt is None:
        return None
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            _lock_first_byte(msvcrt, fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lock_first_byte(msvcrt: Any, fd: int) -> None:
    """Lock byte 0 of ``fd`` without waiting (Windows); a lock held elsewhere: BlockingIOError."""
    os.lseek(fd, 0, os.SEEK_SET)  # the range locked starts at the file's position
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        # Windows answers a range locked by another handle with EACCES (or EDEADLOCK).
        if exc.errno in (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)):
            raise BlockingIOError(exc.errno, "the file is locked by another handle") from exc
        raise


def release_lock(fd: int) -> None:
    """Drop a lock ``lock_file`` took and close its file.

    Closing drops a POSIX lock at once; Windows releases a closed handle's locks only when it
    gets to it, so there the byte is unlocked first, and a new lock taken right after is not
    refused.
    """
    _, msvcrt = _file_locks()
    if msvcrt is not None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing releases it in the end
    os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_csv(path: Path, frame: Any) -> None:
    """Write a pandas DataFrame as CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def atomic_savefig(fig: Any, path: Path, **options: Any) -> Path:
    """Save a Matplotlib figure atomically (its format from ``path``'s suffix), then close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **options)
    finally:
        plt.close(fig)
    return path


COMPARISON_FILES = (
    "runs.csv",
    "table.csv",
    "daily.parquet",
    "scenario.yaml",
    "figures",
    "comparison.json",
)
"""What :meth:`Comparison.write` puts in its folder (comparison.json last)."""


PARTIAL_MARK = ".comparison-partial"
"""Left in a comparison's folder while it is written (removed when comparison.json is)."""


def is_unfinished_comparison(folder: Path) -> bool:
    """A comparison whose writing stopped (a full disk, an interruption).

    Its folder holds the mark :meth:`Comparison.write` leaves first, no comparison.json, and
    nothing but a comparison's files and temporary files (``.NAME.*.tmp``).
    """
    folder = Path(folder)
    if not folder.is_dir() or (folder / "comparison.json").exists():
        return False
    if not (folder / PARTIAL_MARK).is_file():
        return False
    names = [p.name for p in folder.iterdir() if p.name != PARTIAL_MARK]
    mine = [n for n in names if n in COMPARISON_FILES]
    others = [n for n in names if n not in mine and not (n.startswith(".") and n.endswith(".tmp"))]
    return not others


def check_target(out: Path, force: bool = False) -> None:
    """Refuse a target a run may not be written to (RunFolderError saying why and what to do)."""
    out = Path(out)
    if not out.exists():
        if out.is_symlink():
            raise RunFolderError(f"{out}: a broken symbolic link; remove it or choose another")
        _check_writable(out.parent)
        return
    _check_writable(out.parent)
    if not out.is_dir():
        raise RunFolderError(f"{out}: exists and is not a folder; choose another --out")
    if is_experiment_folder(out):
        raise RunFolderError(
            f"{out}: holds an experiment (experiment.json), not a run; a run folder cannot "
            "replace it. Choose another --out"
        )
    if not any(out.iterdir()):
        return
    if not holds_run(out):
        raise RunFolderError(
            f"{out}: a folder holding other files (not a run folder); tmpsim will not write into "
            "or replace it. Choose a new or empty --out"
        )
    if not force:
        raise RunFolderError(
            f"{out}: already holds a run; choose another --out, or pass --force (force=True in "
            "Python) to replace the whole folder"
        )


def _check_writable(parent: Path) -> None:
    """Refuse when the folder a run goes into (or its nearest existing ancestor) is read-only."""
    existing = Path(os.path.abspath(parent))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunFolderError(f"{existing}: exists and is not a folder; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunFolderError(f"{existing}: not writable; choose another --out")


@contextmanager
def staged_run_folder(out: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a hidden empty folder beside ``out`` to write a run into; then put it in place.

    On success the staged folder becomes ``out`` in one rename (with ``force`` an existing run
    folder is exchanged with it atomically, then removed). On failure it is removed and ``out`` is
    untouched. Staged folders left by processes that died (SIGKILL) are removed on the next write
    beside the same target.
    """
    out = Path(out)
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_partials(out)
    staged = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-{os.getpid()}-"))
    os.chmod(staged, 0o777 & ~_umask())  # as mkdir would make it (mkdtemp makes it 0o700)
    try:
        yield staged
        _fsync_dir(staged)
        check_target(out, force)  # again: another process may have written there meanwhile
        _put_in_place(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _put_in_place(staged: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staged, out)
    elif not any(out.iterdir()):
        os.rename(staged, out)  # rename(2) replaces an empty folder
    elif _exchange(staged, out):
        shutil.rmtree(staged, ignore_errors=True)  # now holds the replaced run
    else:  # no atomic exchange on this system: the old run is moved aside first
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-{os.getpid()}-"))
        os.rename(out, old / "run")
        os.rename(staged, out)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(out.parent)


RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def remove_dead_partials(out: Path) -> None:
    """Remove staged folders beside ``out`` whose writing process no longer exists."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(?:partial|old)-(\d+)-")
    for entry in out.parent.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- reading ---------------------------------------------------------------------------------


def check_run_folder(path: str | Path, digests: bool = True) -> dict[str, Any]:
    """Check that ``path`` is a complete run folder of a format this tmpsim reads; return run.json.

    Every file listed in the manifest must be there with its size (and, with ``digests``, its
    SHA-256); a run file not listed is refused (it belongs to another run). A folder of format
    version 1 (no manifest) is read with a LegacyRunFolderWarning when its files are all there.
    Raises RunFolderError naming the folder and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise RunFolderError(f"{path}: no such folder")
    if not path.is_dir():
        raise RunFolderError(f"{path}: not a folder")
    if is_experiment_folder(path):
        raise RunFolderError(f"{path}: an experiment folder, not a run folder")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        if (path / "series.parquet").is_file():
            raise RunFolderError(
                f"{path}: incomplete run folder: no {MANIFEST} (the run was interrupted while "
                "it was written, or the folder was copied in part); run it again"
            )
        raise RunFolderError(f"{path}: not a run folder (no {MANIFEST}, no series.parquet)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunFolderError(f"{manifest_path}: unreadable ({exc}); run it again") from None
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{manifest_path}: not a run manifest (not a JSON object)")
    if "files" not in manifest and "format_version" not in manifest:
        return _legacy(path, manifest)
    if manifest.get("format") != FORMAT:
        raise RunFolderError(f"{manifest_path}: not a tmpsim run manifest (format is not {FORMAT})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise RunFolderError(
            f"{path}: run folder format {version!r} was written by a newer tmpsim; this one "
            f"reads formats up to {FORMAT_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise RunFolderError(f"{manifest_path}: no list of files")
    problems = []
    for name in REQUIRED_FILES:
        if name not in files:
            problems.append(f"{name} is not listed in {MANIFEST}")
    for name in RUN_FILES:
        if name not in files and (path / name).exists():
            problems.append(f"{name} is not part of this run (not listed in {MANIFEST})")
    for name, meta in files.items():
        problems.extend(_file_problems(path, str(name), meta, digests))
    if problems:
        raise RunFolderError(f"{path}: damaged or mixed run folder: " + "; ".join(problems))
    return manifest


def _file_problems(folder: Path, name: str, meta: Any, digests: bool) -> list[str]:
    if name not in RUN_FILES or not isinstance(meta, dict):
        return [f"{MANIFEST} lists an unexpected entry {name!r}"]
    file = folder / name
    if not file.is_file():
        return [f"{name} is missing"]
    size = file.stat().st_size
    if size != meta.get("bytes"):
        return [f"{name} has {size:,} bytes, {MANIFEST} says {meta.get('bytes')}"]
    if digests and sha256_file(file) != meta.get("sha256"):
        return [f"{name} does not match its SHA-256 in {MANIFEST} (changed or replaced)"]
    return []


def _legacy(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise RunFolderError(
            f"{path}: incomplete run folder written by an earlier tmpsim (no {', '.join(missing)});"
            " run it again"
        )
    warnings.warn(
        f"{path}: written by an earlier tmpsim without a list of its files; whether its files "
        "all come from one run cannot be checked (run it again to get a checked folder)",
        LegacyRunFolderWarning,
        stacklevel=3,
    )
    return {"format": FORMAT, "format_version": 1, **info, "files": {}}
