"""Power sensors for timed runs: RAPL counters, NVML GPUs, and a labelled CPU-load estimate.

``select_sensor("auto")`` samples every real sensor available (RAPL and NVML together, a
:class:`MultiSensor`), the estimate only when there is none; a :class:`Sampler` reads it on a
background thread while the bench runs. Nothing here imports torch.
"""

from flopwatt.profiling.sensors.base import (
    Clock,
    Meter,
    Sample,
    Sampler,
    Sensor,
    SensorUnavailable,
    energy_between,
    unwrap_counter,
)
from flopwatt.profiling.sensors.multi import MultiSensor
from flopwatt.profiling.sensors.select import CHOICES, Selection, make_sensor, select_sensor

__all__ = [
    "CHOICES",
    "Clock",
    "Meter",
    "MultiSensor",
    "Sample",
    "Sampler",
    "Selection",
    "Sensor",
    "SensorUnavailable",
    "energy_between",
    "make_sensor",
    "select_sensor",
    "unwrap_counter",
]
