"""bench/gpu_check.sh must keep working although no GPU is around: its --quick CPU mode runs here."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu_check.sh"


def test_script_parses_and_pins_the_cuda_wheel_to_the_locked_openmm():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    lock = (REPO / "requirements" / "constraints.txt").read_text()
    pinned = re.search(r"^OpenMM==(\S+)$", lock, re.M).group(1)
    import openmm

    assert openmm.__version__.startswith(pinned)  # the wheel the script installs matches the env
    assert 'CUDA_WHEEL="openmm-cuda-12==${OPENMM_VERSION}"' in SCRIPT.read_text()


@pytest.mark.slow
def test_quick_mode_runs_every_step_on_the_cpu(tmp_path):
    env = {**os.environ, "GPU_CHECK_OUT": str(tmp_path), "MOLTWIN_PYTHON": sys.executable,
           "PYTHONPATH": str(REPO)}
    done = subprocess.run(["bash", str(SCRIPT), "--quick"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "CPU works" in (tmp_path / "gpu_check_cpu_platform.txt").read_text()
    assert "ratio" in (tmp_path / "gpu_check_cpu_md_throughput.txt").read_text()
    protocol = (tmp_path / "gpu_check_cpu_tyk2_protocol.txt").read_text()
    assert "min100_GBn2_e1_s0" in protocol and "md0.2ps_GBn2_e1_s0_mean_of_2" in protocol
