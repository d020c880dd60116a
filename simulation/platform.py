"""Choose the OpenMM platform by creating a tiny Context on each candidate.

A plugin can be listed yet unusable (no driver, wrong CUDA version), so every
candidate is probed with a real two-particle Context, as openfe does. A
platform missing from this OpenMM build (no CUDA/OpenCL plugin) simply fails
its probe. A GPU can also vanish between the probe and the simulation (driver
reset, device taken, out of memory): context creation then raises
:class:`PlatformFailure` and the caller retries once on :func:`next_platform`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import openmm

from moltwin.errors import ConfigError

log = logging.getLogger(__name__)

_AUTO_ORDER = ("CUDA", "OpenCL", "CPU")
_FALLBACK_ORDER = ("CUDA", "OpenCL", "CPU", "Reference")
_GPU_PLATFORMS = ("CUDA", "OpenCL", "HIP")


@dataclass(slots=True)
class PlatformChoice:
    """The OpenMM platform to run on and how to configure it.

    Attributes
    ----------
    name
        OpenMM platform name (``CUDA``, ``OpenCL``, ``CPU``, ``Reference``).
    properties
        Platform properties to pass to ``openmm.Context`` (e.g. ``Precision``).
    warnings
        Human-readable notes about the choice (fallbacks, failed probes).
    """

    name: str
    properties: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def platform(self) -> openmm.Platform:
        """The OpenMM platform object."""
        return openmm.Platform.getPlatformByName(self.name)

    @property
    def is_gpu(self) -> bool:
        return self.name in _GPU_PLATFORMS


class PlatformFailure(Exception):
    """An OpenMM Context could not be created on a platform that was chosen earlier.

    Parameters
    ----------
    platform
        Name of the platform that failed.
    message
        OpenMM's error text.
    """

    def __init__(self, platform: str, message: str) -> None:
        self.platform = platform
        super().__init__(f"platform {platform} failed at context creation: {message}")


def create_context(system: openmm.System, integrator: openmm.Integrator,
                   choice: PlatformChoice) -> openmm.Context:
    """``openmm.Context`` on the chosen platform; a failure raises :class:`PlatformFailure`."""
    try:
        return openmm.Context(system, integrator, choice.platform, choice.properties)
    except Exception as exc:  # OpenMMException: plugin gone, device lost, out of memory
        raise PlatformFailure(choice.name, str(exc).strip().splitlines()[0] if str(exc).strip()
                              else type(exc).__name__) from exc


def next_platform(failed: str, cpu_threads: int | None = None) -> PlatformChoice | None:
    """The first working platform after ``failed`` in the order CUDA, OpenCL, CPU, Reference.

    Returns
    -------
    PlatformChoice or None
        None when nothing after ``failed`` works (or ``failed`` is Reference).
    """
    order = list(_FALLBACK_ORDER)
    start = order.index(failed) + 1 if failed in order else 0
    notes = [f"platform {failed} failed at context creation"]
    for name in order[start:]:
        props = _default_properties(name, cpu_threads)
        error = probe_platform(name, props)
        if error is None:
            log.warning("platform %s failed; continuing on %s", failed, name)
            return PlatformChoice(name, props, notes)
        notes.append(error)
    return None


def _default_properties(name: str, cpu_threads: int | None) -> dict[str, str]:
    if name in ("CUDA", "OpenCL", "HIP"):
        # Mixed precision: single-precision forces, double-precision integration.
        return {"Precision": "mixed"}
    if name == "CPU" and cpu_threads:
        return {"Threads": str(cpu_threads)}
    return {}


def probe_platform(name: str, properties: dict[str, str] | None = None) -> str | None:
    """Try to create a two-particle Context on a platform.

    Returns
    -------
    str or None
        None when the platform works, otherwise the error message.
    """
    try:
        platform = openmm.Platform.getPlatformByName(name)
    except Exception as exc:  # OpenMMException: plugin not loaded
        return f"platform {name} not available: {exc}"
    system = openmm.System()
    system.addParticle(1.0)
    system.addParticle(1.0)
    bond = openmm.HarmonicBondForce()
    bond.addBond(0, 1, 0.1, 1000.0)
    system.addForce(bond)
    integrator = openmm.VerletIntegrator(0.001)
    try:
        context = openmm.Context(system, integrator, platform, properties or {})
        context.setPositions([openmm.Vec3(0, 0, 0), openmm.Vec3(0.12, 0, 0)])
        context.getState(getEnergy=True)
        del context
    except Exception as exc:
        return f"platform {name} failed to create a Context: {exc}"
    return None


def select_platform(preferred: str = "auto", cpu_threads: int | None = None) -> PlatformChoice:
    """Pick a working OpenMM platform.

    Parameters
    ----------
    preferred
        ``auto`` probes CUDA, OpenCL, then CPU and takes the first that works.
        A named platform must work, or :class:`moltwin.errors.ConfigError` is raised.
    cpu_threads
        Number of threads for the CPU platform (None: OpenMM's default).

    Returns
    -------
    PlatformChoice
    """
    if preferred != "auto":
        props = _default_properties(preferred, cpu_threads)
        error = probe_platform(preferred, props)
        if error is not None:
            raise ConfigError(error, field="simulation.platform")
        choice = PlatformChoice(preferred, props)
        if preferred == "Reference":
            choice.warnings.append("Reference platform is very slow; use it only for tests.")
        return choice

    failures: list[str] = []
    for name in _AUTO_ORDER:
        props = _default_properties(name, cpu_threads)
        error = probe_platform(name, props)
        if error is None:
            choice = PlatformChoice(name, props, failures)
            if name == "CPU":
                message = ("No GPU platform (CUDA/OpenCL) works: falling back to the CPU "
                           "platform. MD will be ~100x slower; keep the pocket model and "
                           "short runs.")
                log.warning("!" * 10 + " " + message)
                choice.warnings.append(message)
            return choice
        failures.append(error)
    # Reference always exists in OpenMM; reaching it means CPU is missing too.
    message = "No CUDA, OpenCL or CPU platform works; using the Reference platform."
    log.warning(message)
    return PlatformChoice("Reference", {}, failures + [message])
