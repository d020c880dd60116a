"""Analogs around seed compounds: BRICS recombination and single-point mutations.

Both generators keep only analogs whose Morgan-2 Tanimoto to their seed is at
least ``min_similarity`` (close analogs, not random chemistry), never emit a seed
itself, and are deterministic: candidates are enumerated in a fixed order and,
when there are more than ``max_candidates``, a sample is drawn with ``seed``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from itertools import islice

import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import BRICS

from chem.candidates import CandidateCollector, GenerationResult, provenance_json
from chem.featurize import bulk_tanimoto, morgan_bitvects
from moltwin.errors import BadInputError

# Substituents placed on aromatic C-H (attachment atom first in each SMILES).
DEFAULT_SUBSTITUENTS: dict[str, str] = {"F": "F", "Cl": "Cl", "Me": "C", "OMe": "OC", "CN": "C#N"}
Seeds = Sequence[str] | Sequence[tuple[str, str]] | pd.DataFrame


def _seed_table(seeds: Seeds) -> list[tuple[str, str, Chem.Mol]]:
    """Normalize seeds to ``(id, canonical SMILES, mol)``; unparsable seeds raise."""
    if isinstance(seeds, pd.DataFrame):
        items = list(zip(seeds["compound_id"].astype(str), seeds["smiles"]))
    else:
        items = [(s, s) if isinstance(s, str) else (str(s[0]), s[1]) for s in seeds]
    out = []
    for seed_id, smi in items:
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise BadInputError(f"seed {seed_id} does not parse: {smi}", field="seeds")
        out.append((seed_id, Chem.MolToSmiles(mol), mol))
    return out


def _finish(options: list[tuple[Chem.Mol, str]], origin: str, seeds, max_candidates, seed,
            prefix, failures: list[tuple[str, str, str]]) -> GenerationResult:
    """Sample (seeded, order kept) and collect candidates."""
    if max_candidates is not None and len(options) > max_candidates:
        picked = sorted(random.Random(seed).sample(range(len(options)), max_candidates))
        options = [options[i] for i in picked]
    collector = CandidateCollector(origin, max_candidates=max_candidates, prefix=prefix,
                                   exclude_smiles=[s[1] for s in seeds])
    for code, message, prov in failures:
        collector.fail(code, message, prov)
    for mol, prov in options:
        collector.add(mol, prov)
    return collector.result()


def brics_analogs(seeds: Seeds, *, extra_fragments: Sequence[str] = (), min_similarity: float = 0.4,
                  max_candidates: int | None = 200, seed: int = 0, max_depth: int = 2,
                  max_built: int = 5000, prefix: str = "MT-") -> GenerationResult:
    """Recombine the BRICS fragments of the seeds (plus extra fragments).

    Parameters
    ----------
    seeds
        SMILES, ``(id, SMILES)`` pairs, or a DataFrame with ``compound_id, smiles``.
    extra_fragments
        Further BRICS fragments (``[n*]`` labelled) to mix in.
    min_similarity
        Keep products with Tanimoto >= this to their most similar seed.
    max_candidates, seed
        Cap and sampling seed.
    max_depth
        BRICSBuild recursion depth.
    max_built
        Stop BRICSBuild after this many products (it grows combinatorially).

    Returns
    -------
    GenerationResult
        ``origin='brics'``; provenance names the most similar seed and the similarity.
    """
    table = _seed_table(seeds)
    frag_smiles: set[str] = set(extra_fragments)
    for _, _, mol in table:
        frag_smiles.update(BRICS.BRICSDecompose(mol))
    # Sorted so that the build order (and so the output) does not depend on set order.
    frags = [m for m in (Chem.MolFromSmiles(s) for s in sorted(frag_smiles)) if m is not None]
    seed_fps = morgan_bitvects([t[2] for t in table])
    seed_smiles = {t[1] for t in table}
    options: list[tuple[Chem.Mol, str]] = []
    seen: set[str] = set()
    with rdBase.BlockLogs():
        for product in islice(BRICS.BRICSBuild(frags, scrambleReagents=False,
                                               maxDepth=max_depth), max_built):
            try:
                Chem.SanitizeMol(product)
            except Exception:  # BRICS can join fragments into unsanitizable products
                continue
            smi = Chem.MolToSmiles(product)
            if smi in seen or smi in seed_smiles:
                continue
            seen.add(smi)
            sims = bulk_tanimoto(morgan_bitvects([product])[0], seed_fps)
            best = int(sims.argmax())
            if sims[best] >= min_similarity:
                prov = provenance_json(method="brics", seed_id=table[best][0],
                                       seed_smiles=table[best][1],
                                       similarity=round(float(sims[best]), 3))
                options.append((product, prov))
    return _finish(options, "brics", table, max_candidates, seed, prefix, [])


def _add_substituent(mol: Chem.Mol, atom_idx: int, substituent: Chem.Mol) -> Chem.Mol:
    rw = Chem.RWMol(Chem.CombineMols(mol, substituent))
    rw.AddBond(atom_idx, mol.GetNumAtoms(), Chem.BondType.SINGLE)
    return rw.GetMol()


def _swap_element(mol: Chem.Mol, atom_idx: int, atomic_num: int) -> Chem.Mol:
    rw = Chem.RWMol(mol)
    atom = rw.GetAtomWithIdx(atom_idx)
    atom.SetAtomicNum(atomic_num)
    atom.SetNumExplicitHs(0)
    atom.SetNoImplicit(False)
    return rw.GetMol()


def point_mutations(mol: Chem.Mol, substituents: Mapping[str, str] = DEFAULT_SUBSTITUENTS,
                    ring_n_swap: bool = True) -> list[tuple[Chem.Mol, str]]:
    """All single mutations of a molecule, unsanitized, with a description each.

    H -> substituent on every aromatic C-H; C-H -> N and N -> C-H in six-membered
    aromatic rings (neutral, two-connected ring atoms only).
    """
    subs = {name: Chem.MolFromSmiles(smi) for name, smi in substituents.items()}
    ring_info = mol.GetRingInfo()
    out = []
    for atom in mol.GetAtoms():
        idx = atom.GetIdx()
        if not atom.GetIsAromatic() or atom.GetFormalCharge():
            continue
        if atom.GetAtomicNum() == 6 and atom.GetTotalNumHs() == 1:
            for name, sub in subs.items():
                out.append((_add_substituent(mol, idx, sub), f"atom {idx}: H>{name}"))
            if ring_n_swap and ring_info.IsAtomInRingOfSize(idx, 6):
                out.append((_swap_element(mol, idx, 7), f"atom {idx}: CH>N"))
        elif (ring_n_swap and atom.GetAtomicNum() == 7 and atom.GetDegree() == 2
              and atom.GetTotalNumHs() == 0 and ring_info.IsAtomInRingOfSize(idx, 6)):
            out.append((_swap_element(mol, idx, 6), f"atom {idx}: N>CH"))
    return out


def mutation_analogs(seeds: Seeds, *, substituents: Mapping[str, str] = DEFAULT_SUBSTITUENTS,
                     ring_n_swap: bool = True, min_similarity: float = 0.4,
                     max_candidates: int | None = 200, seed: int = 0,
                     prefix: str = "MT-") -> GenerationResult:
    """Single-point analogs of each seed (aromatic substituent scan, ring-N swaps).

    Parameters
    ----------
    seeds
        SMILES, ``(id, SMILES)`` pairs, or a DataFrame with ``compound_id, smiles``.
    substituents
        Name -> SMILES placed on aromatic C-H (attachment atom first).
    ring_n_swap
        Also swap aromatic CH <-> N in six-membered rings.
    min_similarity
        Keep mutants with Tanimoto >= this to their seed.
    max_candidates, seed
        Cap and sampling seed.

    Returns
    -------
    GenerationResult
        ``origin='mutation'``; provenance has the seed and the mutation.
    """
    table = _seed_table(seeds)
    options: list[tuple[Chem.Mol, str]] = []
    failures: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for seed_id, seed_smi, seed_mol in table:
        seed_fp = morgan_bitvects([seed_mol])[0]
        for mutant, what in point_mutations(seed_mol, substituents, ring_n_swap):
            prov_items = {"method": "mutation", "seed_id": seed_id, "seed_smiles": seed_smi,
                          "mutation": what}
            try:
                Chem.SanitizeMol(mutant)
            except Exception as exc:  # e.g. an N swap that breaks aromaticity
                failures.append(("sanitization_failed", f"{seed_id} {what}: {exc}",
                                 provenance_json(**prov_items)))
                continue
            smi = Chem.MolToSmiles(mutant)
            if smi in seen:
                continue
            seen.add(smi)
            sim = float(bulk_tanimoto(morgan_bitvects([mutant])[0], [seed_fp])[0])
            if sim >= min_similarity:
                options.append((mutant, provenance_json(**prov_items, similarity=round(sim, 3))))
    return _finish(options, "mutation", table, max_candidates, seed, prefix, failures)
