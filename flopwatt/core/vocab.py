"""The vocabularies shared by ingest, profiling, plots and the CLI: one definition each.

Numbers and rules that SQL applies (the meter-kind preference of ``fct_model_efficiency``, the dbt
vars) live in the dbt project, not here.
"""

from __future__ import annotations

#: ``raw.meters.meter_kind``: what a meter measures
METER_KINDS: tuple[str, ...] = ("wall", "cpu_package", "dram", "gpu", "estimate")

#: Home Assistant states (lower-cased, stripped) that stand for "no reading": a gap in the meter's
#: readings, quarantined with its meter and instant so the energy model ends the held value there.
#: The same set for a history export (CSV) and the recorder database.
GAP_STATES: tuple[str, ...] = ("unavailable", "unknown", "none", "nan", "")

#: power units as a person writes them -> factor to W
POWER_UNITS: dict[str, float] = {"W": 1.0, "kW": 1000.0, "mW": 1e-3}
#: the same, keyed by the lower-cased unit (how the parsers look them up)
POWER_UNIT_FACTORS: dict[str, float] = {unit.lower(): f for unit, f in POWER_UNITS.items()}

#: ``flopwatt bench --sensor``: auto = rapl, else nvml, else the labelled estimate
SENSOR_CHOICES: tuple[str, ...] = ("auto", "rapl", "nvml", "estimate")
