"""Tests of chem.featurize: fingerprints, descriptors, Tanimoto helpers."""

import numpy as np
import pytest
from rdkit import Chem

from chem.featurize import (bulk_tanimoto, descriptor_names, max_tanimoto, morgan_bits,
                            morgan_bitvects, morgan_counts, rdkit_descriptors, tanimoto_matrix)
from moltwin.errors import ChemistryError

SMILES = ["CCO", "c1ccccc1O", "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl"]


def test_morgan_counts_and_bits_agree():
    counts = morgan_counts(SMILES, radius=2, n_bits=1024)
    bits = morgan_bits(SMILES, radius=2, n_bits=1024)
    assert counts.shape == bits.shape == (3, 1024)
    assert counts.dtype == np.uint32 and bits.dtype == np.uint8
    assert ((counts > 0) == (bits == 1)).all()
    assert counts[2].sum() > counts[0].sum()  # a larger molecule has more environments
    assert counts[1].max() >= 2  # phenol: equivalent aromatic CH environments repeat
    assert morgan_counts(SMILES[2:], radius=1, n_bits=1024)[0].sum() < counts[2].sum()


def test_accepts_mols_and_rejects_bad_smiles():
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    assert np.array_equal(morgan_counts(mols), morgan_counts(SMILES))
    with pytest.raises(ChemistryError, match="item 1"):
        morgan_counts(["CCO", "C1CC("])


def test_tanimoto_helpers():
    fps = morgan_bitvects(SMILES)
    assert bulk_tanimoto(fps[0], fps).tolist()[0] == 1.0
    mat = tanimoto_matrix(fps, fps)
    assert mat.shape == (3, 3) and np.allclose(np.diag(mat), 1) and np.allclose(mat, mat.T)
    best, arg = max_tanimoto(fps, fps[::-1])
    assert arg.tolist() == [2, 1, 0] and np.allclose(best, 1)
    empty_best, empty_arg = max_tanimoto(fps, [])
    assert (empty_best == 0).all() and (empty_arg == -1).all()


def test_rdkit_descriptors():
    frame = rdkit_descriptors(SMILES, names=["MolWt", "NumHDonors", "RingCount"])
    assert list(frame.columns) == ["MolWt", "NumHDonors", "RingCount"]
    assert frame.MolWt.iloc[0] == pytest.approx(46.07, abs=0.01)
    assert frame.RingCount.tolist() == [0, 1, 3]
    full = rdkit_descriptors(SMILES[:1])
    assert full.shape == (1, len(descriptor_names())) and len(descriptor_names()) > 150
    with pytest.raises(KeyError):
        rdkit_descriptors(SMILES, names=["NoSuchDescriptor"])
