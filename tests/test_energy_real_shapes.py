"""Real-world shapes through the loaders and dbt (issue 11): a Home Assistant export whose last
change before a run is two days earlier, a 30.1 s smart plug, an ``nvidia-smi -l 30`` log, a carbon
series over a 3.5 h hole in a meter, two carbon providers for one zone (both load orders), a 21 h
BMC log with one run over all of it, and a profile whose accuracy is NaN.

Every file is written here by hand; expected values are worked out independently of the models
(hand sums with exact fractions, numpy), never read off their output.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from itertools import pairwise

import duckdb
import numpy as np
import polars as pl
import pytest
from flopwatt.ingest import carbon_series, nvidia_smi, power, runs
from flopwatt.ingest.loader import Batch
from flopwatt.profiling.profile import ACCURACY_SCHEMA, FLOP_SCHEMA
from helpers import load_and_build, run_energy_row, warehouse_env

from flopwatt.dbt_runner import run_dbt_build

pytestmark = pytest.mark.slow

# --- a Home Assistant history export (change-only): two entities, one run 16:54-19:05 whose last
# change before the start is two days earlier, an outage inside the run, a duplicate instant
HA_HISTORY = """entity_id,state,last_changed
sensor.rig_power,212.4,2024-06-05T09:12:33.517+00:00
sensor.nas_power,31.0,2024-06-05T10:00:00.000+00:00
sensor.rig_power,388.0,2024-06-07T17:40:02.100+00:00
sensor.nas_power,33.5,2024-06-07T17:41:00.000+00:00
sensor.rig_power,unavailable,2024-06-07T18:10:00.000+00:00
sensor.rig_power,390.5,2024-06-07T18:25:30.000+00:00
sensor.rig_power,390.5,2024-06-07T18:25:30.000+00:00
sensor.rig_power,215.0,2024-06-07T19:30:00.000+00:00
sensor.nas_power,31.0,2024-06-07T19:31:00.000+00:00
"""


def _plug() -> tuple[list[datetime], list[float]]:
    """A smart plug polled every 30.1 s from 11:50 to past 13:10 (local time +01:00 in the file)."""
    t0 = datetime(2024, 6, 7, 11, 50, tzinfo=UTC)
    ts = [t0 + timedelta(milliseconds=30_100 * i) for i in range(162)]
    watts = [round(55.0 + 40.0 * ((i * 7) % 11) / 10.0, 1) for i in range(162)]
    return ts, watts


HOLE_FROM = datetime(2024, 6, 7, 14, 19, tzinfo=UTC)


def _nvidia() -> tuple[list[datetime], list[float]]:
    """``nvidia-smi -l 30``: 30 s plus a few ms per step, with a 5-minute hole (driver restart)."""
    ts, t = [], datetime(2024, 6, 7, 14, 0, 0, 12_000, tzinfo=UTC)
    i = 0
    while t < datetime(2024, 6, 7, 14, 45, tzinfo=UTC):
        ts.append(t)
        step = timedelta(seconds=30, milliseconds=(i * 13) % 41)
        if HOLE_FROM <= t < HOLE_FROM + timedelta(seconds=31):
            step = timedelta(seconds=300)
        t += step
        i += 1
    watts = [round(61.0 + 180.0 * ((k * 5) % 9) / 8.0, 2) for k in range(len(ts))]
    return ts, watts


def _pdu() -> tuple[list[datetime], list[float]]:
    """A rack PDU every 10 s from 10:00 to 10:30, then silent 3.5 h, then 10 more minutes."""
    a = [datetime(2024, 6, 7, 10, 0, tzinfo=UTC) + timedelta(seconds=10 * i) for i in range(181)]
    b = [datetime(2024, 6, 7, 14, 0, tzinfo=UTC) + timedelta(seconds=10 * i) for i in range(61)]
    ts = a + b
    return ts, [round(300.0 + 25.0 * (i % 4), 1) for i in range(len(ts))]


def _bmc() -> tuple[list[datetime], list[float]]:
    """A 21 h BMC wall-power log, one reading a minute; the last one (at the run's end) a spike."""
    t0 = datetime(2024, 6, 8, 0, 0, tzinfo=UTC)
    ts = [t0 + timedelta(minutes=i) for i in range(21 * 60 + 1)]
    watts = [1500.0 + (i % 17) * 6.0 for i in range(len(ts))]
    watts[-1] = 4656.0
    return ts, watts


PDU_SERIES = "zone,from,to,g_per_kwh,source\n" + "".join(
    f"DEU,2024-06-07T{10 + h // 2:02d}:{30 * (h % 2):02d}:00Z,"
    f"2024-06-07T{10 + (h + 1) // 2:02d}:{30 * ((h + 1) % 2):02d}:00Z,{350 + 10 * h},test grid\n"
    for h in range(9)
)
NESO_G, EM_G = 105.7, 153.5
NESO = json.dumps(
    {
        "data": [
            {
                "from": f"2024-06-07T{11 + h // 2:02d}:{30 * (h % 2):02d}Z",
                "to": f"2024-06-07T{11 + (h + 1) // 2:02d}:{30 * ((h + 1) % 2):02d}Z",
                "intensity": {"forecast": 99, "actual": NESO_G, "index": "low"},
            }
            for h in range(1, 5)  # 11:30 to 13:30
        ]
    },
    indent=1,
)
EM_CSV = (
    "Datetime (UTC),Country,Zone name,Zone id,Carbon intensity gCO₂eq/kWh (direct),"
    "Carbon intensity gCO₂eq/kWh (Life cycle),Data source,Data estimated\n"
    + "".join(
        f"2024-06-07 {h:02d}:00:00,United Kingdom,Great Britain,GB,120.0,{EM_G},"
        "elexon.co.uk,false\n"
        for h in (11, 12, 13)
    )
)

RUNS = """model,start_time,end_time,n_inferences,meter_id,phase
resnet50,2024-06-07T18:54:00+02:00,2024-06-07T21:05:00+02:00,5000,sensor.rig_power,inference
mobilenet_v3_small,2024-06-07T12:00:00+00:00,2024-06-07T13:00:00+00:00,9000,plug.desk,inference
vgg16,2024-06-07T14:05:00+00:00,2024-06-07T14:35:00+00:00,800,gpu.l30,inference
resnet18,2024-06-07T10:05:00+00:00,2024-06-07T10:25:00+00:00,3000,rack.pdu,inference
efficientnet_b0,2024-06-08T00:00:00+00:00,2024-06-08T21:00:00+00:00,90000,bmc.wall,inference
"""


def _us(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _hold_integral(ts: list[datetime], watts: list[float], a: datetime, b: datetime) -> Fraction:
    """Zero-order hold integral over [a, b] in J, exact (Fraction), from the readings alone."""
    total = Fraction(0)
    for i in range(len(ts) - 1):
        lo, hi = max(ts[i], a), min(ts[i + 1], b)
        if hi > lo:
            total += Fraction(str(watts[i])) * Fraction(_us(hi) - _us(lo), 1_000_000)
    return total


def _write_inputs(tmp) -> None:
    (tmp / "history.csv").write_text(HA_HISTORY, encoding="utf-8")
    ts, w = _plug()
    (tmp / "plug.csv").write_text(
        "timestamp,watts,meter_id\n"
        + "".join(
            f"{t.astimezone(timezone(timedelta(hours=1))).isoformat(timespec='milliseconds')},{x},plug.desk\n"
            for t, x in zip(ts, w, strict=True)
        ),
        encoding="utf-8",
    )
    ts, w = _nvidia()
    (tmp / "nvidia.csv").write_text(
        "timestamp, name, pci.bus_id, driver_version, pstate, uuid, power.draw [W], "
        "memory.total [MiB]\n"
        + "".join(
            f"{t.strftime('%Y/%m/%d %H:%M:%S')}.{t.microsecond // 1000:03d}, "
            "NVIDIA A100-SXM4-40GB, "
            f"00000000:07:00.0, 535.104.05, P0, GPU-7f3a1c52-0000-4d1e-9a51-aaaaaaaaaaaa, "
            f"{x:.2f} W, 40960 MiB\n"
            for t, x in zip(ts, w, strict=True)
        ),
        encoding="utf-8",
    )
    for name, (ts, w) in {"pdu.csv": _pdu(), "bmc.csv": _bmc()}.items():
        meter = "rack.pdu" if name == "pdu.csv" else "bmc.wall"
        (tmp / name).write_text(
            "timestamp,watts,meter_id\n"
            + "".join(
                f"{t.astimezone(timezone(timedelta(hours=2))).isoformat()},{x},{meter}\n"
                for t, x in zip(ts, w, strict=True)
            ),
            encoding="utf-8",
        )
    (tmp / "pdu_series.csv").write_text(PDU_SERIES, encoding="utf-8")
    (tmp / "neso.json").write_text(NESO, encoding="utf-8")
    (tmp / "GB_2024_hourly.csv").write_text(EM_CSV, encoding="utf-8")
    (tmp / "runs.csv").write_text(RUNS, encoding="utf-8")


def _profile_batch() -> Batch:
    # vgg16 IMAGENET1K_FEATURES has no ImageNet head: its accuracy reaches the raw layer as NaN
    flops = pl.DataFrame(
        [{"line_number": 1, "model_name": "vgg16", "weights": "IMAGENET1K_FEATURES",
          "input_size": 224, "macs": 15.47e9}],
        schema=FLOP_SCHEMA,
    )  # fmt: skip
    acc = pl.DataFrame(
        [{"line_number": 1, "model_name": "vgg16", "weights": "IMAGENET1K_FEATURES",
          "top1_acc_pct": math.nan, "top5_acc_pct": math.nan, "dataset": "ImageNet-1K"}],
        schema=ACCURACY_SCHEMA,
    )  # fmt: skip
    return Batch("profile", "test-profile", "vgg16-features", "sha-vgg16-features", 1,
                 tables={"flop_profiles": flops, "accuracy": acc})  # fmt: skip


def _batches(tmp, em_first: bool) -> list[Batch]:
    _write_inputs(tmp)
    carbon = [
        carbon_series.parse_neso(tmp / "neso.json"),
        carbon_series.parse_electricitymaps(tmp / "GB_2024_hourly.csv"),
    ]
    if em_first:
        carbon.reverse()
    return [
        power.parse(
            tmp / "history.csv", zone="GBR", entities=["sensor.nas_power", "sensor.rig_power"]
        ),
        power.parse(tmp / "plug.csv", zone="GBR"),
        nvidia_smi.parse(tmp / "nvidia.csv", tz="UTC", meter="gpu.l30", zone="GBR"),
        power.parse(tmp / "pdu.csv", zone="DEU"),
        power.parse(tmp / "bmc.csv", zone="GBR"),
        carbon_series.parse_csv(tmp / "pdu_series.csv"),
        *carbon,
        runs.parse(tmp / "runs.csv"),
        _profile_batch(),
    ]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """NESO loaded before Electricity Maps."""
    tmp = tmp_path_factory.mktemp("shapes")
    with warehouse_env(tmp / "w.duckdb") as db:
        con = load_and_build(db, _batches(tmp, em_first=False))
        yield con
        con.close()


@pytest.fixture(scope="module")
def warehouse_em_first(tmp_path_factory):
    """Electricity Maps loaded before NESO; then rebuilt preferring Electricity Maps."""
    tmp = tmp_path_factory.mktemp("shapes-em")
    with warehouse_env(tmp / "w.duckdb") as db:
        con = load_and_build(db, _batches(tmp, em_first=True))
        default = run_energy_row(con, "mobilenet_v3_small")
        con.close()
        run_dbt_build(
            ["--select", "int_run_carbon+", "--vars", "{carbon_source_priority: electricitymaps}"],
            quiet=True,
        )
        con = duckdb.connect(str(db), read_only=True)
        yield default, run_energy_row(con, "mobilenet_v3_small")
        con.close()


# --- item 1: long holds no longer overflow; the held value is energy and coverage -------------


def test_home_assistant_run_two_days_after_the_last_change(warehouse):
    r = run_energy_row(warehouse, "resnet50")
    # [16:54:00, 17:40:02.1] at 212.4 W (held since two days before), [.., 18:10] at 388 W,
    # [18:10, 18:25:30] unavailable (an outage: nothing), [18:25:30, 19:05] at 390.5 W
    expected = 212.4 * 2762.1 + 388.0 * 1797.9 + 390.5 * 2370.0
    assert r["energy_j"] == pytest.approx(expected, rel=1e-12)
    # change-only: the two-day hold is no gap; only the 930 s outage is uncovered
    assert r["coverage_ratio"] == pytest.approx((7860 - 930) / 7860, rel=1e-12)
    assert r["gap_limit_s"] is None


def test_carbon_series_over_a_three_and_a_half_hour_hole(warehouse):
    ts, w = _pdu()
    a, b = datetime(2024, 6, 7, 10, 5, tzinfo=UTC), datetime(2024, 6, 7, 10, 25, tzinfo=UTC)
    energy = float(_hold_integral(ts, w, a, b))
    r = run_energy_row(warehouse, "resnet18")
    assert r["energy_j"] == pytest.approx(energy, rel=1e-12)
    # the whole run lies in the 10:00-10:30 period of 350 g/kWh
    assert r["carbon_method"] == "series"
    assert r["carbon_intensity_g_per_kwh"] == pytest.approx(350.0)
    assert r["co2_g"] == pytest.approx(energy / 3.6e6 * 350.0, rel=1e-9)


# --- item 6: the gap limit follows each meter's own sampling ----------------------------------


def test_plug_polled_every_30_1_s_is_covered(warehouse):
    ts, w = _plug()
    a, b = datetime(2024, 6, 7, 12, 0, tzinfo=UTC), datetime(2024, 6, 7, 13, 0, tzinfo=UTC)
    r = run_energy_row(warehouse, "mobilenet_v3_small")
    assert r["energy_j"] == pytest.approx(float(_hold_integral(ts, w, a, b)), rel=1e-12)
    assert r["gap_limit_s"] == pytest.approx(3 * 30.1, rel=1e-12)
    assert r["coverage_ratio"] == pytest.approx(1.0, rel=1e-12) and r["is_complete"] is True


def test_nvidia_smi_every_30_s_is_covered_except_its_real_hole(warehouse):
    ts, w = _nvidia()
    steps = np.diff([_us(t) for t in ts])
    a, b = datetime(2024, 6, 7, 14, 5, tzinfo=UTC), datetime(2024, 6, 7, 14, 35, tzinfo=UTC)
    r = run_energy_row(warehouse, "vgg16")
    assert r["gap_limit_s"] == pytest.approx(3 * float(np.median(steps)) / 1e6, rel=1e-12)
    assert r["energy_j"] == pytest.approx(float(_hold_integral(ts, w, a, b)), rel=1e-12)
    hole = [(t, t2) for t, t2 in pairwise(ts) if (t2 - t).total_seconds() > 100]
    assert len(hole) == 1
    uncovered = (hole[0][1] - hole[0][0]).total_seconds()
    assert r["coverage_ratio"] == pytest.approx((1800 - uncovered) / 1800, rel=1e-12)


# --- item 4: a baseline needs support --------------------------------------------------------


def test_one_reading_at_the_run_end_is_no_baseline(warehouse):
    ts, w = _bmc()
    r = run_energy_row(warehouse, "efficientnet_b0")
    assert r["energy_j"] == pytest.approx(float(_hold_integral(ts, w, ts[0], ts[-1])), rel=1e-12)
    assert r["baseline_power_w"] is None and r["net_energy_j"] is None
    assert r["baseline_issue"] == "too_few_readings, too_short"
    (n,) = warehouse.execute(
        "select n_rows from marts.fct_data_quality where check_name = 'runs_without_baseline'"
    ).fetchone()
    assert n >= 1


def test_supported_baseline_is_the_median_outside_runs(warehouse):
    ts, w = _plug()
    a, b = datetime(2024, 6, 7, 12, 0, tzinfo=UTC), datetime(2024, 6, 7, 13, 0, tzinfo=UTC)
    outside = [x for t, x in zip(ts, w, strict=True) if t < a or t >= b]
    r = run_energy_row(warehouse, "mobilenet_v3_small")
    assert r["baseline_method"] == "outside_runs" and r["baseline_issue"] is None
    assert r["baseline_power_w"] == pytest.approx(float(np.median(outside)), rel=1e-12)
    energy = float(_hold_integral(ts, w, a, b))
    assert r["net_energy_j"] == pytest.approx(energy - float(np.median(outside)) * 3600, rel=1e-9)


def test_negative_net_energy_is_listed(warehouse):
    (negative,) = warehouse.execute(
        "select count(*) from marts.fct_run_energy where net_energy_j < 0"
    ).fetchone()
    (n,) = warehouse.execute(
        "select n_rows from marts.fct_data_quality where check_name = 'runs_negative_net_energy'"
    ).fetchone()
    assert n == negative


# --- item 3: one carbon provider per run, by priority, whatever the load order ---------------


def test_two_providers_are_not_spliced(warehouse, warehouse_em_first):
    neso_first = run_energy_row(warehouse, "mobilenet_v3_small")
    em_first, em_preferred = warehouse_em_first
    for r in (neso_first, em_first):
        assert r["carbon_intensity_g_per_kwh"] == pytest.approx(NESO_G, rel=1e-12)
        assert r["carbon_source"] == "NESO Carbon Intensity API (actual)"
        assert r["co2_g"] == pytest.approx(r["energy_j"] / 3.6e6 * NESO_G, rel=1e-12)
    assert em_preferred["carbon_intensity_g_per_kwh"] == pytest.approx(EM_G, rel=1e-12)
    assert em_preferred["carbon_source"].startswith("Electricity Maps export")


def test_the_other_provider_stays_for_comparison(warehouse):
    rows = warehouse.execute(
        "select c.series_provider, c.carbon_intensity_g_per_kwh"
        " from intermediate.int_run_carbon_by_source as c"
        " inner join intermediate.int_run_bounds as b on c.run_id = b.run_id"
        " where b.model_name = 'mobilenet_v3_small' order by 1"
    ).fetchall()
    assert [p for p, _ in rows] == ["electricitymaps", "neso"]
    assert rows[0][1] == pytest.approx(EM_G, rel=1e-12) and rows[1][1] == pytest.approx(NESO_G)


# --- item 5: a NaN metric is null, and dim_models builds --------------------------------------


def test_nan_accuracy_is_null_and_dim_models_builds(warehouse):
    rows = warehouse.execute(
        "select weights, top1_acc_pct, top5_acc_pct, macs from marts.dim_models"
        " where model_name = 'vgg16' and weights = 'IMAGENET1K_FEATURES'"
    ).fetchall()
    assert rows == [("IMAGENET1K_FEATURES", None, None, 15.47e9)]
