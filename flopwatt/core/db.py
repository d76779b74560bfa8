"""Opening the warehouse: one writer, any number of read-only readers, a clear error when busy.

Two locks keep that promise:

- DuckDB's own lock on the file, for as long as a connection is open: a writer excludes everyone,
  readers share it;
- flopwatt's advisory lock on ``<warehouse>.lock`` (``flock``), taken around every open and held
  for the whole of a command that runs dbt in a child process (:func:`warehouse_lock`). dbt opens
  the file seconds after flopwatt checked it; in between no other flopwatt process can take it.

Every connection gets the memory cap (``FLOPWATT_DUCKDB_MEMORY_LIMIT``). A path that exists but is
not a DuckDB database is refused before DuckDB sees it: DuckDB would open a CSV, Parquet or JSON
file as an empty in-memory database, and a load into it would vanish.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb

from flopwatt.core.config import MEMORY_LIMIT_ENV, db_path, duckdb_memory_limit
from flopwatt.core.errors import (
    DatabaseBusyError,
    DatabaseFileError,
    DatabaseMissingError,
    OptionError,
)

try:
    import fcntl
except ImportError:  # not POSIX: DuckDB's lock alone applies
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DatabaseBusyError",
    "DatabaseFileError",
    "DatabaseMissingError",
    "check_database_file",
    "connect",
    "lock_path",
    "warehouse_lock",
]

#: a DuckDB file starts with an 8-byte checksum and then these 4 bytes
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8
DUCKDB_MIN_MAGIC_END = DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC)
#: the main header and the two database headers, 4 KiB each: the smallest valid file
DUCKDB_MIN_SIZE = 3 * 4096

#: this process's advisory locks: lock file -> (descriptor, exclusive)
_HELD: dict[str, tuple[int, bool]] = {}


def lock_path(path: Path | str | None = None) -> Path:
    """The advisory lock file next to the warehouse: ``<warehouse>.lock``."""
    path = Path(path) if path is not None else db_path()
    return path.with_name(path.name + ".lock")


def _kind_of(head: bytes) -> str:
    """What a file that is not a DuckDB database looks like, from its first bytes."""
    if head.startswith(b"SQLite format 3\x00"):
        return "an SQLite database"
    if head.startswith(b"PAR1"):
        return "a Parquet file"
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh")):
        return "a compressed archive"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "JSON text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognised binary contents"
    return "a text file (CSV?)"


def check_database_file(path: Path, *, settled: bool = True) -> bool:
    """True when ``path`` is a DuckDB database, False when nothing is there (a new database);
    DatabaseFileError for anything else: a directory, an empty, truncated or foreign file.

    ``settled=False`` (before the lock, so that no lock file is left next to a foreign file)
    refuses only what no DuckDB writer creating the file at this instant could have left: a
    folder, or a start that is neither DuckDB's nor zeros. Empty and short files are judged under
    the lock."""
    hint = "FLOPWATT_DB must name a DuckDB database file (a new one is created where none exists)"
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DatabaseFileError(f"cannot open the warehouse {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise DatabaseFileError(f"{path} is a directory, not a DuckDB database; {hint}")
    if not stat.S_ISREG(st.st_mode):
        raise DatabaseFileError(f"{path} is not a regular file; {hint}")
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise DatabaseFileError(f"cannot read the warehouse {path}: {exc.strerror}") from exc
    if not settled and (len(head) < DUCKDB_MIN_MAGIC_END or not any(head[:DUCKDB_MIN_MAGIC_END])):
        return True
    if not head:
        raise DatabaseFileError(
            f"{path} is an empty file, not a DuckDB database: remove it to start a new warehouse "
            "there, or point FLOPWATT_DB at the database"
        )
    if head[DUCKDB_MAGIC_OFFSET : DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC)] != DUCKDB_MAGIC:
        raise DatabaseFileError(f"{path} is not a DuckDB database ({_kind_of(head)}); {hint}")
    if settled and st.st_size < DUCKDB_MIN_SIZE:
        raise DatabaseFileError(
            f"{path} is a truncated DuckDB database ({st.st_size} bytes; a valid one has at least "
            f"{DUCKDB_MIN_SIZE}): restore it from a copy"
        )
    return True


# --- who holds the file -------------------------------------------------------------------------


def describe_process(pid: int) -> str:
    """``PID 123: flopwatt sql ...`` from /proc where there is one, else ``PID 123``."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"PID {pid}"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    if not words:
        return f"PID {pid}"
    if "-m" in words[:-1] and words[words.index("-m") + 1] == "flopwatt.dbt_runner":
        rest = words[words.index("-m") + 2 :]
        words = ["dbt", *rest[:1]]  # the dbt child of flopwatt: "dbt build"
    else:
        words[0] = os.path.basename(words[0])
        if words[0].startswith("python") and len(words) > 1:
            if words[1] == "-c":
                words = [words[0], "-c", "..."]
            elif not words[1].startswith("-"):
                words = [os.path.basename(words[1]), *words[2:]]  # a script: .../bin/flopwatt
    cmd = " ".join(words)
    return f"PID {pid}: {cmd[:57] + '...' if len(cmd) > 60 else cmd}"


def _flock_holders(lock: Path) -> list[tuple[int, bool]]:
    """(pid, exclusive) of the flock locks on ``lock`` (Linux: /proc/locks; else [])."""
    try:
        st = lock.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    out = []
    for line in lines:
        f = line.split()
        if len(f) >= 6 and "->" not in line and f[1] == "FLOCK" and f[5] == dev:
            out.append((int(f[4]), f[3] == "WRITE"))
    return out


def _busy(path: Path, writer: bool | None, pids: list[int]) -> DatabaseBusyError:
    """The one busy line: who holds ``path``, reading or writing, when it can be told."""
    who = f" ({'; '.join(describe_process(p) for p in pids[:3])})" if pids else ""
    if writer is True:
        what = f"is open for writing by another process{who}"
        hint = "an ingest or a dbt build?"
    elif writer is False:
        what = f"is open for reading by another process{who}"
        hint = "a flopwatt sql, status or report?"
    else:
        what = f"is in use by another process{who}"
        hint = "an ingest, a dbt build or a reader"
    return DatabaseBusyError(
        f"database is busy: {path} {what}; try again when it has finished ({hint})"
    )


def _open_lock_file(lock: Path) -> int | None:
    """A descriptor on the lock file, creating it if needed; None where it can be neither opened
    nor created (a read-only folder: no flopwatt writer can work there either)."""
    cloexec = getattr(os, "O_CLOEXEC", 0)
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):  # flock works on a read-only descriptor
        try:
            return os.open(lock, flags | cloexec, 0o666)
        except OSError:
            continue
    return None


@contextlib.contextmanager
def warehouse_lock(path: Path | str | None = None, *, exclusive: bool) -> Iterator[None]:
    """Hold flopwatt's advisory lock on the warehouse for the block, or raise DatabaseBusyError.

    ``exclusive`` for a writer (ingest, dbt build), shared for readers (report, sql). It is held
    by this process only (the descriptor is not inherited), so it goes when the process dies,
    however it dies. Nested use in one process is free when the held lock is strong enough; a
    shared lock held here is upgraded for the block.
    """
    path = Path(path) if path is not None else db_path()
    lock = lock_path(path)
    key = str(lock)
    held = _HELD.get(key)
    if fcntl is None or (held is not None and (held[1] or not exclusive)):
        yield
        return
    if held is not None:  # shared here, exclusive wanted: convert, and back afterwards
        shared_fd = held[0]
        _take(shared_fd, path, lock, exclusive=True)
        _HELD[key] = (shared_fd, True)
        try:
            yield
        finally:
            fcntl.flock(shared_fd, fcntl.LOCK_SH)
            _HELD[key] = (shared_fd, False)
        return
    fd = _open_lock_file(lock)
    if fd is None:
        yield
        return
    try:
        _take(fd, path, lock, exclusive=exclusive)
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = (fd, exclusive)
    try:
        yield
    finally:
        del _HELD[key]
        os.close(fd)  # releases the lock


def _take(fd: int, path: Path, lock: Path, *, exclusive: bool) -> None:
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    holders = _flock_holders(lock)
    if holders:
        writers = [p for p, ex in holders if ex]
        raise _busy(path, bool(writers), writers or [p for p, _ in holders])
    if not exclusive:
        raise _busy(path, True, [])  # only a writer can refuse a reader
    try:  # readers only, or a writer? a shared lock succeeds beside readers alone
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy(path, True, []) from None
    fcntl.flock(fd, fcntl.LOCK_UN)
    raise _busy(path, False, [])


# --- connecting ---------------------------------------------------------------------------------

_PID = re.compile(r"\(PID (\d+)\)")


def _duckdb_busy(path: Path, exc: duckdb.IOException, read_only: bool) -> DatabaseBusyError:
    """DuckDB's lock error as the busy line, naming the holder (its PID is in DuckDB's text)."""
    text = str(exc)
    pids = [int(m) for m in _PID.findall(text)]
    if read_only:
        writer: bool | None = True  # readers never refuse a reader
    elif "read-only mode" in text:
        writer = False  # DuckDB adds "you would be able to open this database in read-only mode"
    else:
        try:  # older DuckDB: a read-only open works beside readers only
            duckdb.connect(str(path), read_only=True).close()
            writer = False
        except duckdb.Error:
            writer = True
    return _busy(path, writer, pids)


#: a DuckDB connection's config, as duckdb.connect types it
Config = dict[str, str | bool | int | float | list[str]]


def duckdb_config(*, sandbox: bool = False, allow_files: bool = False) -> Config:
    """Settings of a connection: the memory cap; for ``sandbox`` (a user's own queries) the
    configuration locked, no extensions, and no file access unless ``allow_files``."""
    config: Config = {"memory_limit": duckdb_memory_limit()}
    if sandbox:
        config.update(
            enable_external_access=allow_files,
            autoinstall_known_extensions=False,
            autoload_known_extensions=False,
            allow_community_extensions=False,
            lock_configuration=True,
        )
    return config


def connect(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    sandbox: bool = False,
    allow_files: bool = False,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with the memory cap.

    Raises DatabaseBusyError (naming the holder) instead of DuckDB's lock error, DatabaseFileError
    when the path is not a DuckDB database, DatabaseMissingError for a read-only open of nothing.
    ``sandbox`` opens it read-only for a user's queries (see :func:`duckdb_config`).
    """
    path = Path(path) if path is not None else db_path()
    read_only = read_only or sandbox
    if read_only and not path.exists() and not path.is_symlink():
        raise DatabaseMissingError(
            f"database {path} does not exist yet: load something first (flopwatt ingest ...)"
        )
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseFileError(
                f"cannot create the folder of the warehouse {path.parent}: {exc.strerror}"
            ) from exc
    config = duckdb_config(sandbox=sandbox, allow_files=allow_files)
    check_database_file(path, settled=False)
    with warehouse_lock(path, exclusive=not read_only):
        if not check_database_file(path) and read_only:
            raise DatabaseMissingError(f"database {path} does not exist yet")
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise _duckdb_busy(path, exc, read_only) from exc
            raise DatabaseFileError(f"cannot open the warehouse {path}: {exc}") from exc
        except (duckdb.InvalidInputException, duckdb.ParserException) as exc:
            if "memory" in str(exc).lower():
                raise OptionError(
                    f"{MEMORY_LIMIT_ENV}={config['memory_limit']!r} is not a memory size "
                    f"DuckDB understands (e.g. 3GB, 500MB): {exc}"
                ) from exc
            raise
