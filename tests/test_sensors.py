"""Power sensors without the hardware: a fake powercap tree, a fake NVML, a fake CPU load.

Every expected number is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from flopwatt.profiling import sensors
from flopwatt.profiling.sensors import rapl as rapl_mod
from flopwatt.profiling.sensors.estimate import EstimateSensor, match_tdp, normalise
from flopwatt.profiling.sensors.nvml import NvmlSensor
from flopwatt.profiling.sensors.rapl import RaplSensor

S = 1_000_000_000  # ns per second


# --------------------------------------------------------------------------- RAPL (fake powercap)


def zone(root: Path, dirname: str, name: str, energy_uj: int, range_uj: int | None) -> Path:
    d = root / dirname
    d.mkdir()
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    if range_uj is not None:
        (d / "max_energy_range_uj").write_text(f"{range_uj}\n")
    return d


@pytest.fixture
def powercap(tmp_path) -> Path:
    """A one-socket Intel-like tree: package-0 with core/uncore/dram subzones, and psys."""
    root = tmp_path / "powercap"
    root.mkdir()
    (root / "intel-rapl").mkdir()  # the control type directory: no name, no energy
    (root / "intel-rapl" / "enabled").write_text("1\n")
    zone(root, "intel-rapl:0", "package-0", 999_000_000, 1_000_000_000)  # 999 J of a 1000 J range
    zone(root, "intel-rapl:0:0", "core", 500_000_000, 1_000_000_000)
    zone(root, "intel-rapl:0:1", "uncore", 20_000_000, 1_000_000_000)
    zone(root, "intel-rapl:0:2", "dram", 10_000_000, 65_712_999_613)
    zone(root, "intel-rapl:1", "psys", 7_000_000_000, 262_143_328_850)  # contains the package
    zone(root, "intel-rapl-mmio:0", "package-0", 5_000_000, 1_000_000_000)  # duplicate interface
    return root


def set_uj(root: Path, dirname: str, energy_uj: int) -> None:
    (root / dirname / "energy_uj").write_text(f"{energy_uj}\n")


def test_rapl_keeps_package_and_dram_only(powercap):
    sensor = RaplSensor(powercap, host="box")
    meters = {m.meter_id: m for m in sensor.meters()}
    assert set(meters) == {"rapl:box:package-0", "rapl:box:dram-0"}
    assert meters["rapl:box:package-0"].meter_kind == "cpu_package"
    assert meters["rapl:box:dram-0"].meter_kind == "dram"
    assert meters["rapl:box:package-0"].reading == "counter"
    assert meters["rapl:box:package-0"].counter_range_j == 1000.0  # 1_000_000_000 uJ
    assert meters["rapl:box:dram-0"].counter_range_j == pytest.approx(65_712.999613)
    assert sensor.kind == "counter"


def test_rapl_energy_is_counter_difference_with_wrap_undone(powercap):
    sensor = RaplSensor(powercap, host="box")
    pkg = next(m for m in sensor.meters() if m.meter_kind == "cpu_package")
    dram = next(m for m in sensor.meters() if m.meter_kind == "dram")
    samples = sensor.read(at_ns=0)  # package 999.0 J, dram 10.0 J
    set_uj(powercap, "intel-rapl:0", 999_800_000)  # +0.8 J
    set_uj(powercap, "intel-rapl:0:0", 900_000_000)  # core +400 J: must not count anywhere
    set_uj(powercap, "intel-rapl:0:2", 10_300_000)
    samples += sensor.read(at_ns=1 * S)
    set_uj(powercap, "intel-rapl:0", 2_500_000)  # wrapped: 999.8 -> 1000 -> 0 -> 2.5 J
    set_uj(powercap, "intel-rapl:0:2", 10_600_000)
    samples += sensor.read(at_ns=2 * S)

    # values are stored as read, in J
    assert [s.value for s in samples if s.meter_id == pkg.meter_id] == [999.0, 999.8, 2.5]
    # package: (1000 - 999.0) + 2.5 = 3.5 J over [0 s, 2 s]
    assert sensors.energy_between(samples, pkg, 0, 2 * S) == pytest.approx(3.5)
    # [0.5 s, 1.5 s]: half of the first step (0.8 / 2 = 0.4) + half of the wrapped step
    # ((1000 - 999.8 + 2.5) / 2 = 1.35) = 1.75 J
    assert sensors.energy_between(samples, pkg, S // 2, 3 * S // 2) == pytest.approx(1.75)
    # dram: 10.6 - 10.0 = 0.6 J, a separate meter
    assert sensors.energy_between(samples, dram, 0, 2 * S) == pytest.approx(0.6)
    # summing all cpu_package meters gives the package alone, not package + core (+400 J)
    pkgs = [m for m in sensor.meters() if m.meter_kind == "cpu_package"]
    assert sum(sensors.energy_between(samples, m, 0, 2 * S) for m in pkgs) == pytest.approx(3.5)


def test_rapl_two_sockets_and_amd_without_dram(tmp_path):
    root = tmp_path / "pc"
    root.mkdir()
    zone(root, "intel-rapl:0", "package-0", 1, 65_532_610_987)  # AMD: package + core only
    zone(root, "intel-rapl:0:0", "core", 1, 65_532_610_987)
    zone(root, "intel-rapl:1", "package-1", 1, 65_532_610_987)
    zone(root, "intel-rapl:1:0", "dram", 1, 65_532_610_987)
    ids = [m.meter_id for m in RaplSensor(root, host="h").meters()]
    assert ids == ["rapl:h:package-0", "rapl:h:package-1", "rapl:h:dram-1"]


def test_rapl_unreadable_energy_is_unavailable_with_reason(powercap, monkeypatch):
    real = rapl_mod._read_text

    def deny(path: Path) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(rapl_mod, "_read_text", deny)
    with pytest.raises(sensors.SensorUnavailable, match=r"energy_uj is not readable.*root"):
        RaplSensor(powercap)


def test_rapl_missing_tree_is_unavailable(tmp_path):
    with pytest.raises(sensors.SensorUnavailable, match="does not exist"):
        RaplSensor(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(sensors.SensorUnavailable, match="no intel-rapl"):
        RaplSensor(tmp_path / "empty")


# --------------------------------------------------------------------------- NVML (fake pynvml)


class FakeNvml:
    """The pynvml functions NvmlSensor calls, over a list of fake devices."""

    class NVMLError(Exception):
        pass

    def __init__(self, devices: list[dict], fail_init: bool = False) -> None:
        self.devices = devices
        self.fail_init = fail_init
        self.shutdowns = 0

    def nvmlInit(self):
        if self.fail_init:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, i):
        return self.devices[i]

    def nvmlDeviceGetUUID(self, h):
        return h["uuid"]

    def nvmlDeviceGetName(self, h):
        return h["name"]

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        if "energy_mj" not in h:
            raise self.NVMLError("Not Supported")
        return h["energy_mj"]

    def nvmlDeviceGetPowerUsage(self, h):
        if "power_mw" not in h:
            raise self.NVMLError("Not Supported")
        return h["power_mw"]


def test_nvml_energy_counter_and_power_only_devices():
    volta = {"uuid": "GPU-aaaa", "name": "Fake V100", "energy_mj": 123_456, "power_mw": 1}
    old = {"uuid": b"GPU-bbbb", "name": b"Fake K80", "power_mw": 70_500}  # bytes, older pynvml
    dead = {"uuid": "GPU-cccc", "name": "Fake broken"}
    nvml = FakeNvml([volta, old, dead])
    sensor = NvmlSensor(nvml)
    meters = {m.meter_id: m for m in sensor.meters()}
    assert set(meters) == {"nvml:GPU-aaaa", "nvml:GPU-bbbb"}
    assert meters["nvml:GPU-aaaa"].reading == "counter"
    assert meters["nvml:GPU-aaaa"].counter_range_j is None  # 64-bit mJ: never wraps
    assert meters["nvml:GPU-bbbb"].reading == "power"
    assert {m.meter_kind for m in meters.values()} == {"gpu"}
    assert sensor.kind == "mixed"
    assert len(sensor.skipped) == 1 and "GPU-cccc" in sensor.skipped[0]

    got = {s.meter_id: s.value for s in sensor.read(at_ns=5)}
    assert got == {"nvml:GPU-aaaa": 123.456, "nvml:GPU-bbbb": 70.5}  # mJ -> J, mW -> W
    samples = sensor.read(at_ns=0)
    volta["energy_mj"] = 133_456  # +10 J
    samples += sensor.read(at_ns=2 * S)
    assert samples[0].value == 123.456 and samples[2].value == 133.456
    assert sensors.energy_between(samples, meters["nvml:GPU-aaaa"], 0, 2 * S) == pytest.approx(10.0)
    # power-only GPU, 70.5 W held for 2 s = 141 J
    assert sensors.energy_between(samples, meters["nvml:GPU-bbbb"], 0, 2 * S) == pytest.approx(
        141.0
    )
    sensor.close()
    assert nvml.shutdowns == 1


def test_nvml_unavailable_reasons():
    with pytest.raises(sensors.SensorUnavailable, match="Driver Not Loaded"):
        NvmlSensor(FakeNvml([], fail_init=True))
    nvml = FakeNvml([])
    with pytest.raises(sensors.SensorUnavailable, match="no readable GPU"):
        NvmlSensor(nvml)
    assert nvml.shutdowns == 1


# --------------------------------------------------------------------------- estimate

TABLE = [
    ("AMD EPYC 7763", 280.0),
    ("AMD EPYC 7742", 225.0),
    ("Intel Core i7-8700", 65.0),
    ("Intel Core i7-8700K", 95.0),
    ("Intel Xeon Platinum 8375C", 300.0),
    ("Apple M1", 10.0),
]


@pytest.mark.parametrize(
    ("cpu", "name", "tdp"),
    [
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280.0),
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "Intel Core i7-8700K", 95.0),
        ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "Intel Core i7-8700", 65.0),
        ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "Intel Xeon Platinum 8375C", 300.0),
        ("Apple M1", "Apple M1", 10.0),
    ],
)
def test_tdp_match(cpu, name, tdp):
    m = match_tdp(cpu, TABLE)
    assert m is not None and (m.name, m.tdp_w) == (name, tdp)


def test_tdp_no_match_for_a_bare_family_name():
    # "AMD EPYC" (what this kind of VM reports) names no model number: never matched to a family
    assert match_tdp("AMD EPYC", TABLE) is None
    assert match_tdp("Some Other CPU 9000", TABLE) is None
    assert normalise("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz") == "intel core i7-8700k"


def test_tdp_ambiguous_equal_matches_with_different_tdp():
    table = [("Xeon 1234", 50.0), ("Xeon 1234 v2", 80.0), ("Xeon v2", 90.0)]
    # "xeon 1234 v2" is an exact match
    assert match_tdp("Xeon 1234 v2", table).tdp_w == 80.0
    # "xeon 1234 v2 special" contains all three names; the longest, "xeon 1234 v2" (80), wins
    assert match_tdp("Xeon 1234 v2 special", table).tdp_w == 80.0
    tie = [("Foo 12", 10.0), ("Bar 12", 20.0)]
    assert match_tdp("Foo Bar 12", tie) is None  # equally long, different TDP


class FakeLoad:
    """cpu_percent(interval=None) returning queued values."""

    def __init__(self, values):
        self.values = list(values)
        self.calls = 0

    def __call__(self, interval=None):
        assert interval is None
        self.calls += 1
        return self.values.pop(0)


def test_estimate_power_is_utilisation_times_tdp():
    load = FakeLoad([99.0, 50.0, 25.0, 10.0])  # the first (priming) value is discarded
    s = EstimateSensor(cpu_name="AMD EPYC 7763 64-Core Processor", table=TABLE,
                       cpu_percent=load, host="box")  # fmt: skip
    assert s.tdp_w == 280.0 and not s.is_fallback
    m = s.meters()[0]
    assert (m.meter_id, m.meter_kind, m.reading) == ("estimate:box", "estimate", "power")
    assert m.description.startswith("ESTIMATE")
    assert s.read(at_ns=0) == []  # primes
    a = s.read(at_ns=1 * S)  # 50 % of 280 W = 140 W, averaged over [0, 1 s]: stamped at 0
    assert a == [sensors.Sample("estimate:box", 0, 140.0)]
    assert s.read(at_ns=1 * S + 1000) == []  # a 1 us window is too short: no reading, no call
    b = s.read(at_ns=2 * S)  # 25 % -> 70 W over [1 s, 2 s]
    c = s.read(at_ns=3 * S)  # 10 % -> 28 W over [2 s, 3 s]
    assert [x.value for x in b + c] == [70.0, 28.0]
    assert [x.at_ns for x in b + c] == [1 * S, 2 * S]
    assert load.calls == 4
    # [0, 2 s]: 140 W x 1 s + 70 W x 1 s = 210 J
    assert sensors.energy_between(a + b + c, m, 0, 2 * S) == pytest.approx(210.0)
    # [0.5 s, 2 s]: 140 W x 0.5 s + 70 W x 1 s = 140 J
    assert sensors.energy_between(a + b + c, m, S // 2, 2 * S) == pytest.approx(140.0)
    # past the last reading (stamped 2 s) nothing is known: not covered, not zero
    assert sensors.energy_between(a + b + c, m, S // 2, 5 * S // 2) is None


def test_estimate_tdp_override_and_fallback():
    s = EstimateSensor(50.0, cpu_name="AMD EPYC 7763", table=TABLE, cpu_percent=FakeLoad([]))
    assert s.tdp_w == 50.0 and "--tdp" in s.tdp_source
    fb = EstimateSensor(cpu_name="AMD EPYC", table=TABLE, cpu_percent=FakeLoad([]), n_cpus=2)
    assert fb.tdp_w == 8.0  # 4 W x 2 logical CPUs
    assert fb.is_fallback and "fallback" in fb.meters()[0].description
    with pytest.raises(ValueError, match="positive"):
        EstimateSensor(0.0, cpu_percent=FakeLoad([]))


def test_estimate_uses_codecarbon_table():
    s = EstimateSensor(cpu_name="AMD EPYC 7763 64-Core Processor", cpu_percent=FakeLoad([]))
    assert s.tdp_w == 280.0  # codecarbon's cpu_power.csv: "AMD EPYC 7763,280.0"


def test_estimate_with_monkeypatched_psutil(monkeypatch):
    import psutil

    load = FakeLoad([0.0, 75.0])
    monkeypatch.setattr(psutil, "cpu_percent", load)
    s = EstimateSensor(100.0)
    s.read(at_ns=0)
    assert [x.value for x in s.read(at_ns=S)] == [75.0]  # 75 % x 100 W


# --------------------------------------------------------------------------- base: clock, sampler


def test_clock_maps_monotonic_to_utc():
    # 2024-01-01 00:00:00 UTC = 1_704_067_200; + 90 days (31 + 29 + 30) = 1_711_843_200 is
    # 2024-03-31 00:00:00; + 3599 s = 1_711_846_799 is 00:59:59 UTC
    c = sensors.Clock(wall_ns=1_711_846_799 * S, mono_ns=5 * S)  # 2024-03-31 00:59:59 UTC
    assert c.to_utc(5 * S) == datetime(2024, 3, 31, 0, 59, 59)
    assert c.to_utc(6 * S + 500_000_000) == datetime(2024, 3, 31, 1, 0, 0, 500_000)


def test_unwrap_counter_wrap_and_reset():
    assert sensors.unwrap_counter([990.0, 999.0, 4.0, 10.0], 1000.0) == [
        990.0,
        999.0,
        1004.0,
        1010.0,
    ]
    assert sensors.unwrap_counter([5.0, 7.0, 1.0, 3.0], None) == [5.0, 7.0, 8.0, 10.0]  # reset


class CountingSensor(sensors.Sensor):
    name = "counting"

    def __init__(self, fail_after: int | None = None):
        self.n = 0
        self.fail_after = fail_after
        self.meter = sensors.Meter("fake", "wall", "power", "test")

    def meters(self):
        return [self.meter]

    def _read(self, at_ns):
        self.n += 1
        if self.fail_after is not None and self.n > self.fail_after:
            raise OSError("sensor fell off")
        yield "fake", float(self.n)


def test_sampler_reads_on_a_thread_and_brackets_the_work():
    sensor = CountingSensor()
    sampler = sensors.Sampler(sensor, interval_ms=10)
    before = time.monotonic_ns()
    with sampler:
        assert any(t.name == "flopwatt-sampler" for t in threading.enumerate())
        time.sleep(0.2)
    after = time.monotonic_ns()
    got = sampler.samples
    # one read at start, about 20 on the 10 ms grid, one at stop
    assert 8 <= len(got) <= 25
    assert got[0].at_ns >= before and got[-1].at_ns <= after
    assert all(a.at_ns < b.at_ns for a, b in itertools.pairwise(got))
    assert [s.value for s in got] == [float(i) for i in range(1, len(got) + 1)]


def test_sampler_surfaces_sensor_errors():
    sampler = sensors.Sampler(CountingSensor(fail_after=2), interval_ms=5).start()
    time.sleep(0.1)
    with pytest.raises(OSError, match="fell off"):
        sampler.stop()
    with pytest.raises(ValueError):
        sensors.Sampler(CountingSensor(), interval_ms=0)


# --------------------------------------------------------------------------- selection


def test_auto_falls_back_to_estimate_with_reasons(tmp_path):
    sel = sensors.select_sensor("auto", tdp_w=42.0, rapl_root=tmp_path / "none",
                        nvml=FakeNvml([], fail_init=True))  # fmt: skip
    assert sel.sensor.name == "estimate" and sel.sensor.tdp_w == 42.0
    assert len(sel.passed_over) == 2
    assert sel.passed_over[0].startswith("rapl:") and sel.passed_over[1].startswith("nvml:")


def test_auto_samples_rapl_and_nvml_together(powercap, tmp_path):
    gpus = FakeNvml([{"uuid": "GPU-1", "name": "g", "energy_mj": 1_000},
                     {"uuid": "GPU-2", "name": "g", "energy_mj": 2_000}])  # fmt: skip
    both = sensors.select_sensor("auto", rapl_root=powercap, nvml=gpus).sensor
    assert both.name == "rapl+nvml" and both.kind == "counter"
    # every RAPL domain that is not inside another (package, dram) and every GPU, one meter each
    assert [(m.meter_kind, m.meter_id.split(":")[-1]) for m in both.meters()] == [
        ("cpu_package", "package-0"), ("dram", "dram-0"), ("gpu", "GPU-1"), ("gpu", "GPU-2"),
    ]  # fmt: skip
    # one read gives every meter at one instant: package 999 J, dram 10 J, GPUs 1 J and 2 J
    assert [(s.at_ns, s.value) for s in both.read(at_ns=5)] == [
        (5, 999.0), (5, 10.0), (5, 1.0), (5, 2.0),
    ]  # fmt: skip
    both.close()
    assert gpus.shutdowns == 1
    # one real sensor: that sensor alone; a model on the GPU: the GPUs' meters first
    assert (
        sensors.select_sensor("auto", rapl_root=tmp_path / "none", nvml=gpus).sensor.name == "nvml"
    )
    gpu_first = sensors.select_sensor("auto", rapl_root=powercap, nvml=gpus, prefer_gpu=True).sensor
    assert gpu_first.name == "nvml+rapl" and gpu_first.meters()[0].meter_kind == "gpu"


def test_explicit_unavailable_choice_says_why(tmp_path):
    with pytest.raises(sensors.SensorUnavailable, match=r"rapl: .* does not exist"):
        sensors.select_sensor("rapl", rapl_root=tmp_path / "none")
    with pytest.raises(sensors.SensorUnavailable, match="nvml: cannot initialise"):
        sensors.select_sensor("nvml", nvml=FakeNvml([], fail_init=True))
    with pytest.raises(ValueError, match="unknown sensor"):
        sensors.select_sensor("smartplug")
