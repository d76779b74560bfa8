"""NVIDIA GPUs through NVML (``nvidia-ml-py``, module ``pynvml``): one meter per GPU, keyed by UUID.

Per GPU, the best reading it supports:
- ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver was loaded; Volta and newer) ->
  a cumulative counter in J. It does not wrap (64-bit); a driver reload resets it, which the dbt
  layer handles like any counter reset.
- else ``nvmlDeviceGetPowerUsage`` (mW, the board's power, averaged by the driver) -> power in W.
A GPU that gives neither is left out, with the reason in :attr:`NvmlSensor.skipped`.

The NVML calls go through the object passed as ``nvml`` (default: the ``pynvml`` module), so tests
inject a fake with the same function names: ``nvmlInit``, ``nvmlShutdown``, ``nvmlDeviceGetCount``,
``nvmlDeviceGetHandleByIndex``, ``nvmlDeviceGetUUID``, ``nvmlDeviceGetName``,
``nvmlDeviceGetTotalEnergyConsumption``, ``nvmlDeviceGetPowerUsage`` and the exception
``NVMLError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from flopwatt.profiling.sensors.base import Meter, Sensor, SensorUnavailable


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlSensor(Sensor):
    name = "nvml"

    def __init__(self, nvml: Any = None, indices: Iterable[int] | None = None) -> None:
        if nvml is None:
            try:
                import pynvml as nvml
            except ImportError as exc:
                raise SensorUnavailable(f"nvml: nvidia-ml-py is not installed ({exc})") from exc
        self.nvml = nvml
        error = getattr(nvml, "NVMLError", Exception)
        try:
            nvml.nvmlInit()
        except error as exc:
            raise SensorUnavailable(
                f"nvml: cannot initialise NVML ({exc}): no NVIDIA driver or GPU here"
            ) from exc
        self._gpus: list[tuple[Meter, Callable[[], float]]] = []
        self.skipped: list[str] = []
        try:
            count = nvml.nvmlDeviceGetCount()
            for i in range(count) if indices is None else indices:
                self._add(i, error)
        except BaseException:
            self.close()
            raise
        if not self._gpus:
            self.close()
            why = "; ".join(self.skipped) if self.skipped else "NVML reports no GPU"
            raise SensorUnavailable(f"nvml: no readable GPU ({why})")

    def _add(self, index: int, error: type[BaseException]) -> None:
        nvml = self.nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = _text(nvml.nvmlDeviceGetUUID(handle))
        gpu_name = _text(nvml.nvmlDeviceGetName(handle))
        try:
            nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except error as exc:
            energy_reason = str(exc)
        else:
            meter = Meter(
                meter_id=f"nvml:{uuid}",
                meter_kind="gpu",
                reading="counter",
                description=f"GPU {index} {gpu_name}: NVML total energy counter",
            )
            self._gpus.append(
                (meter, lambda: nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3)
            )
            return
        try:
            nvml.nvmlDeviceGetPowerUsage(handle)
        except error as exc:
            self.skipped.append(
                f"GPU {index} {gpu_name} ({uuid}): no energy counter ({energy_reason}) "
                f"and no power reading ({exc})"
            )
            return
        meter = Meter(
            meter_id=f"nvml:{uuid}",
            meter_kind="gpu",
            reading="power",
            description=(
                f"GPU {index} {gpu_name}: NVML power usage (no energy counter: {energy_reason})"
            ),
        )
        self._gpus.append((meter, lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1e3))

    def meters(self) -> list[Meter]:
        return [m for m, _ in self._gpus]

    def _read(self, at_ns: int) -> Iterable[tuple[str, float]]:
        for meter, get in self._gpus:
            yield meter.meter_id, float(get())

    def close(self) -> None:
        # shutting down twice, or after a failed init: nothing to release
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()
