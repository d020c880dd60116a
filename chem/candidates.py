"""Shared bookkeeping of the generators: ids, provenance, dedup, failure rows.

Every generator returns a :class:`GenerationResult` whose ``candidates`` table
has :data:`CANDIDATE_COLUMNS` and whose ``failures`` table has the
FailureRecord columns. Compound ids are derived from the InChIKey, so the same
structure always gets the same id whichever generator or run produced it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from math import prod

import pandas as pd
from rdkit import Chem, rdBase

from moltwin.records import FAILURE_COLUMNS, FailureRecord

CANDIDATE_COLUMNS = ["compound_id", "smiles", "origin", "provenance"]
STAGE = "generate"


def make_compound_id(mol: Chem.Mol, prefix: str = "MT-") -> str:
    """Deterministic compound id: prefix + 10 base32 characters of SHA-256(InChIKey).

    Hashing the full InChIKey (stereo layer included) keeps stereoisomers apart;
    50 bits make a collision unlikely below ~10^6 compounds.
    """
    key = Chem.MolToInchiKey(mol) or Chem.MolToSmiles(mol)
    digest = hashlib.sha256(key.encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:10]


def provenance_json(**inputs) -> str:
    """Provenance as a compact JSON string with sorted keys (stable across runs)."""
    return json.dumps(inputs, sort_keys=True, separators=(",", ":"))


def combination_indices(sizes: Sequence[int], max_needed: int | None, seed: int
                        ) -> Iterator[tuple[int, ...]]:
    """Index tuples into a Cartesian product, all in order or a seeded random sample.

    When the product is larger than ``max_needed`` a seeded sample of up to
    ``3 * max_needed + 100`` distinct combinations is drawn (headroom for
    duplicates and failures) without materializing the product.
    """
    total = prod(sizes)
    if total == 0:
        return iter(())
    if max_needed is None or total <= max_needed:
        flat: Iterable[int] = range(total)
    else:
        flat = random.Random(seed).sample(range(total), min(total, 3 * max_needed + 100))

    def unflatten(i: int) -> tuple[int, ...]:
        out = []
        for size in reversed(sizes):
            i, r = divmod(i, size)
            out.append(r)
        return tuple(reversed(out))

    return (unflatten(i) for i in flat)


@dataclass
class GenerationResult:
    """Output of a generator.

    Attributes
    ----------
    candidates
        ``compound_id, smiles, origin, provenance`` (one row per unique structure).
    failures
        FailureRecord rows (stage ``generate``).
    """

    candidates: pd.DataFrame
    failures: pd.DataFrame

    @staticmethod
    def concat(results: Iterable["GenerationResult"]) -> "GenerationResult":
        """Merge results, keeping the first row of each compound id."""
        results = list(results)
        cands = pd.concat([r.candidates for r in results] or [empty_candidates()],
                          ignore_index=True).drop_duplicates("compound_id").reset_index(drop=True)
        fails = pd.concat([r.failures for r in results] or [_failures([])], ignore_index=True)
        return GenerationResult(cands, fails)


def empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(columns=CANDIDATE_COLUMNS)


def _failures(records: list[FailureRecord]) -> pd.DataFrame:
    return pd.DataFrame([r.to_dict() for r in records], columns=FAILURE_COLUMNS)


class CandidateCollector:
    """Collects generated molecules: sanitizes, canonicalizes, dedups, ids, caps.

    Parameters
    ----------
    origin
        Method name written to the ``origin`` column.
    max_candidates
        Stop accepting after this many unique candidates (``None``: no cap).
    prefix
        Compound-id prefix.
    exclude_smiles
        Structures not to emit (e.g. the seeds themselves); any SMILES form.
    """

    def __init__(self, origin: str, *, max_candidates: int | None = None, prefix: str = "MT-",
                 exclude_smiles: Iterable[str] = ()) -> None:
        self.origin = origin
        self.max_candidates = max_candidates
        self.prefix = prefix
        self.rows: list[dict] = []
        self.failures: list[FailureRecord] = []
        self.seen: set[str] = set()
        for smi in exclude_smiles:
            mol = Chem.MolFromSmiles(smi)
            if mol is not None:
                self.seen.add(Chem.MolToSmiles(mol))

    @property
    def full(self) -> bool:
        return self.max_candidates is not None and len(self.rows) >= self.max_candidates

    def fail(self, reason_code: str, message: str, provenance: str = "") -> None:
        self.failures.append(FailureRecord(stage=STAGE, reason_code=reason_code,
                                           message=message, detail=provenance))

    def add(self, mol: Chem.Mol, provenance: str) -> bool:
        """Sanitize and add a product; returns True when it is a new candidate."""
        if self.full:
            return False
        with rdBase.BlockLogs():  # sanitization errors become failure rows, not log lines
            try:
                mol = Chem.RemoveHs(mol)  # also sanitizes; molzip keeps [H] R groups as atoms
            except Exception as exc:  # any sanitization error type
                self.fail("sanitization_failed",
                          f"{self.origin} product fails sanitization: {exc}", provenance)
                return False
            smiles = Chem.MolToSmiles(mol)
            if smiles in self.seen:
                return False
            self.seen.add(smiles)
            compound_id = make_compound_id(mol, self.prefix)
        self.rows.append({"compound_id": compound_id, "smiles": smiles, "origin": self.origin,
                          "provenance": provenance})
        return True

    def result(self) -> GenerationResult:
        cands = pd.DataFrame(self.rows, columns=CANDIDATE_COLUMNS)
        return GenerationResult(cands.drop_duplicates("compound_id").reset_index(drop=True),
                                _failures(self.failures))
