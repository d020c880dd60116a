"""Molecular features: Morgan fingerprints, RDKit 2D descriptors, Tanimoto helpers.

Functions take SMILES (what crosses boundaries) or already-parsed molecules;
array outputs are NumPy, one row per input. An unparsable SMILES raises
``ChemistryError('unparsable_smiles')`` naming its position, because inputs here
are expected to come out of standardization already.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from moltwin.errors import ChemistryError

MolLike = str | Chem.Mol


@cache
def morgan_generator(radius: int = 2, n_bits: int = 2048):
    """A cached Morgan fingerprint generator (building one per molecule is wasteful)."""
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def to_mols(items: Sequence[MolLike]) -> list[Chem.Mol]:
    """Parse SMILES (molecules pass through); raise on the first unparsable one."""
    mols = []
    for i, item in enumerate(items):
        mol = Chem.MolFromSmiles(item) if isinstance(item, str) else item
        if mol is None:
            raise ChemistryError("unparsable_smiles", f"item {i} does not parse: {item!r}")
        mols.append(mol)
    return mols


def morgan_counts(items: Sequence[MolLike], *, radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """Morgan count fingerprints (ECFP-like), shape ``(n, n_bits)``, dtype uint32."""
    gen = morgan_generator(radius, n_bits)
    out = np.zeros((len(items), n_bits), dtype=np.uint32)
    for i, mol in enumerate(to_mols(items)):
        out[i] = gen.GetCountFingerprintAsNumPy(mol)
    return out


def morgan_bits(items: Sequence[MolLike], *, radius: int = 2, n_bits: int = 2048) -> np.ndarray:
    """Morgan bit fingerprints as a ``(n, n_bits)`` uint8 0/1 array."""
    gen = morgan_generator(radius, n_bits)
    out = np.zeros((len(items), n_bits), dtype=np.uint8)
    for i, mol in enumerate(to_mols(items)):
        out[i] = gen.GetFingerprintAsNumPy(mol)
    return out


def morgan_bitvects(items: Sequence[MolLike], *, radius: int = 2,
                    n_bits: int = 2048) -> list[DataStructs.ExplicitBitVect]:
    """Morgan bit vectors (RDKit objects, for the fast Tanimoto routines)."""
    gen = morgan_generator(radius, n_bits)
    return [gen.GetFingerprint(mol) for mol in to_mols(items)]


def packed_morgan(mols: Sequence[Chem.Mol], *, radius: int = 2, n_bits: int = 2048) -> list[bytes]:
    """Morgan bit fingerprints packed 8 bits per byte (``numpy.packbits``, big-endian bit order).

    ``n_bits / 8`` bytes per molecule: a compact, library-neutral Parquet ``binary``
    column; :func:`unpack_fingerprints` turns a column back into a 0/1 array.
    """
    gen = morgan_generator(radius, n_bits)
    return [np.packbits(gen.GetFingerprintAsNumPy(mol)).tobytes() for mol in mols]


def unpack_fingerprints(values: Sequence[bytes], n_bits: int = 2048) -> np.ndarray:
    """Packed fingerprints (from :func:`packed_morgan`) -> ``(n, n_bits)`` uint8 0/1 array."""
    if not len(values):
        return np.zeros((0, n_bits), dtype=np.uint8)
    packed = np.frombuffer(b"".join(values), dtype=np.uint8).reshape(len(values), -1)
    return np.unpackbits(packed, axis=1, count=n_bits)


def bulk_tanimoto(query: DataStructs.ExplicitBitVect,
                  fps: Sequence[DataStructs.ExplicitBitVect]) -> np.ndarray:
    """Tanimoto similarity of one fingerprint to many."""
    if not len(fps):
        return np.zeros(0)
    return np.asarray(DataStructs.BulkTanimotoSimilarity(query, list(fps)))


def tanimoto_matrix(fps_a: Sequence[DataStructs.ExplicitBitVect],
                    fps_b: Sequence[DataStructs.ExplicitBitVect]) -> np.ndarray:
    """Pairwise Tanimoto similarities, shape ``(len(a), len(b))``."""
    out = np.zeros((len(fps_a), len(fps_b)))
    for i, fp in enumerate(fps_a):
        out[i] = bulk_tanimoto(fp, fps_b)
    return out


def max_tanimoto(fps: Sequence[DataStructs.ExplicitBitVect],
                 reference: Sequence[DataStructs.ExplicitBitVect]) -> tuple[np.ndarray, np.ndarray]:
    """For each fingerprint, its highest Tanimoto to ``reference`` and that reference's index.

    Returns zeros and -1 when ``reference`` is empty.
    """
    best = np.zeros(len(fps))
    arg = np.full(len(fps), -1, dtype=int)
    if len(reference):
        for i, fp in enumerate(fps):
            sims = bulk_tanimoto(fp, reference)
            arg[i] = int(np.argmax(sims))
            best[i] = sims[arg[i]]
    return best, arg


def descriptor_names() -> list[str]:
    """Names of the RDKit 2D descriptors computed by :func:`rdkit_descriptors`."""
    return [name for name, _ in Descriptors.descList]


def rdkit_descriptors(items: Sequence[MolLike], names: Sequence[str] | None = None
                      ) -> pd.DataFrame:
    """RDKit 2D descriptors, one row per molecule; failed or infinite values become NaN.

    Parameters
    ----------
    items
        SMILES or molecules.
    names
        Subset of :func:`descriptor_names`; default all (~200, ~5 ms per molecule).
    """
    table = dict(Descriptors.descList)
    names = list(names) if names is not None else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KeyError(f"unknown RDKit descriptors: {unknown}")
    rows = []
    for mol in to_mols(items):
        row = []
        for name in names:
            try:
                row.append(float(table[name](mol)))
            except Exception:  # a few descriptors fail on odd valences; keep the row
                row.append(np.nan)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=names, dtype=float)
    return frame.replace([np.inf, -np.inf], np.nan)
