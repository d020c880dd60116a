"""Platform probing and simulation settings."""

import openmm
import pydantic
import pytest

from moltwin.errors import ConfigError
from simulation.platform import probe_platform, select_platform
from simulation.settings import SimulationSettings


def _registered() -> set[str]:
    return {openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())}


def test_auto_probe_picks_cpu_without_gpu_plugins():
    choice = select_platform("auto")
    if {"CUDA", "OpenCL"} & _registered() and choice.is_gpu:
        assert choice.properties == {"Precision": "mixed"}
    else:
        assert choice.name == "CPU"
        assert any("falling back to the CPU" in w for w in choice.warnings)


def test_named_platform_and_cpu_threads():
    choice = select_platform("CPU", cpu_threads=1)
    assert choice.name == "CPU" and choice.properties == {"Threads": "1"}
    assert select_platform("Reference").warnings  # slow-platform warning


def test_missing_platform_is_a_config_error():
    assert probe_platform("NoSuchPlatform") is not None
    if "CUDA" not in _registered():
        with pytest.raises(ConfigError):
            select_platform("CUDA")


def test_settings_are_strict_and_frozen():
    settings = SimulationSettings()
    # 3 ps since the protocol study: the binding estimate is the minimized single point, MD gives the
    # stability at the length bench/pose_stability.py measured it
    assert settings.timestep_fs == 4.0 and settings.production_ps == pytest.approx(3.0)
    with pytest.raises(pydantic.ValidationError):
        SimulationSettings(timestep_femtoseconds=2.0)
    with pytest.raises(pydantic.ValidationError):
        SimulationSettings(production_steps=10, report_interval_steps=20)
    with pytest.raises(pydantic.ValidationError):
        settings.timestep_fs = 2.0
