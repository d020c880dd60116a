"""Small records that cross stage boundaries (never RDKit Mols)."""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass, field


@dataclass(slots=True, frozen=True)
class FailureRecord:
    """One item that a stage could not handle; the batch goes on without it.

    Attributes
    ----------
    stage
        Pipeline stage that failed: ``standardize``, ``generate``, ``filter``,
        ``predict``, ``simulate``, ``ingest`` ...
    reason_code
        Short machine-readable reason, e.g. ``unparsable_smiles``, ``nan_energy``.
    message
        Human-readable explanation.
    compound_id
        Compound the failure belongs to, when known.
    input_line
        1-based line/row of the input file, when the item came from a file.
    detail
        Extra text, e.g. a traceback for unexpected errors.
    """

    stage: str
    reason_code: str
    message: str
    compound_id: str | None = None
    input_line: int | None = None
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException, *, compound_id: str | None = None,
                       input_line: int | None = None) -> "FailureRecord":
        code = getattr(exc, "reason_code", None) or type(exc).__name__
        return cls(stage=stage, reason_code=code, message=str(exc), compound_id=compound_id,
                   input_line=input_line,
                   detail="".join(traceback.format_exception(exc))[-4000:])


FAILURE_COLUMNS = [f.name for f in FailureRecord.__dataclass_fields__.values()]  # type: ignore[attr-defined]


@dataclass(slots=True)
class Funnel:
    """Counts of molecules through successive steps (input -> ... -> kept)."""

    steps: list[tuple[str, int]] = field(default_factory=list)

    def add(self, step: str, count: int) -> None:
        self.steps.append((step, int(count)))

    def to_rows(self) -> list[dict]:
        return [{"step": s, "count": c} for s, c in self.steps]
