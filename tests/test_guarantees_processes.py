"""The warehouse's promises under concurrency, signals and file modes, with real processes: two
builds race, flopwatt is killed under dbt, the report reads only (beside readers, on a 0444 file)
and a folder it cannot write gets one line.

File modes bite root only without CAP_DAC_OVERRIDE: those tests run the command under
``capsh --drop=cap_dac_override`` and are skipped where capsh is absent.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from test_guarantees import HISTORY, RUNS, cli_env, flopwatt, flopwatt_cmd, one_line_error

pytestmark = pytest.mark.slow

CAPSH = shutil.which("capsh")
needs_capsh = pytest.mark.skipif(
    CAPSH is None, reason="capsh is not installed (apt-get install libcap2-bin)"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One warehouse: a Home Assistant export and two runs, loaded and built by flopwatt."""
    tmp = tmp_path_factory.mktemp("built")
    db = tmp / "warehouse.duckdb"
    (tmp / "history.csv").write_text(HISTORY)
    (tmp / "runs.csv").write_text(RUNS)
    for args in (
        ("ingest", "power", str(tmp / "history.csv"), "--zone", "GBR"),
        ("ingest", "runs", str(tmp / "runs.csv")),
        ("build", "--quiet"),
    ):
        r = flopwatt(db, *args)
        assert r.returncode == 0, r.stderr
    return db


@pytest.fixture
def warehouse(built, tmp_path) -> Path:
    """A private copy of the built warehouse."""
    db = tmp_path / "w" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copyfile(built, db)
    return db


def raw_counts(db: Path) -> tuple[int, ...]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(
            con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("loads", "power_readings", "runs", "quarantine")
        )
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- processes, from /proc ----------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of ``pid``, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        st = _stat(pid)
        if st is None:
            return False
        pid = st[1]
        if pid == ancestor:
            return True
    return False


def file_lock_holders(path: Path) -> list[int]:
    """PIDs holding a POSIX lock (DuckDB's) on ``path``."""
    st = path.stat()
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    out = []
    for line in Path("/proc/locks").read_text().splitlines():
        f = line.split()
        if len(f) >= 6 and "->" not in line and f[1] == "POSIX" and f[5] == dev:
            out.append(int(f[4]))
    return out


def wait_for(cond, timeout: float, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(step)
    return cond()


def start(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        flopwatt_cmd(*args),
        env=cli_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def unprivileged(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """``cmd`` as root without CAP_DAC_OVERRIDE: file modes apply."""
    return subprocess.run(
        [CAPSH, "--drop=cap_dac_override", "--", "-c", shlex.join(cmd)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# --- 3. two builds: the loser gets the busy line -------------------------------------------------


@pytest.mark.parametrize("delay_s", [0.5, 1.5])
def test_second_build_started_meanwhile_gets_the_busy_line(warehouse, delay_s):
    # --full-refresh: the copy is up to date, and a plain build would not start dbt (build_state)
    first = start(warehouse, "build", "--quiet", "--full-refresh")
    time.sleep(delay_s)
    second = start(warehouse, "build", "--quiet", "--full-refresh")
    results = [(p, *p.communicate(timeout=300)) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 1], [(p.returncode, err[-2000:]) for p, _, err in results]
    ((loser, _, err),) = [r for r in results if r[0].returncode == 1]
    line = one_line_error(err)
    winner = first if loser is second else second
    assert "database is busy" in line and "open for writing" in line
    assert f"PID {winner.pid}" in line and "build" in line


# --- 4. stopping flopwatt stops dbt --------------------------------------------------------------


def dbt_child_holding(db: Path, parent: int) -> int:
    """The PID of flopwatt's dbt child once it has opened the warehouse."""

    def holder():
        return next(
            (p for p in file_lock_holders(db) if p != parent and descends_from(p, parent)), None
        )

    pid = wait_for(holder, timeout=120)
    assert pid, "dbt never opened the warehouse"
    return pid


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_stopping_flopwatt_stops_its_dbt_child(warehouse, tmp_path, sig):
    before = raw_counts(warehouse)
    log = tmp_path / "build.log"
    with log.open("w") as out:  # a file, not a pipe: waiting for flopwatt must not wait for dbt
        build = subprocess.Popen(  # --full-refresh: an up-to-date build would not start dbt
            flopwatt_cmd("build", "--full-refresh"),
            env=cli_env(warehouse),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    child = dbt_child_holding(warehouse, build.pid)
    os.kill(build.pid, sig)
    build.wait(timeout=120)
    assert build.returncode == -sig
    if sig == signal.SIGTERM:  # flopwatt passed it on and waited for dbt
        assert not alive(child)
    else:  # the kernel told dbt (parent-death signal)
        assert wait_for(lambda: not alive(child), timeout=1.5), "dbt outlived flopwatt"
    assert wait_for(lambda: not file_lock_holders(warehouse), timeout=1.5)
    assert "Finished running" not in log.read_text()  # dbt was stopped, it did not run to its end
    r = flopwatt(warehouse, "build", "--quiet")  # not refused as busy
    assert r.returncode == 0, r.stderr
    assert raw_counts(warehouse) == before  # and nothing was lost or half-written


# --- 2. the report reads only ---------------------------------------------------------------------


def test_report_reads_only_and_readers_run_beside_it(warehouse, tmp_path):
    digest = sha256(warehouse)
    report = start(warehouse, "report", "--out", str(tmp_path / "r"))  # with its data tests
    polls, refused = 0, []
    while report.poll() is None:
        r = flopwatt(warehouse, "sql", "select count(*) as n from raw.runs", "--format", "csv")
        polls += 1
        if r.returncode != 0 or r.stdout.splitlines() != ["n", "2"]:
            refused.append(r.stderr.strip())
    _, err = report.communicate()
    assert report.returncode == 0, err
    assert refused == [] and polls >= 3, (polls, refused[:3])
    assert (tmp_path / "r" / "report.html").is_file()
    assert sha256(warehouse) == digest and not Path(f"{warehouse}.wal").exists()


@needs_capsh
def test_a_file_the_user_may_only_read_works_for_report_status_sql(warehouse, tmp_path):
    warehouse.chmod(0o444)
    env = cli_env(warehouse)
    report = unprivileged(flopwatt_cmd("report", "--out", str(tmp_path / "r")), env)
    assert report.returncode == 0, report.stderr
    assert "Permission denied" not in report.stderr
    status = unprivileged(flopwatt_cmd("status"), env)
    assert status.returncode == 0 and "raw.runs" in status.stdout, status.stderr
    sql = unprivileged(flopwatt_cmd("sql", "select count(*) as n from raw.runs"), env)
    assert sql.returncode == 0 and "(1 rows)" in sql.stdout, sql.stderr
    runs = tmp_path / "more.csv"
    runs.write_text(RUNS.replace("resnet18", "resnet50"))
    ingest = unprivileged(flopwatt_cmd("ingest", "runs", str(runs)), env)
    line = one_line_error(ingest.stderr)  # a writer is refused, in one line
    assert ingest.returncode == 1 and str(warehouse) in line and "ermission denied" in line
    Path(f"{warehouse}.lock").unlink()
    warehouse.parent.chmod(0o555)  # and in a folder the user may not write (no lock file there)
    try:
        sql = unprivileged(flopwatt_cmd("sql", "select count(*) as n from raw.runs"), env)
        assert sql.returncode == 0 and "(1 rows)" in sql.stdout, sql.stderr
        assert unprivileged(flopwatt_cmd("status"), env).returncode == 0
    finally:
        warehouse.parent.chmod(0o755)


def test_a_failing_data_test_stops_the_report(warehouse, tmp_path):
    """The read-only data tests see the warehouse's data: a duplicated run breaks `unique`."""
    con = duckdb.connect(str(warehouse))
    # marts.fct_run_energy is a view over this table
    con.execute(
        "insert into intermediate.int_run_energy_totals "
        "select * from intermediate.int_run_energy_totals limit 1"
    )
    con.close()
    r = flopwatt(warehouse, "report", "--out", str(tmp_path / "r"))
    assert r.returncode == 1 and "data tests failed, report not written" in r.stderr
    assert not (tmp_path / "r" / "report.html").exists()


def test_dbt_that_cannot_run_is_not_blamed_on_the_data(monkeypatch, tmp_path):
    import flopwatt.dbt_runner
    from flopwatt.cli import report as cli_report
    from flopwatt.dbt_runner import DbtError

    def broken(args, **kw):
        raise DbtError("dbt test failed to run (exit 2, see above)", 2)

    monkeypatch.setattr(flopwatt.dbt_runner, "run_dbt", broken)
    with pytest.raises(DbtError, match="failed to run"):
        cli_report.run_data_tests()


# --- 6. report --out into a folder that cannot be written -----------------------------------------


@needs_capsh
def test_report_into_a_folder_it_cannot_write_is_one_line(warehouse, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    for out in (locked, locked / "new"):
        r = unprivileged(
            flopwatt_cmd("report", "--skip-tests", "--out", str(out)), cli_env(warehouse)
        )
        line = one_line_error(r.stderr)
        assert r.returncode == 1 and str(locked) in line and "Permission denied" in line


def test_report_under_a_file_is_one_line(warehouse, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = flopwatt(warehouse, "report", "--skip-tests", "--out", str(blocker / "r"))
    line = one_line_error(r.stderr)
    assert r.returncode == 1 and str(blocker) in line
