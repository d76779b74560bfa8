"""A small, hand-made warehouse with the marts the report reads (the data contract of issue 6).

Numbers are chosen by hand (GFLOPs, errors and energies of the reference study, rounded) so that
tests need neither the ingest layer nor dbt. ``make_synthetic_db(path)`` writes a DuckDB file with
``marts.fct_run_energy``, ``marts.dim_models``, ``marts.fct_model_efficiency``,
``marts.rpt_reference_inference``, ``marts.fct_data_quality``, ``staging.stg_raw__quarantined_rows``
and ``staging.stg_raw__loads``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

# model, family, macs, params, top1 err %, top5 err %, energy per inference (J), time per inf (ms)
MODELS = [
    ("alexnet", "alexnet", 714_691_904, 61_100_840, 43.45, 20.91, 4.93, 27.1),
    ("densenet121", "densenet", 2_865_672_192, 7_978_856, 25.35, 7.83, 7.81, 43.5),
    ("densenet161", "densenet", 7_787_012_832, 28_681_000, 22.35, 6.20, 10.76, 49.7),
    ("densenet169", "densenet", 3_398_071_168, 14_149_480, 24.00, 7.00, 9.36, 50.5),
    ("googlenet", "googlenet", 1_504_879_712, 6_624_904, 30.22, 10.47, 6.19, 33.2),
    ("mobilenet_v2", "mobilenet", 314_130_496, 3_504_872, 28.12, 9.71, 5.76, 31.0),
    ("resnet18", "resnet", 1_819_066_368, 11_689_512, 30.24, 10.92, 5.36, 24.9),
    ("resnet34", "resnet", 3_671_263_232, 21_797_672, 26.70, 8.58, 5.76, 29.6),
    ("resnet50", "resnet", 4_111_514_624, 25_557_032, 23.85, 7.13, 6.26, 33.8),
    ("resnet101", "resnet", 7_833_971_712, 44_549_160, 22.63, 6.44, 7.42, 40.1),
    ("vgg11", "vgg", 7_616_566_272, 132_863_336, 30.98, 11.37, 5.69, 30.8),
    ("vgg13", "vgg", 11_320_759_296, 133_047_848, 30.07, 10.75, 5.90, 31.9),
    ("vgg16", "vgg", 15_483_862_016, 138_357_544, 28.41, 9.62, 6.16, 33.3),
    ("vgg19", "vgg", 19_646_964_736, 143_667_240, 27.62, 9.12, 6.37, 34.4),
    # profiled and measured, but no accuracy row (the study dropped such models silently)
    ("mnasnet0_5", "mnasnet", 110_586_848, 2_218_512, None, None, 5.40, 28.0),
]
# profiled, never run
UNRUN = [("shufflenet_v2_x0_5", "shufflenet", 42_524_256, 1_366_792, 39.45, 18.07)]

N_INFERENCES = 10_000
CARBON_G_PER_KWH = 253.0
CARBON_SOURCE = "codecarbon (OWID energy mix)"
CARBON_YEAR = 2022
T0 = datetime(2024, 3, 1, 9, 0, 0)


def _runs() -> list[tuple]:
    """Two complete wall-meter inference runs per model (+-2% around the mean energy), one
    incomplete run, and one idle run; one run in April so that --since has something to drop."""
    rows = []
    t = T0
    for i, (name, _fam, macs, _p, _t1, _t5, epi, tpi_ms) in enumerate(MODELS):
        gflops = 2 * macs / 1e9
        for k, factor in enumerate((0.98, 1.02)):
            dur = N_INFERENCES * tpi_ms / 1000
            energy = epi * factor * N_INFERENCES
            started = t if not (i == 0 and k == 1) else datetime(2024, 4, 2, 10, 0, 0)
            rows.append(
                (
                    f"{name}-{k}",
                    name,
                    "IMAGENET1K_V1",
                    "inference",
                    "plug1",
                    "wall",
                    started,
                    started + timedelta(seconds=dur),
                    dur,
                    N_INFERENCES,
                    energy,
                    energy / 3.6e6,
                    energy / dur,
                    energy / N_INFERENCES,
                    tpi_ms,
                    int(dur / 3),
                    6.0 + k,
                    0.99,
                    True,
                    False,
                    40.0,
                    energy - 40.0 * dur,
                    CARBON_G_PER_KWH,
                    energy / 3.6e6 * CARBON_G_PER_KWH,
                    CARBON_SOURCE,
                    CARBON_YEAR,
                    energy / N_INFERENCES / gflops,
                )
            )
            t = started + timedelta(seconds=dur + 5) if started < datetime(2024, 4, 1) else t
    # an incomplete run (meter went quiet) and an idle window
    rows.append(
        ("resnet18-x", "resnet18", "IMAGENET1K_V1", "inference", "plug1", "wall", t,
         t + timedelta(seconds=300), 300.0, N_INFERENCES, 9000.0, 9000 / 3.6e6, 30.0, 0.9, 30.0,
         20, 180.0, 0.4, False, False, 40.0, -3000.0, CARBON_G_PER_KWH,
         9000 / 3.6e6 * CARBON_G_PER_KWH, CARBON_SOURCE, CARBON_YEAR, 0.25)
    )  # fmt: skip
    t += timedelta(seconds=400)
    rows.append(
        ("idle-0", "idle", None, "idle", "plug1", "wall", t, t + timedelta(seconds=600), 600.0,
         None, 24000.0, 24000 / 3.6e6, 40.0, None, None, 200, 4.0, 1.0, True, False, 40.0, 0.0,
         CARBON_G_PER_KWH, 24000 / 3.6e6 * CARBON_G_PER_KWH, CARBON_SOURCE, CARBON_YEAR, None)
    )  # fmt: skip
    return rows


RUN_COLUMNS = """
    run_id varchar, model_name varchar, weights varchar, phase varchar, meter_id varchar,
    meter_kind varchar, started_at timestamp, ended_at timestamp, duration_s double,
    n_inferences bigint, energy_j double, energy_kwh double, mean_power_w double,
    energy_per_inference_j double, time_per_inference_ms double, readings_count bigint,
    max_gap_s double, coverage_ratio double, is_complete boolean, has_overlap boolean,
    baseline_power_w double, net_energy_j double, carbon_intensity_g_per_kwh double, co2_g double,
    carbon_source varchar, carbon_data_year integer, energy_per_gflop_j double
"""


def make_synthetic_db(path: Path | str, *, drop: tuple[str, ...] = ()) -> Path:
    """Write the synthetic warehouse to ``path``; ``drop`` names tables or ``table.column`` to
    leave out (to test how the report copes)."""
    path = Path(path)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema staging;")
        con.execute(f"create table marts.fct_run_energy ({RUN_COLUMNS})")
        con.executemany(
            f"insert into marts.fct_run_energy values ({', '.join(['?'] * 27)})", _runs()
        )
        con.execute(
            """create table marts.dim_models (
                model_name varchar, weights varchar, family varchar, macs double,
                macs_thop double, gflops double, params bigint, top1_acc_pct double,
                top5_acc_pct double, top1_err_pct double, top5_err_pct double,
                macs_source varchar, accuracy_source varchar, flops_per_epoch double,
                pf_days_per_epoch double)"""
        )
        for name, fam, macs, params, t1, t5, *_ in [*MODELS, *[(*u, None, None) for u in UNRUN]]:
            gflops = 2 * macs / 1e9
            fpe = 3 * 2 * macs * 1_281_167
            con.execute(
                "insert into marts.dim_models values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, "IMAGENET1K_V1", fam, macs, macs, gflops, params,
                 None if t1 is None else 100 - t1, None if t5 is None else 100 - t5, t1, t5,
                 "thop (file)", None if t1 is None else "file accuracy.csv", fpe,
                 fpe / (1e15 * 86_400)],
            )  # fmt: skip
        con.execute(
            """create table marts.fct_model_efficiency as
            with r as (
                select * from marts.fct_run_energy
                where phase = 'inference' and is_complete and meter_kind = 'wall'
            )
            select
                m.model_name, m.weights, m.family, m.gflops, m.params, m.top1_acc_pct,
                m.top5_acc_pct, m.top1_err_pct, m.top5_err_pct,
                any_value(c.n_runs) as n_runs,
                count(*) as n_complete_runs,
                'wall' as meter_kind,
                avg(r.energy_per_inference_j) as energy_per_inference_j_mean,
                stddev_samp(r.energy_per_inference_j) as energy_per_inference_j_std,
                avg(r.energy_kwh) as energy_kwh_mean,
                avg(r.mean_power_w) as mean_power_w,
                avg(r.time_per_inference_ms) as time_per_inference_ms_mean,
                sum(r.co2_g) / sum(r.n_inferences) * 1000 as co2_g_per_1000_inferences,
                avg(r.energy_per_inference_j) / m.gflops as energy_per_gflop_j_mean,
                any_value(r.carbon_intensity_g_per_kwh) as carbon_intensity_g_per_kwh,
                any_value(r.carbon_source) as carbon_source,
                'wall meter' as profile_choice
            from marts.dim_models m
            join r using (model_name)
            join (select model_name, count(*) as n_runs from marts.fct_run_energy group by 1) c
                using (model_name)
            group by m.model_name, m.weights, m.family, m.gflops, m.params, m.top1_acc_pct,
                m.top5_acc_pct, m.top1_err_pct, m.top5_err_pct
            order by m.model_name"""
        )
        con.execute(
            """create table marts.rpt_reference_inference as
            select model_name as model, round(gflops, 4) as "GFLOPS",
                energy_kwh_mean as "empirical (kWh)",
                energy_kwh_mean * carbon_intensity_g_per_kwh / 1000 as "kg CO2e",
                top1_acc_pct as top1score, top5_acc_pct as top5score
            from marts.fct_model_efficiency order by model"""
        )
        con.execute(
            """create table marts.fct_data_quality as
            select * from (values
                ('models_missing_accuracy', 2, 'mnasnet0_5, shufflenet_v2_x0_5'),
                ('models_missing_flops', 0, ''),
                ('models_without_runs', 1, 'shufflenet_v2_x0_5'),
                ('incomplete_runs', 1, 'resnet18-x'),
                ('quarantined_rows', 2, '')
            ) t(check_name, n, detail)"""
        )
        con.execute(
            """create table staging.stg_raw__loads as select * from (values
                (1, 'power', 'ha-events', 'power.csv', 'abc', 1000, 998, 2,
                 timestamp '2024-03-02 08:00:00'),
                (2, 'runs', 'runs-csv', 'pm.csv', 'def', 33, 33, 0, timestamp '2024-03-02 08:00:05')
            ) t(load_id, load_kind, load_format, source_path, source_sha256, rows_read,
                rows_loaded, rows_quarantined, loaded_at)"""
        )  # fmt: skip
        con.execute(
            """create table staging.stg_raw__quarantined_rows as select * from (values
                (1, 17, '2024-03-01 09:00:03,unavailable', 'power is not a number'),
                (1, 18, '2024-03-01 09:00:06,unknown', 'power is not a number')
            ) t(load_id, line_number, raw_text, reason)"""
        )
        for item in drop:
            if "." in item and item.count(".") == 2:
                schema, table, column = item.split(".")
                con.execute(f'alter table {schema}.{table} drop column "{column}"')
            else:
                con.execute(f"drop table {item}")
    finally:
        con.close()
    return path
