"""Choosing the sensor: ``auto`` samples every real sensor that works (RAPL and NVML together),
the estimate only when there is none.

``auto`` records why each real sensor was passed over (:attr:`Selection.passed_over`). With both
RAPL and NVML it returns a :class:`MultiSensor` (package, DRAM and every GPU in one sampler). An
explicit choice that cannot be used raises :class:`SensorUnavailable` with the reason (e.g.
``energy_uj`` not readable). With ``prefer_gpu`` (the bench runs the model on a CUDA device) the
GPUs' meters come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopwatt.profiling.sensors.base import Sensor, SensorUnavailable
from flopwatt.profiling.sensors.multi import MultiSensor

from flopwatt.core.errors import OptionError
from flopwatt.core.vocab import SENSOR_CHOICES as CHOICES


@dataclass
class Selection:
    sensor: Sensor
    passed_over: list[str] = field(default_factory=list)  # "rapl: <why>" for auto


def make_sensor(
    name: str,
    *,
    tdp_w: float | None = None,
    rapl_root: Path | str | None = None,
    nvml: Any = None,
) -> Sensor:
    """One sensor by name; raises SensorUnavailable with the reason when it cannot be used."""
    if name == "rapl":
        from flopwatt.profiling.sensors.rapl import DEFAULT_ROOT, RaplSensor

        return RaplSensor(rapl_root if rapl_root is not None else DEFAULT_ROOT)
    if name == "nvml":
        from flopwatt.profiling.sensors.nvml import NvmlSensor

        return NvmlSensor(nvml)
    if name == "estimate":
        from flopwatt.profiling.sensors.estimate import EstimateSensor

        return EstimateSensor(tdp_w)
    raise OptionError(f"unknown sensor {name!r}: one of {', '.join(CHOICES)}")


def select_sensor(
    choice: str = "auto",
    *,
    tdp_w: float | None = None,
    rapl_root: Path | str | None = None,
    nvml: Any = None,
    prefer_gpu: bool = False,
) -> Selection:
    if choice not in CHOICES:
        raise OptionError(f"unknown sensor {choice!r}: one of {', '.join(CHOICES)}")
    if choice != "auto":
        return Selection(make_sensor(choice, tdp_w=tdp_w, rapl_root=rapl_root, nvml=nvml))
    passed: list[str] = []
    real: list[Sensor] = []
    for name in ("nvml", "rapl") if prefer_gpu else ("rapl", "nvml"):
        try:
            real.append(make_sensor(name, rapl_root=rapl_root, nvml=nvml))
        except SensorUnavailable as exc:
            passed.append(str(exc))
    if len(real) > 1:
        return Selection(MultiSensor(real), passed)
    if real:
        return Selection(real[0], passed)
    return Selection(make_sensor("estimate", tdp_w=tdp_w), passed)
