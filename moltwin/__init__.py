"""MolTwin: a digital twin of a drug-discovery compound series.

Kept import-light on purpose: ``moltwin --help`` must answer instantly, so heavy
libraries (RDKit, OpenMM, Prefect, scikit-learn) are imported inside commands.
"""

__version__ = "0.1.0"
