"""Whole-machine energy end to end (issue 14): one nvidia-smi log of two interleaved GPUs and a
runs file naming no meter, as the seed author had them -> CLI ingest -> dbt build -> each GPU's
energy and the run's total.

The expected energies are computed here independently of flopwatt: the log is read line by line,
rows are given to GPU 0 / GPU 1 by their position in each poll (rows of one poll are written
milliseconds apart, polls about a second apart), local time (BST) is turned into UTC with zoneinfo,
and each GPU's held (zero-order hold) power is integrated over each run with numpy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from helpers import warehouse_env

from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

LOG = FIXTURES / "nvidia_smi_seed_two_gpus.csv"
RUNS = FIXTURES / "runs_seed_no_meter.csv"
LONDON = ZoneInfo("Europe/London")


def _utc_us(text: str, fmt: str) -> int:
    local = datetime.strptime(text.strip(), fmt).replace(tzinfo=LONDON)
    delta = local.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _gpu_signals() -> list[tuple[np.ndarray, np.ndarray]]:
    rows = []
    for line in LOG.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("timestamp"):
            continue  # the header, repeated where two logs were appended
        ts, power = line.split(",")
        rows.append((_utc_us(ts, "%Y/%m/%d %H:%M:%S.%f"), float(power.split()[0])))
    gpus: list[list[tuple[int, float]]] = [[], []]
    position = 0
    for i, (ts, p) in enumerate(rows):
        position = position + 1 if i and ts - rows[i - 1][0] < 100_000 else 0
        gpus[position].append((ts, p))
    return [(np.array([t for t, _ in g]), np.array([p for _, p in g])) for g in gpus]


def _held_integral(ts: np.ndarray, p: np.ndarray, start: int, end: int) -> float:
    lo = np.maximum(ts[:-1], start)
    hi = np.minimum(ts[1:], end)
    keep = hi > lo
    return float(np.sum(p[:-1][keep] * (hi[keep] - lo[keep])) / 1e6)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from flopwatt.cli import main
    from flopwatt.core.db import connect
    from flopwatt.dbt_runner import run_dbt_build

    db = tmp_path_factory.mktemp("whole_machine") / "warehouse.duckdb"
    with warehouse_env(db):
        for args in (
            ["ingest", "power", "--format", "nvidia-smi", "--tz", "Europe/London", str(LOG)],
            ["ingest", "runs", "--tz", "Europe/London", "--inferences", "1000", str(RUNS)],
        ):
            main(args)
        run_dbt_build([], quiet=True)
        con = connect(read_only=True)
        runs = con.sql("select * from marts.fct_run_energy order by started_at").pl()
        per_meter = con.sql(
            "select * from marts.fct_run_meter_energy order by run_id, meter_id"
        ).pl()
        quality = con.sql("select * from marts.fct_data_quality").pl()
        con.close()
    return runs, per_meter, quality


def _expected() -> dict[str, list[float]]:
    gpus = _gpu_signals()
    out = {}
    for line in RUNS.read_text(encoding="utf-8").splitlines()[1:]:
        model, start, end = line.split(",")
        s = _utc_us(start, "%Y-%m-%d %H:%M:%S.%f")
        e = _utc_us(end, "%Y-%m-%d %H:%M:%S.%f")
        out[model] = [_held_integral(ts, p, s, e) for ts, p in gpus]
    return out


def test_each_gpu_and_the_total_match_an_independent_integral(warehouse):
    runs, per_meter, _ = warehouse
    expected = _expected()
    assert runs["model_name"].to_list() == list(expected)
    for run in runs.iter_rows(named=True):
        gpu0, gpu1 = expected[run["model_name"]]
        meters = per_meter.filter(per_meter["run_id"] == run["run_id"]).sort("meter_id")
        assert meters.height == 2  # both GPUs of the log's one host, no meter named
        got = meters["energy_j"].to_list()
        assert got[0] == pytest.approx(gpu0, rel=1e-9)
        assert got[1] == pytest.approx(gpu1, rel=1e-9)
        assert meters["counted_in_total"].all()
        assert run["energy_j"] == pytest.approx(gpu0 + gpu1, rel=1e-9)
        assert run["gpu_energy_j"] == pytest.approx(gpu0 + gpu1, rel=1e-9)
        assert run["energy_scope"] == "gpu_only"
        assert run["unmetered_components"] == "cpu_package, dram"
        assert run["meter_source"] == "only_overlapping"
        assert run["host_id"] == "nvidia-smi"
        assert run["meter_id"] is None and run["meter_kind"] == "gpu"
        assert run["is_complete"]


def test_no_run_is_left_unresolved(warehouse):
    _, _, quality = warehouse
    unresolved = quality.filter(quality["check_name"] == "runs_unresolved_meter").row(0, named=True)
    without = quality.filter(quality["check_name"] == "runs_without_energy").row(0, named=True)
    assert (unresolved["n_rows"], without["n_rows"], unresolved["n_total"]) == (0, 0, 3)


def test_energy_by_component_figure_stacks_each_component_and_the_rest(tmp_path):
    """Per model: GPU, CPU package and DRAM per inference, and the wall's excess over them."""
    import polars as pl
    from flopwatt.plots.data import MartData
    from flopwatt.plots.figures import (
        FigureInputs,
        component_frame,
        energy_by_component,
        save_figure,
    )

    eff = pl.DataFrame({
        "model_name": ["resnet18", "vgg11", "alexnet"],
        "gpu_energy_per_inference_j_mean": [2.0, 6.0, None],
        "cpu_energy_per_inference_j_mean": [0.5, 1.0, None],
        "dram_energy_per_inference_j_mean": [0.25, None, None],
        "wall_energy_per_inference_j_mean": [3.5, None, 9.0],  # alexnet: a wall meter alone
    })  # fmt: skip
    data = MartData(efficiency=eff, models=pl.DataFrame({"model_name": [], "gflops": []}))
    got = {(r["model_name"], r["component"]): r["j_per_inference"]
           for r in component_frame(data).iter_rows(named=True)}  # fmt: skip
    # resnet18: 3.5 - (2 + 0.5 + 0.25) = 0.75 J of the rest of the system; vgg11 has no wall
    assert got == {
        ("resnet18", "GPU"): 2.0, ("resnet18", "CPU package"): 0.5, ("resnet18", "DRAM"): 0.25,
        ("resnet18", "rest of system (wall − components)"): 0.75,
        ("vgg11", "GPU"): 6.0, ("vgg11", "CPU package"): 1.0,
    }  # fmt: skip
    ins = FigureInputs(data, [], family="vgg", exclude_family="vgg", base="meter: gpu")
    figs = energy_by_component(ins)
    assert [f.name for f in figs] == ["energy_by_component"] and not ins.notes
    png, _ = save_figure(figs[0], tmp_path)
    assert png.stat().st_size > 10_000
    # single-meter data (no component columns): the figure is left out with a note
    wall_only = MartData(efficiency=eff.select("model_name", "wall_energy_per_inference_j_mean"),
                         models=data.models)  # fmt: skip
    ins = FigureInputs(wall_only, [], family="vgg", exclude_family="vgg")
    assert energy_by_component(ins) == []
    assert [n.split(" left out")[0] for n in ins.notes] == ["figure energy_by_component"]


def test_ingest_hosts_and_devices(make_file, db_file, tmp_path):
    """--host on power and counter loads; defaults: one nvidia-smi log (or RAPL dump) is one host
    named by --meter or the format, any other meter its own host (null); runs' host and devices
    from their columns, else --host / --devices."""
    from flopwatt.cli import main
    from flopwatt.core.db import connect

    plug = make_file("plug.csv", "timestamp,watts\n2024-01-01T00:00:00Z,100\n")
    ha = make_file("ha.csv", "timestamp,watts,meter_id\n2024-01-01T00:00:00Z,5,sensor.fridge\n")
    rapl = make_file(
        "rapl.csv",
        "timestamp,energy_uj,domain\n2024-01-01T00:00:00Z,100,package-0\n"
        "2024-01-01T00:00:00Z,50,dram\n",
    )
    runs = make_file(
        "runs.csv",
        "model,start_time,end_time,host,devices\n"
        'resnet18,2024-01-01 00:00:01,2024-01-01 00:00:05,lab,"GPU-1, GPU-2"\n'
        "resnet34,2024-01-01 00:00:06,2024-01-01 00:00:09,,\n",
    )
    main(["ingest", "power", str(plug), "--meter", "plug", "--host", "box"])
    main(["ingest", "power", str(ha)])
    main(["ingest", "power", "--format", "nvidia-smi", "--tz", "UTC",
          str(FIXTURES / "nvidia_smi_interleaved_position.csv")])  # fmt: skip
    main(["ingest", "counters", "--format", "rapl-dump", str(rapl)])
    main(["ingest", "runs", str(runs), "--tz", "UTC", "--host", "box", "--devices", "0"])
    con = connect(read_only=True)
    try:
        meters = dict(con.execute("select meter_id, host_id from raw.meters").fetchall())
        got_runs = con.execute(
            "select model_name, host, devices from raw.runs order by model_name"
        ).fetchall()
    finally:
        con.close()
    assert meters == {
        "plug": "box",
        "sensor.fridge": None,  # its own host
        "nvidia-smi:gpu0": "nvidia-smi", "nvidia-smi:gpu1": "nvidia-smi",  # one log, one host
        "rapl:package-0": "rapl-dump", "rapl:dram": "rapl-dump",
    }  # fmt: skip
    assert got_runs == [("resnet18", "lab", "GPU-1, GPU-2"), ("resnet34", "box", "0")]
