"""Several sensors of one host sampled together: ``--sensor auto`` reads every RAPL domain and every
NVML GPU in one sampler tick, so a run gets the CPU package, DRAM and each GPU side by side (each a
meter of the host; the run's total is made in dbt, README "Whole-machine energy")."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence

from flopwatt.profiling.sensors.base import Meter, Sensor

from flopwatt.core.errors import OptionError


class MultiSensor(Sensor):
    """The meters of all ``sensors``, read one after the other at one instant per tick."""

    def __init__(self, sensors: Sequence[Sensor]) -> None:
        if not sensors:
            raise OptionError("MultiSensor needs at least one sensor")
        self.sensors = list(sensors)
        self.name = "+".join(s.name for s in self.sensors)
        ids = [m.meter_id for s in self.sensors for m in s.meters()]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise OptionError(f"meters read by two sensors: {', '.join(twice)}")
        hosts = [h for s in self.sensors if (h := getattr(s, "host", None))]
        self.host = hosts[0] if hosts else socket.gethostname()
        self.skipped = [
            f"{s.name}: {why}" for s in self.sensors for why in getattr(s, "skipped", [])
        ]

    def meters(self) -> list[Meter]:
        return [m for s in self.sensors for m in s.meters()]

    def start(self) -> None:
        for s in self.sensors:
            s.start()

    def _read(self, at_ns: int) -> Iterable[tuple[str, float]]:
        for s in self.sensors:
            yield from s._read(at_ns)

    def close(self) -> None:
        for s in self.sensors:
            s.close()
