"""Timed runs with the estimate sensor, into a temporary warehouse; and the main job's flow."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from flopwatt.profiling.sensors.estimate import EstimateSensor

from flopwatt.core.config import CHECKOUT_ROOT
from flopwatt.core.db import connect
from tests.test_sensors import FakeNvml, powercap  # noqa: F401  (powercap: a pytest fixture)

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

pytestmark = pytest.mark.torch


class Tiny(torch.nn.Module):
    """A tiny CNN that counts its forward passes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 10)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def tiny_builder(built: list):
    def build(name: str):
        model = Tiny()
        built.append((name, model))
        return model

    return build


def rows(sql: str, params=None):
    con = connect(read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_bench_one_tiny_model_for_a_second(db_file):
    from flopwatt.ingest.loader import load
    from flopwatt.profiling.bench import bench_models, preview

    sensor = EstimateSensor(20.0, host="testhost")
    batch = bench_models(
        ["tiny"], sensor, duration_s=1.0, idle_s=0.5, interval_ms=50, warmup=2, input_size=32,
        builder=tiny_builder([]), progress=False, device="cpu",
    )  # fmt: skip
    result = load(batch)
    assert result.load_id is not None and result.rows_quarantined == 0

    runs = rows(
        "select model_name, phase, meter_id, device, host, batch_size, n_inferences, "
        "torch_threads, epoch(ended_at) - epoch(started_at), source_format "
        "from raw.runs order by started_at"
    )
    assert [r[:6] for r in runs] == [
        ("idle", "idle", "estimate:testhost", "cpu", "testhost", None),
        ("tiny", "inference", "estimate:testhost", "cpu", "testhost", 1),
    ]
    assert runs[0][6] is None and runs[1][6] >= 1
    assert runs[1][7] == torch.get_num_threads()
    assert runs[0][8] == pytest.approx(0.5, abs=0.15)
    assert runs[1][8] == pytest.approx(1.0, abs=0.3)  # stops at the first pass after 1 s
    assert {r[9] for r in runs} == {"flopwatt-bench"}

    meters = rows("select meter_id, meter_kind, description from raw.meters")
    assert meters[0][:2] == ("estimate:testhost", "estimate")
    assert meters[0][2].startswith("ESTIMATE") and "--tdp 20 W" in meters[0][2]

    # ~1.5 s of runs + the tail, sampled every 50 ms: about 30 readings; at 20 W at most
    n, lo, hi, first, last = rows(
        "select count(*), min(power_w), max(power_w), min(measured_at), max(measured_at) "
        "from raw.power_readings where meter_id = 'estimate:testhost'"
    )[0]
    assert 15 <= n <= 45
    assert 0.0 <= lo <= hi <= 20.0 + 1e-9
    start, end = rows("select min(started_at), max(ended_at) from raw.runs")[0]
    assert first <= start and last >= end  # the readings bracket every run

    assert rows("select kind, format from raw.loads") == [("bench", "flopwatt-bench")]
    assert load(batch).skipped_as_duplicate_of == result.load_id  # same content: skipped

    pv = preview(batch)
    tiny = pv.filter(pv["model_name"] == "tiny").row(0, named=True)
    assert tiny["energy_j"] is not None
    assert 0.0 <= tiny["mean_power_w"] <= 20.0 + 1e-9  # float rounding of E/t


def test_bench_counts_inferences_in_whole_batches():
    from flopwatt.profiling.bench import bench_models

    built: list = []
    sensor = EstimateSensor(10.0, host="h")
    batch = bench_models(["a", "b"], sensor, inferences=5, batch_size=2, warmup=1, idle_s=0,
                         interval_ms=20, input_size=32, builder=tiny_builder(built),
                         progress=False, device="cpu")  # fmt: skip
    runs = batch.tables["runs"]
    # 5 images in batches of 2: ceil(5 / 2) = 3 passes = 6 images; no idle run (idle_s=0)
    assert runs["model_name"].to_list() == ["a", "b"]
    assert runs["n_inferences"].to_list() == [6, 6]
    assert runs["batch_size"].to_list() == [2, 2]
    # each model: 1 warmup pass + 3 timed passes
    assert [m.calls for _, m in built] == [4, 4]
    assert batch.kind == "bench" and batch.rows_read == sum(f.height for f in batch.tables.values())


def test_bench_rejects_inferences_and_duration_together():
    from flopwatt.profiling.bench import bench_models

    with pytest.raises(ValueError, match="not both"):
        bench_models(["x"], EstimateSensor(10.0), inferences=1, duration_s=1.0, progress=False)


def test_fixed_input_is_preprocessed_once_and_deterministic():
    from flopwatt.profiling.bench import fixed_input

    a, b = fixed_input(64, 3), fixed_input(64, 3)
    assert tuple(a.shape) == (3, 3, 64, 64)
    assert torch.equal(a, b) and torch.equal(a[0], a[2])
    assert a.dtype == torch.float32 and -3 < float(a.mean()) < 3  # normalised, not 0..255


def test_import_of_cmd_bench_and_cmd_run_does_not_import_torch():
    code = "import sys, flopwatt.cli.bench, flopwatt.cli.run; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_cli_bench_squeezenet_with_estimate(db_file):
    from flopwatt.cli.bench import bench

    res = CliRunner().invoke(bench, [
        "--models", "squeezenet1_1", "--duration", "1", "--sensor", "estimate", "--tdp", "30",
        "--idle-s", "0.3", "--warmup", "1", "--input-size", "64", "--interval-ms", "50",
        "--no-progress", "--device", "cpu",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "squeezenet1_1" in res.output and "load #1" in res.output
    got = rows("select model_name, phase from raw.runs order by started_at")
    assert got == [("idle", "idle"), ("squeezenet1_1", "inference")]


def test_cli_bench_no_load_writes_nothing(db_file):
    from flopwatt.cli.bench import bench

    res = CliRunner().invoke(bench, [
        "--models", "squeezenet1_1", "--inferences", "1", "--sensor", "estimate", "--tdp", "30",
        "--idle-s", "0", "--warmup", "0", "--input-size", "64", "--no-progress", "--no-load",
        "--device", "cpu",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "--no-load" in res.output
    assert not db_file.exists()


def test_cli_unknown_model_and_unavailable_sensor(db_file, capsys):
    from flopwatt.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "--models", "resnet_nope", "--sensor", "estimate", "--no-progress"])
    assert exc.value.code == 1
    assert "unknown torchvision model(s): resnet_nope" in capsys.readouterr().err
    if not Path("/sys/class/powercap/intel-rapl:0").exists():
        with pytest.raises(SystemExit) as exc:
            main(["bench", "--models", "resnet18", "--sensor", "rapl"])
        assert exc.value.code == 1
        assert "--sensor rapl is not available here: rapl:" in capsys.readouterr().err


def test_main_job_flow_calls_each_stage_in_order(db_file, monkeypatch):
    """``flopwatt run`` with the stages owned elsewhere stubbed: the order and the loads."""
    from flopwatt.ingest.loader import Batch
    from flopwatt.profiling import profile as profiling_profile

    import flopwatt.dbt_runner
    from flopwatt.cli import bench as cmd_bench
    from flopwatt.cli import run as cmd_run

    calls: list = []

    def fake_profile(names, all_variants=False, progress=True):
        calls.append(("profile", tuple(names)))
        return Batch(kind="profile", format="test", source="fake", sha256="0" * 64, rows_read=0)

    def fake_bench(models, **kw):
        calls.append(("bench", tuple(models), kw["duration_s"], kw["sensor"]))
        from flopwatt.profiling.bench import bench_models

        return bench_models(models, EstimateSensor(10.0, host="h"), duration_s=0.2, idle_s=0.1,
                            interval_ms=20, input_size=32, builder=tiny_builder([]),
                            progress=False, device="cpu")  # fmt: skip

    monkeypatch.setattr(profiling_profile, "profile_models", fake_profile)
    monkeypatch.setattr(cmd_bench, "do_bench", fake_bench)
    monkeypatch.setattr(
        flopwatt.dbt_runner, "run_dbt_build", lambda args, quiet=False: calls.append(("build",))
    )

    def fake_report(out_dir):
        calls.append(("report",))
        return Path(out_dir) / "report.html"

    from flopwatt.plots import report as plots_report

    monkeypatch.setattr(plots_report, "write_report", fake_report)
    monkeypatch.setenv("FLOPWATT_REPORTS", str(db_file.parent / "reports"))
    res = CliRunner().invoke(cmd_run.run, ["--models", "m1,m2", "--duration", "0.2",
                                           "--sensor", "estimate", "--no-progress"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert [c[0] for c in calls] == ["profile", "bench", "build", "report"]
    assert calls[0][1] == ("m1", "m2") and calls[1][1:] == (("m1", "m2"), 0.2, "estimate")
    assert "report: " in res.output and "report.html" in res.output
    assert rows("select count(*) from raw.runs")[0][0] == 3  # idle + m1 + m2, one meter
    # the annual grid intensities come along, so the runs get carbon
    assert rows("select count(*) from raw.carbon_intensity where zone = 'GBR'")[0][0] == 1


MART = CHECKOUT_ROOT / "models_sql" / "marts" / "fct_run_energy.sql"


@pytest.mark.slow
@pytest.mark.skipif(not MART.exists(), reason="models_sql/marts/fct_run_energy.sql not there yet")
def test_bench_end_to_end_into_fct_run_energy(db_file):
    from flopwatt.ingest.loader import load
    from flopwatt.profiling.bench import bench_models

    from flopwatt.dbt_runner import run_dbt_build

    batch = bench_models(["squeezenet1_1"], EstimateSensor(20.0, host="e2e"), duration_s=1.0,
                         idle_s=0.5, interval_ms=50, warmup=1, input_size=64, progress=False,
                         device="cpu")  # fmt: skip
    load(batch)
    run_dbt_build([], quiet=True)
    run_ids = batch.tables["runs"]["run_id"].to_list()
    got = rows(
        "select run_id, meter_kind, energy_j from marts.fct_run_energy "
        f"where run_id in ({', '.join('?' for _ in run_ids)}) order by started_at",
        run_ids,
    )
    assert len(got) == 2  # idle + squeezenet1_1
    assert {g[1] for g in got} == {"estimate"}
    assert all(g[2] is not None and 0.0 <= g[2] <= 20.0 * 2 for g in got)


class RampGpu(dict):
    """A fake NVML device whose total-energy counter (mJ) grows at ``watts`` from ``t0_ns``."""

    def __init__(self, uuid: str, watts: float, t0_ns: int) -> None:
        super().__init__(uuid=uuid, name="Fake A100", energy_mj=0)
        self.watts, self.t0_ns = watts, t0_ns

    def __getitem__(self, key):
        if key == "energy_mj":  # W x ns / 1e6 = mJ, from 5 kJ at t0
            return int(5_000_000 + self.watts * (time.monotonic_ns() - self.t0_ns) / 1e6)
        return super().__getitem__(key)


# RAPL domains of the fake powercap tree (tests/test_sensors.py): power in W, energy_uj at t0
RAPL_WATTS = {
    "intel-rapl:0": (35.0, 999_000_000),  # package-0: 999 J of a 1000 J range, wraps in ~30 ms
    "intel-rapl:0:0": (30.0, 500_000_000),  # core, inside the package: never counted
    "intel-rapl:0:1": (2.0, 20_000_000),  # uncore, inside the package: never counted
    "intel-rapl:0:2": (4.0, 10_000_000),  # dram
    "intel-rapl:1": (90.0, 7_000_000_000),  # psys, contains the package: never counted
}


def _unwrapped(values: np.ndarray, range_j: float | None) -> np.ndarray:
    drops = np.concatenate([[0.0], np.where(np.diff(values) < 0, range_j or 0.0, 0.0)])
    return values + np.cumsum(drops)


@pytest.mark.slow
def test_bench_auto_samples_rapl_and_two_gpus_into_one_run_with_four_meters(
    db_file,
    powercap,  # noqa: F811 (the fixture imported above)
    monkeypatch,
):
    """--sensor auto with RAPL (package + dram) and NVML (2 GPUs): one run per interval, four
    meters of the host; its total is the sum of the four counters' increments over the run,
    computed here with numpy from the counters as sampled (wrap undone by hand)."""
    from flopwatt.ingest.loader import load
    from flopwatt.profiling.bench import bench_models
    from flopwatt.profiling.sensors import rapl as rapl_mod
    from flopwatt.profiling.sensors import select_sensor

    from flopwatt.dbt_runner import run_dbt_build

    t0 = time.monotonic_ns()
    real_read = rapl_mod._read_text

    def ramp(path: Path) -> str:
        if path.name != "energy_uj":
            return real_read(path)
        watts, start_uj = RAPL_WATTS[path.parent.name]
        range_uj = int(real_read(path.parent / "max_energy_range_uj"))
        return str(int(start_uj + watts * (time.monotonic_ns() - t0) / 1e3) % range_uj)

    monkeypatch.setattr(rapl_mod, "_read_text", ramp)
    gpus = FakeNvml([RampGpu("GPU-aaaa", 120.0, t0), RampGpu("GPU-bbbb", 60.0, t0)])
    sensor = select_sensor("auto", rapl_root=powercap, nvml=gpus).sensor
    assert sensor.name == "rapl+nvml" and len(sensor.meters()) == 4
    batch = bench_models(["tiny"], sensor, duration_s=1.0, idle_s=0.3, interval_ms=50, warmup=1,
                         input_size=32, builder=tiny_builder([]), progress=False,
                         device="cpu")  # fmt: skip
    runs = batch.tables["runs"]
    assert runs["model_name"].to_list() == ["idle", "tiny"]  # one row per interval
    assert runs["meter_id"].null_count() == 2 and runs["host"].n_unique() == 1
    host = runs["host"][0]
    assert set(batch.tables["meters"]["host_id"]) == {host}
    load(batch)
    run_dbt_build([], quiet=True)

    tiny = runs.row(1, named=True)
    counters = batch.tables["energy_counters"]
    start_us, end_us = (
        (tiny[c] - datetime(1970, 1, 1)) // timedelta(microseconds=1)
        for c in ("started_at", "ended_at")
    )
    expected = {}
    for (meter_id,), rows_ in counters.group_by("meter_id"):
        ts = np.array([(t - datetime(1970, 1, 1)) // timedelta(microseconds=1)
                       for t in rows_["measured_at"]])  # fmt: skip
        energy = _unwrapped(rows_["energy_j"].to_numpy(), rows_["counter_range_j"][0])
        expected[meter_id] = float(np.interp(end_us, ts, energy) - np.interp(start_us, ts, energy))
    assert sorted(k.split(":")[-1] for k in expected) == [
        "GPU-aaaa", "GPU-bbbb", "dram-0", "package-0",
    ]  # fmt: skip

    got = rows(
        "select energy_j, energy_scope, unmetered_components, gpu_energy_j, cpu_energy_j, "
        "dram_energy_j, wall_energy_j, meter_source, host_id, duration_s "
        "from marts.fct_run_energy where run_id = ?",
        [tiny["run_id"]],
    )[0]
    per_meter = dict(rows(
        "select meter_id, energy_j from marts.fct_run_meter_energy "
        "where run_id = ? and counted_in_total", [tiny["run_id"]],
    ))  # fmt: skip
    assert per_meter == pytest.approx(expected, rel=1e-9)
    total = sum(expected.values())
    print(f"four meters: {per_meter}; total {got[0]!r} J, numpy {total!r} J over {got[9]} s")
    assert got[0] == pytest.approx(total, rel=1e-9)
    assert got[1:3] == ("components", None)  # package, dram and the GPUs: nothing unmetered
    gpu = sum(v for k, v in expected.items() if "GPU" in k)
    assert got[3] == pytest.approx(gpu, rel=1e-9)
    assert got[4] == pytest.approx(expected[f"rapl:{host}:package-0"], rel=1e-9)
    assert got[5] == pytest.approx(expected[f"rapl:{host}:dram-0"], rel=1e-9)
    assert got[6] is None and got[7:9] == ("host", host)
    # and the counters ramp at 35 + 4 + 120 + 60 W (core, uncore and psys never counted)
    assert got[0] == pytest.approx(219.0 * got[9], rel=1e-2)
