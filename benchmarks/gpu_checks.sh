#!/usr/bin/env bash
# GPU checks in one go: the CUDA tests, then bench_scoring on the GPU.
# Usage: bash benchmarks/gpu_checks.sh [OUTDIR]
set -uo pipefail
out=${1:-.}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi -L
python3 -c "import torch, sklearn, skorch, imblearn; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'imblearn', imblearn.__version__, 'cuda', torch.cuda.is_available())"
python3 -m pytest tests/test_dlc_hardness.py tests/test_adapter.py tests/test_pipeline.py tests/test_baselines.py -q -p no:cacheprovider -o addopts="" -rs 2>&1 | tee "$out/gpu_pytest.txt" | tail -15
python3 benchmarks/bench_scoring.py --device cuda --threads 8 --repeats 3 2>&1 | tee "$out/gpu_bench.txt"
python3 -m sklearn_dlc demo --device cuda --quick --quiet 2>&1 | tee "$out/gpu_demo.txt" | tail -12
python3 -m sklearn_dlc demo --digits --device cuda --quick --quiet 2>&1 | tee "$out/gpu_demo_digits.txt" | tail -12
