"""diswot.latency: what is timed, how the timings are combined and cached (no assertion on any real duration)."""

import random

import pytest
import torch
from torch import nn

import diswot.latency.measured as measured_module
import diswot.latency.measurement as measurement
import diswot.latency.table as table_module
from diswot.errors import DiswotError
from diswot.latency import LatencySetting, LatencyTable, MeasuredLatency, measure_latency
from search_spaces import get_space


class FakeClock:
    """A clock that a module advances by a preset duration per call: the timings are known exactly."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self):
        return self.now

    def module(self):
        clock = self

        class Advancing(nn.Module):
            def forward(self, x):
                clock.now += clock.durations[clock.calls]
                clock.calls += 1
                return x

        return Advancing()


def test_the_median_of_the_timed_runs_after_the_warm_up(monkeypatch):
    clock = FakeClock([100.0, 100.0, 5.0, 1.0, 3.0, 2.0, 4.0])  # two warm-up runs, then five timed
    monkeypatch.setattr(measurement.time, "perf_counter", clock)
    seconds = measure_latency(clock.module(), (1, 3, 8, 8), LatencySetting(warmup=2, repeats=5))
    assert seconds == 3.0 and clock.calls == 7


def test_the_cpu_clock_is_the_process_time(monkeypatch):
    clock = FakeClock([7.0, 9.0, 8.0])
    monkeypatch.setattr(measurement.time, "process_time", clock)
    setting = LatencySetting(warmup=0, repeats=3, threads=1, clock="cpu")
    assert measure_latency(clock.module(), (1, 3, 8, 8), setting) == 8.0


def test_threads_are_set_for_the_measurement_and_restored():
    before = torch.get_num_threads()
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    measure_latency(Recorder(), (1, 3, 8, 8), LatencySetting(threads=1, warmup=1, repeats=2))
    assert seen == [1, 1, 1] and torch.get_num_threads() == before


@pytest.mark.parametrize("fields, message", [
    ({"device": "tpu"}, "latency device must be 'cpu' or 'cuda'"),
    ({"batch_size": 0}, "latency batch_size must be at least 1"),
    ({"clock": "cpu"}, "use it with device cpu and threads 1"),
    ({"clock": "sundial"}, "latency clock must be 'wall' or 'cpu'"),
])
def test_a_bad_setting_is_refused_naming_the_field(fields, message):
    with pytest.raises(DiswotError, match=message):
        LatencySetting(**fields)


def test_the_cache_key_holds_arch_device_threads_batch_and_resolution():
    space = get_space("mobilenet")
    key = MeasuredLatency(LatencySetting(threads=2, batch_size=4, image_size=160)).key(space, space.parse("mobilenet_v2"))
    assert key.startswith("network|mobilenet:" + space.reference_points["mobilenet_v2"])
    assert "cpu:" in key and "torch" in key and "|threads=2|batch=4|size=160|" in key


def test_a_candidate_is_measured_once_per_setting_across_instances(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(measured_module, "measure_network_latency", lambda net, setting: calls.append(1) or 0.01)
    space, path = get_space("mobilenet"), tmp_path / "latency.json"
    arch = space.sample(random.Random(0))
    setting = LatencySetting(image_size=32)
    assert MeasuredLatency(setting, path).seconds(space, arch) == 0.01
    assert MeasuredLatency(setting, path).seconds(space, arch) == 0.01  # a new process would read the file
    assert len(calls) == 1
    MeasuredLatency(LatencySetting(image_size=64), path).seconds(space, arch)
    assert len(calls) == 2


def macs(module, input_shape):
    """Multiply-accumulates of convolutions and linear layers of `module` on one input (independent of search_spaces'
    counter: from the output shapes seen by hooks)."""
    total = 0

    def count(layer, _inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            total += output.numel() * layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
        else:
            total += output.numel() * layer.in_features

    handles = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        module.eval()(torch.zeros(input_shape))
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.parametrize("space_name", ["mobilenet", "resnet_imagenet"])
def test_the_table_sums_every_unit_once_at_its_input_shape(monkeypatch, space_name):
    """With a unit's 'latency' taken to be its MACs, the table's sum is the network's FLOPs: the units cover the
    network exactly, each at the shape it sees; units shared by two candidates are timed once."""
    timed = []
    monkeypatch.setattr(table_module, "measure_latency",
                        lambda unit, shape, setting: timed.append(shape) or float(macs(unit, shape)))
    space = get_space(space_name)
    table = LatencyTable(LatencySetting(image_size=64))
    rng = random.Random(0)
    first, second = space.sample(rng), space.sample(rng)
    second = space.mutate(first, rng)  # shares most units with `first`
    assert table.summed(space, first) == space.cost(first, 1000, 64).flops
    units_of_first = table.timings
    assert table.summed(space, second) == space.cost(second, 1000, 64).flops
    assert table.timings - units_of_first < units_of_first
    assert table.summed(space, first) == space.cost(first, 1000, 64).flops and len(timed) == table.timings


def test_the_prediction_is_the_sum_scaled_by_the_calibration(monkeypatch):
    monkeypatch.setattr(table_module, "measure_latency", lambda unit, shape, setting: 0.001)
    monkeypatch.setattr(measured_module, "measure_network_latency", lambda net, setting: 0.03)
    space = get_space("mobilenet")
    table = LatencyTable(LatencySetting(image_size=32))
    arch = space.parse("mobilenet_v2")
    units = len(space.build(arch, 10).latency_units())
    assert table.summed(space, arch) == pytest.approx(0.001 * units)
    # every calibration network (the reference points, then 4 samples drawn with seed 0) measures 0.03 s: its factor
    # is 0.03 over its sum of units, and the table's is the median of those
    rng = random.Random(0)
    calibration = [space.parse("mobilenet_v2")] + [space.sample(rng) for _ in range(4)]
    factors = sorted(0.03 / (0.001 * len(space.build(a, 10).latency_units())) for a in calibration)
    assert table.scale(space) == pytest.approx(factors[2])
    assert table.predict(space, arch) == pytest.approx(factors[2] * 0.001 * units)


def test_materialised_units_hold_ordinary_numbers():
    space = get_space("resnet_imagenet")
    with torch.device("meta"):
        network = space.build(space.parse("resnet18"), 10)
    unit = table_module.materialised(network.latency_units()[1])
    assert all(torch.isfinite(t).all() for t in unit.state_dict().values())
    assert torch.equal(unit.bn1.running_var, torch.ones_like(unit.bn1.running_var))


def test_a_space_without_units_is_measured_whole(monkeypatch):
    measured = []
    monkeypatch.setattr(measured_module, "measure_network_latency",
                        lambda net, setting: measured.append(type(net).__name__) or 0.004)
    space = get_space("nb201")
    table = LatencyTable(LatencySetting(image_size=32))
    assert table.predict(space, space.sample(random.Random(0))) == 0.004
    assert measured == ["TinyNetwork"] and table.timings == 0  # the whole network, no unit timed
    with pytest.raises(DiswotError, match="cannot be cut into blocks"):
        table.summed(space, space.sample(random.Random(0)))


def test_a_real_prediction_and_measurement_run_end_to_end(tmp_path):
    setting = LatencySetting(image_size=32, warmup=0, repeats=1)
    space = get_space("mobilenet")
    arch = space.extreme_archs()[0]
    table = LatencyTable(setting, tmp_path / "table.json")
    assert table.predict(space, arch) > 0
    assert LatencyTable(setting, tmp_path / "table.json").timings == 0  # reloaded, nothing new to time
    assert MeasuredLatency(setting).seconds(space, arch) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_latency_is_timed_with_events():
    setting = LatencySetting(device="cuda", warmup=1, repeats=3, image_size=32)
    space = get_space("mobilenet")
    assert MeasuredLatency(setting).seconds(space, space.extreme_archs()[0]) > 0
