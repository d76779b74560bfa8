"""Running dbt against the configured warehouse.

dbt runs in a child process (``python -m flopwatt.dbt_runner ARGS``): the DuckDB adapter keeps
its connection open for the life of the process, which would block the readers (report,
``flopwatt sql``) that follow a build. The child lives no longer than flopwatt:

- flopwatt holds the warehouse's advisory lock (:func:`flopwatt.core.db.warehouse_lock`) from its
  busy check until the child has exited, so a second build or an ingest started meanwhile gets the
  busy line instead of dbt's lock errors;
- SIGTERM and SIGHUP sent to flopwatt are passed on to the child, and flopwatt exits only after it
  (then by that signal, as it would have without a child); on Ctrl-C (SIGINT to the terminal's
  process group, the child included) flopwatt gives dbt 2 s to stop, then terminates it;
- the child asks the kernel for SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``; elsewhere
  a thread watches the parent), so ``kill -9`` of flopwatt stops dbt too.

``READ_ONLY_TARGET`` (profiles.yml) attaches the warehouse read-only to an in-memory database: the
report runs the data tests through it, beside any readers, on a file it may only read.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

from flopwatt.core.config import db_path, dbt_project_dir, is_checkout, state_dir, workspace
from flopwatt.core.errors import FlopwattError

#: the profiles.yml output that reads the warehouse through a read-only attach
READ_ONLY_TARGET = "duckdb_readonly"
#: profiles.yml outputs on the DuckDB file (the others, Spark, never open it)
DUCKDB_TARGETS = ("duckdb", READ_ONLY_TARGET)
#: the child checks that this process is still its parent (it may have died before the child ran)
PARENT_ENV = "FLOPWATT_DBT_PARENT_PID"
#: passed on to the child (Ctrl-C reaches it from the terminal already, see run_child)
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class DbtError(FlopwattError):
    """dbt exited non-zero: 1 when models or tests failed, 2 when it could not run."""

    def __init__(self, message: str, returncode: int):
        super().__init__(message)
        self.returncode = returncode


def dbt_command(args: list[str]) -> list[str]:
    full = [sys.executable, "-m", "flopwatt.dbt_runner", *args]
    project = str(dbt_project_dir())
    if "--project-dir" not in args:
        full += ["--project-dir", project]
    if "--profiles-dir" not in args:
        full += ["--profiles-dir", project]
    return full


def dbt_env() -> dict[str, str]:
    """The child's environment: the warehouse path, the memory cap, flopwatt's PID, and for an
    installed package dbt's target/ and logs/ under the workspace's .flopwatt/ (site-packages is
    no place to write)."""
    from flopwatt.core.config import MEMORY_LIMIT_ENV, duckdb_memory_limit

    env = dict(os.environ, FLOPWATT_DB=str(db_path()))
    env[MEMORY_LIMIT_ENV] = duckdb_memory_limit()
    env[PARENT_ENV] = str(os.getpid())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    if not is_checkout():
        env.setdefault("DBT_TARGET_PATH", str(state_dir() / "dbt" / "target"))
        env.setdefault("DBT_LOG_PATH", str(state_dir() / "dbt" / "logs"))
    return env


def _target_of(args: list[str], target: str | None) -> str:
    if target is not None:
        return target
    for i, a in enumerate(args):
        if a == "--target" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--target="):
            return a.split("=", 1)[1]
    return "duckdb"


def run_child(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` to its end; a SIGTERM or SIGHUP sent to this process is passed on to it, and
    once it has ended this process stops by that signal."""
    proc = subprocess.Popen(cmd, cwd=workspace(), env=env)
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        rc = _wait(proc)
    except KeyboardInterrupt:
        _stop(proc, grace_s=2.0)
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:  # an error in this process: the child goes with it
            _stop(proc, grace_s=0.0)
    if received:
        signal.signal(received[0], signal.SIG_DFL)
        os.kill(os.getpid(), received[0])
    return rc


def _wait(proc: subprocess.Popen) -> int:
    """``proc.wait()`` that lets this process's signal handlers run within 0.1 s: a signal taken
    by another thread (DuckDB's workers) would leave a blocking wait asleep until dbt ends."""
    while True:
        try:
            return proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue


def _stop(proc: subprocess.Popen, *, grace_s: float) -> None:
    """Let the child end within ``grace_s``, then SIGTERM it (5 s), then SIGKILL."""
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_dbt(args: list[str], *, quiet: bool = False, target: str | None = None) -> None:
    """Run a dbt command in the project with the project's profiles.yml; raise on failure.

    On the DuckDB file the advisory lock is held from the busy check to the child's exit:
    exclusive to write (``duckdb``), shared to read (``READ_ONLY_TARGET``).
    """
    from flopwatt.core.db import connect, warehouse_lock

    env = dbt_env()
    engine_target = _target_of(args, target)
    args = [*args]
    if quiet and "--quiet" not in args and "-q" not in args:
        args.insert(0, "--quiet")
    if target is not None and "--target" not in args:
        args += ["--target", target]
    on_file = engine_target in DUCKDB_TARGETS
    read_only = engine_target == READ_ONLY_TARGET
    lock = warehouse_lock(exclusive=not read_only) if on_file else contextlib.nullcontext()
    with lock:
        if on_file:
            connect(read_only=read_only).close()  # fail fast, with our message, if it is taken
        rc = run_child(dbt_command(args), env)
    if rc == 1:
        raise DbtError(
            f"dbt {' '.join(args)} failed: some models or data tests did not pass (see above)", rc
        )
    if rc != 0:
        raise DbtError(f"dbt {' '.join(args)} failed to run (exit {rc}, see above)", rc)


def run_dbt_build(args: list[str] | None = None, *, quiet: bool = False) -> None:
    """``dbt build`` (models, seeds and tests in DAG order) on the warehouse, holding the lock
    from the schema check to dbt's end."""
    from flopwatt.build_state import plan_build, record_build
    from flopwatt.core.db import connect, warehouse_lock
    from flopwatt.ingest.loader import ensure_schema

    args = list(args or [])
    if _target_of(args, None) not in DUCKDB_TARGETS:
        run_dbt(["build", *args], quiet=quiet)
        return
    with warehouse_lock(exclusive=True):
        con = connect()
        try:
            ensure_schema(con)  # sources exist even before the first load
            plan = plan_build(con, args)  # skip, full refresh or incremental (build_state.py)
        finally:
            con.close()
        if plan.skip:
            print("warehouse up to date: no load, project or option change since the last build",
                  file=sys.stderr)  # fmt: skip
            return
        if plan.full_refresh_reason:
            print(f"full refresh: {plan.full_refresh_reason}", file=sys.stderr)
        run_dbt(["build", *plan.args], quiet=quiet)
        con = connect()
        try:
            record_build(con, plan)
        finally:
            con.close()


def _die_with_parent() -> None:
    """In the dbt child: stop (SIGTERM) when flopwatt, the parent, dies, however it dies."""
    parent = int(os.environ.get(PARENT_ENV) or 0)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if parent and os.getppid() != parent:  # the parent died before the death signal was set
        sys.exit(f"dbt not started: flopwatt (PID {parent}) has exited")
    if not armed and parent:

        def watch() -> None:
            while os.getppid() == parent:
                threading.Event().wait(0.5)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child_main() -> None:
    _die_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    _child_main()
