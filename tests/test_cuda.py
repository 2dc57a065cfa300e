"""On a CUDA GPU (skipped without one): the scorer and every proxy give the CPU's scores, and GPU workers (one
process per GPU; Ray actors with a share of a GPU) give the in-process result and record the device."""

import math

import pytest
import torch

if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU here", allow_module_level=True)

import diswot  # noqa: E402
from diswot.executors import ProcessPoolScoringExecutor, RayExecutor  # noqa: E402
from diswot.probe_data import ProbeDataSpec  # noqa: E402
from diswot.proxies import list_proxies  # noqa: E402
from diswot.scoring_setup import ScoringSetup  # noqa: E402
from search_spaces import get_space  # noqa: E402

ARCHS = ["1x16-1x32-1x64", "3x16-5x32-3x64", "7x16-1x32-5x64"]
SEARCH = dict(teacher="resnet8", space="resnet_cifar_wide", num_classes=10, batch_size=16, population=6,
              sample_size=2, proxies=["diswot"], confirm_top=0, evaluations=10, concurrency=2)


def close(a, b):
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return math.isclose(a, b, rel_tol=1e-2, abs_tol=1e-4)  # cuDNN's kernels sum in another order


@pytest.mark.parametrize("proxy", list_proxies())
def test_every_proxy_scores_on_cuda_as_on_the_cpu(proxy):
    space = get_space("resnet_cifar")
    setup = ScoringSetup("resnet8", num_classes=10, probe=ProbeDataSpec(batch_size=16), proxies=(proxy,), device="cpu")
    on_cpu = setup.build_scorer()
    on_gpu = setup.on_device("cuda").build_scorer()
    assert on_gpu.device.type == "cuda"
    for arch in ARCHS:
        cpu_score, gpu_score = on_cpu.score(space, arch).score, on_gpu.score(space, arch).score
        assert close(cpu_score, gpu_score), (proxy, arch, cpu_score, gpu_score)


def test_one_process_worker_per_gpu_records_its_device():
    workers = torch.cuda.device_count()
    with ProcessPoolScoringExecutor(workers=workers) as executor:
        result = diswot.search(**SEARCH, device="cuda", executor=executor)
    assert result.executor["devices"] == sorted({f"cuda:{index}" for index in range(workers)})
    in_process = diswot.search(**SEARCH, device="cuda")
    assert [s.arch for s in result.students] == [s.arch for s in in_process.students]


def test_ray_workers_with_half_a_gpu_each_score_on_the_gpu():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    try:
        with RayExecutor(workers=2, gpus_per_worker=0.5) as executor:
            result = diswot.search(**SEARCH, device="cuda", executor=executor)
    finally:
        ray.shutdown()
    assert result.executor["devices"] == ["cuda"]
    assert result.evaluations == SEARCH["evaluations"]
