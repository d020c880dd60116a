"""Make OpenMM's Modeller repeatable.

``Modeller.addHydrogens`` (also behind PDBFixer's ``addMissingHydrogens``) puts
each new hydrogen at a position jittered with Python's global :mod:`random`
before minimizing them, and ``Modeller.addSolvent`` picks which waters become
ions with it. Left alone, two builds of the same pocket differ in the last
digits of a few hydrogen positions, and so do the trajectories and scores that
follow. Running those calls under :func:`fixed_python_random` (and, for
``addHydrogens``, minimizing on the single-threaded Reference platform, whose
force sums do not depend on thread timing) makes a build a function of its
inputs, without changing anyone else's random stream.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def fixed_python_random(seed: int = 0) -> Iterator[None]:
    """Seed the global :mod:`random` for the block, then restore its previous state."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)
