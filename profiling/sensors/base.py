"""What every power sensor provides, the clock that stamps its samples, and the sampler thread.

A sensor exposes one or more *meters* (a RAPL package, a GPU, an estimate for the host). Each meter
is read either as instantaneous **power** (W -> ``raw.power_readings``) or as a cumulative
**counter** (J -> ``raw.energy_counters``, stored as read: wraps and resets are undone by the dbt
layer, never here). :meth:`Sensor.read` returns the current values of all meters; the
:class:`Sampler` calls it every ``interval_ms`` on a background thread and keeps the samples in
memory, stamped with ``time.monotonic_ns()``.

Time: samples and run bounds are taken on the monotonic clock (immune to NTP steps during a run) and
turned into naive UTC timestamps by one :class:`Clock`, which pairs a monotonic and a wall-clock
reading once, at its creation. Every timestamp of one bench therefore shares the same mapping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from flopwatt.core.defaults import BENCH_INTERVAL_MS
from flopwatt.core.errors import OptionError
from flopwatt.core.vocab import METER_KINDS

ReadingKind = Literal["power", "counter"]


class SensorUnavailable(RuntimeError):
    """A sensor cannot be used on this machine; the message says why."""


@dataclass(frozen=True)
class Meter:
    """One meter of a sensor, as it goes to ``raw.meters``.

    ``reading`` says whether :meth:`Sensor.read` gives power (W) or a cumulative counter (J) for it;
    ``counter_range_j`` is the counter's wraparound range in J (None: it does not wrap).
    """

    meter_id: str
    meter_kind: str
    reading: ReadingKind
    description: str
    counter_range_j: float | None = None
    zone: str | None = None

    def __post_init__(self) -> None:
        if self.meter_kind not in METER_KINDS:
            raise OptionError(f"meter kind {self.meter_kind!r}: one of {', '.join(METER_KINDS)}")


@dataclass(frozen=True)
class Sample:
    """One value of one meter: W for a power meter, J (cumulative, as read) for a counter.

    ``at_ns`` is ``time.monotonic_ns()``; :meth:`Clock.to_utc` turns it into UTC.
    """

    meter_id: str
    at_ns: int
    value: float


class Sensor:
    """Base class of the power sensors (rapl, nvml, estimate).

    Subclasses fill ``name`` and implement :meth:`meters` and :meth:`_read`; a constructor that
    cannot use its hardware raises :class:`SensorUnavailable` with the reason.
    """

    name: str = "sensor"

    def meters(self) -> list[Meter]:
        raise NotImplementedError

    @property
    def kind(self) -> str:
        """``power``, ``counter``, or ``mixed`` when meters of both kinds are present."""
        kinds = {m.reading for m in self.meters()}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def start(self) -> None:
        """Called once by the sampler before the first :meth:`read` (e.g. to prime a delta)."""

    def read(self, at_ns: int | None = None) -> list[Sample]:
        """Current value of every meter, stamped ``at_ns`` (default: now, monotonic)."""
        at_ns = time.monotonic_ns() if at_ns is None else at_ns
        return [Sample(meter_id, at_ns, value) for meter_id, value in self._read(at_ns)]

    def _read(self, at_ns: int) -> Iterable[tuple[str, float]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the hardware handle (NVML shutdown)."""

    def describe(self) -> str:
        return f"{self.name}: " + ", ".join(f"{m.meter_id} ({m.meter_kind})" for m in self.meters())


@dataclass
class Clock:
    """Maps ``time.monotonic_ns()`` to naive UTC datetimes with one fixed offset."""

    wall_ns: int = field(default_factory=time.time_ns)
    mono_ns: int = field(default_factory=time.monotonic_ns)

    @staticmethod
    def now() -> int:
        return time.monotonic_ns()

    def to_utc(self, at_ns: int) -> datetime:
        epoch_ns = self.wall_ns + (at_ns - self.mono_ns)
        base = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=epoch_ns // 1000)
        return base.replace(tzinfo=None)


class Sampler:
    """Reads a sensor every ``interval_ms`` on a daemon thread; samples stay in memory.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. One read happens at start and
    one at stop, so the samples always bracket what ran in between. Ticks are scheduled on a fixed
    grid (no drift); a read that takes longer than the interval skips the missed ticks. An exception
    raised by the sensor stops the sampling and is re-raised by :meth:`stop`.
    """

    def __init__(self, sensor: Sensor, interval_ms: float = BENCH_INTERVAL_MS) -> None:
        if interval_ms <= 0:
            raise OptionError(f"sampling interval must be positive, got {interval_ms} ms")
        self.sensor = sensor
        self.interval_ns = int(interval_ms * 1e6)
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def _take(self) -> None:
        got = self.sensor.read()
        with self._lock:
            self.samples.extend(got)

    def _loop(self) -> None:
        next_ns = time.monotonic_ns() + self.interval_ns
        try:
            while not self._stop.wait(max(0.0, (next_ns - time.monotonic_ns()) / 1e9)):
                self._take()
                now = time.monotonic_ns()
                next_ns += self.interval_ns
                if next_ns <= now:  # fell behind: skip to the next grid point in the future
                    next_ns += ((now - next_ns) // self.interval_ns + 1) * self.interval_ns
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    def start(self) -> Sampler:
        self.sensor.start()
        self._take()
        self._thread = threading.Thread(target=self._loop, name="flopwatt-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            if self._error is not None:
                raise self._error
            self._take()
        return self.snapshot()

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def unwrap_counter(values: Sequence[float], range_j: float | None) -> list[float]:
    """A cumulative counter with its wraps undone (a drop means one wrap of ``range_j``).

    A drop on a counter that does not wrap (``range_j`` None) is a reset: the counter restarted
    from zero, so the energy after it continues from the last value before it.
    """
    out: list[float] = []
    offset = 0.0
    prev: float | None = None
    for v in values:
        if prev is not None and v < prev:
            offset += range_j if range_j else prev
        out.append(v + offset)
        prev = v
    return out


def energy_between(
    samples: Sequence[Sample], meter: Meter, start_ns: int, end_ns: int
) -> float | None:
    """Energy (J) of one meter on ``[start_ns, end_ns]`` from in-memory samples: a quick preview.

    Counters: unwrapped, linearly interpolated at both bounds. Power: zero-order hold (a reading
    holds until the next one). None when the samples do not cover the interval. The warehouse
    (dbt, ``fct_run_energy``) computes the official figure from the raw rows.
    """
    pts = sorted((s.at_ns, s.value) for s in samples if s.meter_id == meter.meter_id)
    if not pts or pts[0][0] > start_ns or pts[-1][0] < end_ns:
        return None
    ts = [t for t, _ in pts]
    if meter.reading == "counter":
        cum = unwrap_counter([v for _, v in pts], meter.counter_range_j)

        def at(t: int) -> float:
            for i in range(1, len(ts)):
                if ts[i] >= t:
                    t0, t1 = ts[i - 1], ts[i]
                    if t1 == t0:
                        return cum[i]
                    return cum[i - 1] + (cum[i] - cum[i - 1]) * (t - t0) / (t1 - t0)
            return cum[-1]

        return at(end_ns) - at(start_ns)
    total = 0.0
    for i, (t, w) in enumerate(pts):
        seg_end = ts[i + 1] if i + 1 < len(ts) else end_ns
        lo, hi = max(t, start_ns), min(seg_end, end_ns)
        if hi > lo:
            total += w * (hi - lo) / 1e9
    return total
