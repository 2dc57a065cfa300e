#!/usr/bin/env bash
# The GPU check, one script for a lent GPU machine (about 8 minutes on one H200): the CUDA tests, the scorer
# against the published procedure on cuda, and a 1,000-evaluation default NB201 search on one GPU, in-process
# and on GPU workers (one, then four sharing the GPU: several candidates in flight on one GPU). Figures are
# printed and written to benchmarks/results/*_cuda.*; run from the repository root after installing the project
# (`pip install -e ".[all,test]"`). Exits non-zero at the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device: this script is for a GPU machine"
print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PY
echo "== CUDA tests"
python -m pytest -q -rs tests/test_cuda.py
echo "== scorer vs the published procedure, on cuda"
python benchmarks/scoring_speed.py --device cuda --json benchmarks/results/scoring_speed_cuda.json
echo "== 1,000-evaluation default NB201 search on one GPU: in-process, one GPU worker, four workers on the GPU"
python benchmarks/search_speed.py --device cuda --executors inprocess process --workers 1 --name search_speed_cuda
python benchmarks/search_speed.py --device cuda --executors process --workers 4 --name search_speed_cuda_4_workers
cat benchmarks/results/search_speed_cuda.md benchmarks/results/search_speed_cuda_4_workers.md
