"""The report: from a hand-made warehouse, in headless Chromium, through the CLI, and end to end
from the reference study's files."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import polars as pl
import pytest
from flopwatt.plots.data import MartError, load_marts, reference_shape
from flopwatt.plots.figures import pareto_front
from flopwatt.plots.fits import compute_fits
from flopwatt.plots.report import export_tables, write_report
from synthetic_marts import make_synthetic_db

from flopwatt.cli import main
from flopwatt.core.config import CHECKOUT_ROOT
from flopwatt.core.db import connect

FIGURES = [
    "top1_error_vs_gflops",
    "top5_error_vs_gflops",
    "top5_error_vs_log_flops",
    "vgg_top5_error",
    "energy_vs_gflops",
    "energy_fit_all",
    "energy_fit_without_densenet",
    "energy_fit_vgg",
    "pareto_top1_vs_energy",
    "energy_fit_residuals",
    "params_vs_gflops",
    "time_vs_gflops",
]
CV_COLUMNS = ["model", "GFLOPS", "empirical", "kg CO2e", "top1score", "top5score"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return make_synthetic_db(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def report(synthetic, tmp_path_factory) -> Path:
    """One report from the synthetic warehouse, shared by the tests below (drawing is slow)."""
    out = tmp_path_factory.mktemp("report")
    con = connect(synthetic, read_only=True)
    try:
        path = write_report(out, con=con)
    finally:
        con.close()
    return path


def test_report_files_and_embedded_figures(report):
    out = report.parent
    page = report.read_text(encoding="utf-8")
    for name in FIGURES:
        png, svg = out / "figures" / f"{name}.png", out / "figures" / f"{name}.svg"
        assert png.stat().st_size > 10_000 and svg.stat().st_size > 5_000, name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'id="fig-{name}"' in page, f"{name} is not in the report"
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert not re.search(r'<img[^>]+src="(?!data:)', page)  # self-contained: nothing to fetch
    assert "<script" not in page
    for section in ("Summary", "Per-model efficiency", "Fits", "Figures", "Data quality",
                    "Provenance", "Exports"):  # fmt: skip
        assert f">{section}</h2>" in page
    # data quality and provenance say what they should
    assert "resnet18-x" in page  # the incomplete run is listed
    assert "mnasnet0_5" in page and "shufflenet_v2_x0_5" in page  # missing accuracy / never run
    assert "power is not a number" in page  # quarantined rows with their reason
    assert "codecarbon (OWID energy mix)" in page and "2022" in page
    assert "plotnine" in page and "duckdb" in page  # package versions
    assert "meter: wall" in page  # caption with the meter kind


def test_exports(report):
    data = report.parent / "data"
    names = ["fct_model_efficiency", "dim_models", "fct_run_energy", "rpt_reference_inference",
             "fct_data_quality", "stg_raw__quarantined_rows", "stg_raw__loads", "fits"]  # fmt: skip
    for name in names:
        assert (data / f"{name}.csv").exists() and (data / f"{name}.parquet").exists(), name
        assert (
            pl.read_parquet(data / f"{name}.parquet").height
            == pl.read_csv(data / f"{name}.csv").height
        )
    with open(data / "cv_inference.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == CV_COLUMNS
    assert len(rows) == 1 + 15 and rows[1][0] == "alexnet"
    assert not list(data.glob(".*.tmp"))


def test_fit_numbers_match_scipy_on_the_exports(report):
    from scipy import stats

    data = report.parent / "data"
    eff = pl.read_csv(data / "fct_model_efficiency.csv")
    fits = {r["name"]: r for r in pl.read_csv(data / "fits.csv").iter_rows(named=True)}
    no_dense = eff.filter(pl.col("family") != "densenet")
    for name, frame in (("energy_vs_gflops_all", eff),
                        ("energy_vs_gflops_without_densenet", no_dense)):  # fmt: skip
        lr = stats.linregress(frame["gflops"].to_numpy(), frame["energy_per_inference_j_mean"])
        got = fits[name]
        assert got["n"] == frame.height
        assert got["slope"] == pytest.approx(lr.slope, rel=1e-9)
        assert got["intercept"] == pytest.approx(lr.intercept, rel=1e-9)
        assert got["r2"] == pytest.approx(lr.rvalue**2, rel=1e-9)
        assert got["p_value"] == pytest.approx(lr.pvalue, rel=1e-6)
        assert got["slope_ci_low"] <= lr.slope <= got["slope_ci_high"]


def test_rerun_gives_the_same_numbers(synthetic, report, tmp_path):
    con = connect(synthetic, read_only=True)
    try:
        data = load_marts(con)
    finally:
        con.close()
    fits, _ = compute_fits(data.efficiency, data.models)
    export_tables(tmp_path, data, fits)
    first = report.parent / "data"
    for f in sorted(first.glob("*.csv")):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_since_without_the_since_view_filters_runs_and_says_so(synthetic):
    # the hand-made warehouse has no marts.rpt_model_efficiency_since (a dbt build makes it; the
    # filtered efficiency itself is tested in test_model_efficiency.py)
    con = connect(synthetic, read_only=True)
    try:
        whole = load_marts(con).efficiency
        data = load_marts(con, since=date(2024, 4, 1))
    finally:
        con.close()
    assert data.runs.height == 1
    assert data.efficiency.equals(whole)
    assert reference_shape(data).columns == CV_COLUMNS
    assert any("--since 2024-04-01" in n and "unfiltered" in n for n in data.notes)


def test_missing_optional_table_and_column(tmp_path):
    db = make_synthetic_db(
        tmp_path / "w.duckdb",
        drop=("marts.rpt_reference_inference", "marts.fct_model_efficiency.mean_power_w"),
    )
    con = connect(db, read_only=True)
    try:
        data = load_marts(con)
    finally:
        con.close()
    assert data.reference is None
    assert data.efficiency["mean_power_w"].null_count() == data.efficiency.height
    assert any("rpt_reference_inference" in n for n in data.notes)
    assert any("mean_power_w" in n for n in data.notes)
    cv = reference_shape(data)  # derived from the efficiency table instead
    assert cv.columns == CV_COLUMNS and cv.height == 15


def test_missing_required_column_is_named(tmp_path):
    db = make_synthetic_db(tmp_path / "w.duckdb", drop=("marts.dim_models.gflops",))
    con = connect(db, read_only=True)
    try:
        with pytest.raises(MartError, match=r"marts\.dim_models lacks column\(s\) gflops"):
            load_marts(con)
    finally:
        con.close()


def test_pareto_front():
    f = pl.DataFrame(
        {
            "model_name": ["a", "b", "c", "d", "e"],
            "e": [1.0, 2.0, 2.0, 3.0, 4.0],
            "acc": [50.0, 60.0, 55.0, 58.0, 70.0],
        }
    )
    assert pareto_front(f, "e", "acc")["model_name"].to_list() == ["a", "b", "e"]


# --- the command ---------------------------------------------------------------------------------


def _run(args) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_cli_missing_database(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FLOPWATT_DB", str(tmp_path / "none.duckdb"))
    assert _run(["report", "--out", str(tmp_path / "r")]) == 1
    assert "does not exist yet" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_cli_busy_database(tmp_path, monkeypatch, capsys):
    db = make_synthetic_db(tmp_path / "w.duckdb")
    monkeypatch.setenv("FLOPWATT_DB", str(db))
    holder = subprocess.Popen(
        [str(CHECKOUT_ROOT / ".venv/bin/python") if (CHECKOUT_ROOT / ".venv/bin/python").exists()
         else "python", "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
         "time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ok"
        assert _run(["report", "--out", str(tmp_path / "r"), "--skip-tests"]) == 1
        assert "database is busy" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "r" / "report.html").exists()


def test_cli_failing_data_tests_stop_the_report(tmp_path, monkeypatch, capsys):
    from flopwatt.plots import report as plots_report

    import flopwatt.dbt_runner
    from flopwatt.dbt_runner import DbtError

    db = make_synthetic_db(tmp_path / "w.duckdb")
    monkeypatch.setenv("FLOPWATT_DB", str(db))

    def failing(args, **kw):
        assert args[0] == "test"
        raise DbtError("dbt test failed: some models or data tests did not pass", 1)

    monkeypatch.setattr(flopwatt.dbt_runner, "run_dbt", failing)
    monkeypatch.setattr(plots_report, "write_report", lambda *a, **k: pytest.fail("written"))
    assert _run(["report", "--out", str(tmp_path / "r")]) == 1
    assert "data tests failed, report not written" in capsys.readouterr().err


def test_cli_passes_out_and_since(tmp_path, monkeypatch, capsys):
    from flopwatt.plots import report as plots_report

    db = make_synthetic_db(tmp_path / "w.duckdb")
    monkeypatch.setenv("FLOPWATT_DB", str(db))
    seen = {}

    def fake(out, since):
        seen.update(out=out, since=since)
        return out / "report.html"

    monkeypatch.setattr(plots_report, "write_report", fake)
    assert _run(["report", "--out", str(tmp_path / "r"), "--since", "2024-04-01",
                 "--skip-tests"]) == 0  # fmt: skip
    assert seen == {"out": tmp_path / "r", "since": date(2024, 4, 1)}
    assert "report written" in capsys.readouterr().out


# --- headless Chromium ---------------------------------------------------------------------------


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Cdp:
    """The DevTools protocol over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-separated
    JSON): no websocket library needed."""

    def __init__(self, binary: str, profile: Path):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def fds():  # in the child: the pipe ends become fds 3 and 4 (moved out of the way first)
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # dup2 makes the new descriptor inheritable
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:  # fmt: skip
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)


def open_in_chromium(binary: str, url: str, profile: Path) -> tuple[list[str], list]:
    """Load ``url``; return (console errors and exceptions, [(alt, naturalWidth) per <img>])."""
    cdp = Cdp(binary, profile)
    try:
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            cdp.call(f"{domain}.enable", session=session)
        cdp.call("Page.navigate", {"url": url}, session=session)
        cdp.wait_event("Page.loadEventFired", timeout=90)
        res = cdp.call(
            "Runtime.evaluate",
            {"expression": "JSON.stringify(Array.from(document.images).map("
                           "i => [i.alt, i.complete, i.naturalWidth]))",
             "returnByValue": True},
            session=session,
        )  # fmt: skip
        images = json.loads(res["result"]["value"])
        errors = []
        for e in cdp.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(f"console: {p.get('args')}")
            elif method == "Runtime.exceptionThrown":
                errors.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return errors, images
    finally:
        cdp.close()


@pytest.mark.slow
def test_report_opens_in_headless_chromium(report, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    errors, images = open_in_chromium(binary, report.resolve().as_uri(), tmp_path / "profile")
    assert errors == []
    assert len(images) == len(FIGURES)
    assert all(complete and width > 0 for _alt, complete, width in images), images


# --- end to end from the reference study's files -------------------------------------------------

MARTS_SQL = CHECKOUT_ROOT / "models_sql" / "marts" / "fct_run_energy.sql"


def write_power_series(reference: Path, out: Path) -> None:
    """A 3-second wall-meter series over the study's runs (pm.csv, London time): 55 W idle and
    70 W + 0.35 W per GFLOP while a model runs, as UTC ISO timestamps."""
    macs = {}
    with open(reference / "models.txt", encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            macs[r["model"]] = float(r["macs"])
    london, utc = ZoneInfo("Europe/London"), ZoneInfo("UTC")
    runs = []
    with open(reference / "pm.csv", encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            s = datetime.fromisoformat(r["start_time"]).replace(tzinfo=london).astimezone(utc)
            e = datetime.fromisoformat(r["end_time"]).replace(tzinfo=london).astimezone(utc)
            runs.append((s, e, 70.0 + 0.35 * 2 * macs.get(r["model"], 0.0) / 1e9))
    t, end = runs[0][0] - timedelta(seconds=120), runs[-1][1] + timedelta(seconds=120)
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "watts", "meter_id"])
        while t <= end:
            p = next((pw for s, e, pw in runs if s <= t < e), 55.0)
            w.writerow([t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), f"{p:.1f}", "plug1"])
            t += timedelta(seconds=3)


@pytest.mark.slow
def test_report_from_the_reference_study(reference_dir, db_file, tmp_path, capsys):
    if not MARTS_SQL.exists():
        pytest.skip("models_sql/marts/fct_run_energy.sql does not exist yet")
    from scipy import stats

    r = reference_dir
    power = tmp_path / "power.csv"
    write_power_series(r, power)
    carbon = tmp_path / "carbon.csv"
    carbon.write_text("zone,year,g_per_kwh,source\nGBR,2020,233.0,test table\n")
    for args in (
        ["ingest", "runs", str(r / "pm.csv"), "--tz", "Europe/London", "--inferences", "10000",
         "--meter", "plug1"],
        ["ingest", "flops", str(r / "models.txt")],
        ["ingest", "accuracy", str(r / "accuracy.csv"), "--as", "error"],
        ["ingest", "power", str(power), "--zone", "GBR"],
        ["ingest", "carbon", str(carbon)],
        ["build", "--quiet"],
    ):  # fmt: skip
        assert _run(args) == 0, args
    out = tmp_path / "report"
    assert _run(["report", "--out", str(out)]) == 0  # runs dbt test first
    page = (out / "report.html").read_text(encoding="utf-8")
    for name in FIGURES:
        assert f'id="fig-{name}"' in page, name
        assert (out / "figures" / f"{name}.png").exists()
    data = out / "data"
    cv = pl.read_csv(data / "cv_inference.csv")
    assert cv.columns == CV_COLUMNS and cv.height == 30
    # independent scipy fits on the exported reference-shaped table
    fits = {f["name"]: f for f in pl.read_csv(data / "fits.csv").iter_rows(named=True)}
    eff = pl.read_csv(data / "fct_model_efficiency.csv")
    energy = eff.select("model_name", "energy_per_inference_j_mean")
    cvj = cv.join(energy, left_on="model", right_on="model_name")
    # empirical (kWh per run of 10,000 inferences) is the same energy in other units
    assert np.allclose(cvj["empirical"] * 3.6e6 / 10_000, cvj["energy_per_inference_j_mean"])
    sets = {
        "energy_vs_gflops_all": cvj,
        "energy_vs_gflops_without_densenet": cvj.filter(
            ~pl.col("model").str.starts_with("densenet")
        ),
        "energy_vs_gflops_family_vgg": cvj.filter(pl.col("model").str.starts_with("vgg")),
    }
    for name, frame in sets.items():
        lr = stats.linregress(frame["GFLOPS"].to_numpy(), (frame["empirical"] * 3.6e6 / 1e4))
        got = fits[name]
        assert got["n"] == frame.height, name
        assert got["slope"] == pytest.approx(lr.slope, rel=1e-6), name
        assert got["intercept"] == pytest.approx(lr.intercept, rel=1e-6), name
        assert got["r2"] == pytest.approx(lr.rvalue**2, rel=1e-6), name
        fitted = lr.intercept + lr.slope * frame["GFLOPS"].to_numpy()
        rmse = float(np.sqrt(np.mean((frame["empirical"].to_numpy() * 360 - fitted) ** 2)))
        assert got["rmse"] == pytest.approx(rmse, rel=1e-6), name
    models = pl.read_csv(data / "dim_models.csv").filter(pl.col("top5_err_pct").is_not_null())
    assert models.height == 29  # accuracy.csv has 29 of the 35 profiled models
    lr = stats.linregress(models["gflops"].to_numpy(), models["top5_err_pct"].to_numpy())
    assert fits["top5_err_vs_gflops"]["n"] == 29
    assert fits["top5_err_vs_gflops"]["slope"] == pytest.approx(lr.slope, rel=1e-6)
    # the synthetic meter gives energy rising with GFLOPs: the fit must see it
    assert fits["energy_vs_gflops_all"]["slope"] > 0
    con = duckdb.connect(str(db_file), read_only=True)
    assert con.execute("select count(*) from marts.fct_run_energy").fetchone()[0] >= 30
    con.close()
