"""MolTwin's kernel: the ground every other package stands on.

``errors`` (one exception hierarchy), ``records`` (failure records), ``settings_base``
(strict pydantic base), ``paths`` (the twin home), ``provenance`` (hashes, run ids, code
version), ``transient`` (telling retryable failures from chemistry failures), ``progress``
(progress lines on stderr) and ``csv_export`` (spreadsheet-safe CSV files). The
kernel imports nothing of MolTwin's own; every layer above may import it. The layers are
drawn in ``docs/architecture.md`` and kept true by ``tests/unit/test_layers.py``.

Kept import-light on purpose: ``moltwin --help`` must answer instantly, so heavy
libraries (RDKit, OpenMM, Prefect, scikit-learn) are imported inside commands.
"""

__version__ = "0.1.0"
