"""One exception hierarchy for MolTwin.

Configuration errors, bad input files and programmer errors raise. Per-molecule
chemistry failures (a SMILES that will not parse, a ligand that cannot be
parametrized, a simulation that blows up) do *not* raise out of a batch: they
become :class:`moltwin.records.FailureRecord` rows. The classes here mark the
cases that stop a command, and carry enough context for a one-paragraph message.
"""

from __future__ import annotations


class MolTwinError(Exception):
    """Base class of every error MolTwin raises on purpose."""

    exit_code: int = 1


class BadInputError(MolTwinError):
    """The user gave something unusable (file, option, value). Exit code 2.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file, row, field
        Where it is wrong, when known; rows are 1-based file line numbers.
    """

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(BadInputError):
    """A run configuration is missing, malformed or has unknown/invalid fields."""


class StoreError(MolTwinError):
    """The twin store could not be opened, migrated or written."""


class ChemistryError(MolTwinError):
    """A molecule could not be handled (parse, standardize, featurize).

    Raised inside per-molecule functions and turned into a failure record by
    the batch functions that call them.
    """

    def __init__(self, reason_code: str, message: str) -> None:
        self.reason_code = reason_code
        super().__init__(message)


class ModelError(MolTwinError):
    """An activity model cannot be trained or used (e.g. too few measurements)."""

    exit_code = 2


class SimulationError(MolTwinError):
    """A per-ligand simulation step failed (preparation, parametrization, MD)."""

    def __init__(self, reason_code: str, message: str) -> None:
        self.reason_code = reason_code
        super().__init__(message)
