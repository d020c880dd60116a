"""Cut a binding-pocket model out of a prepared protein, or keep it whole.

The pocket keeps residues with any atom within a radius of the ligand, fills
short gaps so segments stay contiguous, and caps every cut with ACE/NME. The
caps are built from the *neighbouring residues' own backbone atoms* (ACE
CH3/C/O = previous CA/C/O; NME N/CH3 = next N/CA), so their geometry is exact
and the amber14 ACE/NME templates match; their hydrogens come from
``Modeller.addHydrogens``. Atoms far from the ligand get positional restraints
so the truncated protein keeps its shape and the frame stays fixed (the
ligand RMSD is then measured without fitting).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
from scipy.spatial import cKDTree

from simulation.protein import PreparedProtein
from simulation.reproducible import fixed_python_random

_BACKBONE = ("N", "CA", "C")
_PEPTIDE_BOND_MAX_NM = 0.2


@dataclass(slots=True)
class ProteinModel:
    """The protein part of a complex, ready for the force field.

    Attributes
    ----------
    topology, positions_nm
        Protein (or pocket) with hydrogens and caps; coordinates in nm.
    restrained_atoms
        Indices (into this topology) of atoms held by positional restraints.
    mode
        ``pocket`` or ``whole``.
    n_source_residues
        Residues of the protein it was cut from.
    n_caps
        ACE/NME caps added at cuts.
    """

    topology: app.Topology
    positions_nm: np.ndarray
    restrained_atoms: list[int] = field(default_factory=list)
    mode: str = "pocket"
    n_source_residues: int = 0
    n_caps: int = 0


def _is_heavy(atom: app.topology.Atom) -> bool:
    return atom.element is not None and atom.element.symbol != "H"


def _residue_distances_nm(protein: PreparedProtein, ligand_xyz_nm: np.ndarray) -> dict:
    """Minimum distance from each residue's atoms to any ligand atom (nm)."""
    tree = cKDTree(np.asarray(ligand_xyz_nm, dtype=float))
    atom_d, _ = tree.query(protein.positions_nm)
    dist: dict = {}
    for residue in protein.topology.residues():
        dist[residue] = min(atom_d[a.index] for a in residue.atoms())
    return dist


def _linked(res_a, res_b, pos: np.ndarray) -> bool:
    """True when res_a's C is bonded (by distance) to res_b's N."""
    c = next((a for a in res_a.atoms() if a.name == "C"), None)
    n = next((a for a in res_b.atoms() if a.name == "N"), None)
    if c is None or n is None:
        return False
    return float(np.linalg.norm(pos[c.index] - pos[n.index])) < _PEPTIDE_BOND_MAX_NM


def _select_segments(protein: PreparedProtein, dist: dict, radius_nm: float, max_gap: int):
    """Runs of consecutive, peptide-linked residues to keep, per chain."""
    pos = protein.positions_nm
    segments = []
    for chain in protein.topology.chains():
        residues = list(chain.residues())
        links = [_linked(a, b, pos) for a, b in zip(residues, residues[1:])]
        keep = [dist[r] <= radius_nm for r in residues]
        picked = [i for i, k in enumerate(keep) if k]
        for i, j in zip(picked, picked[1:]):  # fill short gaps along linked stretches
            if 0 < j - i - 1 <= max_gap and all(links[i:j]):
                for g in range(i + 1, j):
                    keep[g] = True
        start = None
        for i in range(len(residues)):
            if keep[i] and start is None:
                start = i
            if start is not None and (i == len(residues) - 1 or not keep[i + 1] or not links[i]):
                if keep[i]:
                    prev = residues[start - 1] if start > 0 and links[start - 1] else None
                    nxt = residues[i + 1] if i + 1 < len(residues) and links[i] else None
                    segments.append((prev, residues[start:i + 1], nxt))
                start = None
    return segments


def _atom(residue, name: str):
    return next((a for a in residue.atoms() if a.name == name), None)


def _add_atom(top, residue, name, element, xyz, positions, index_map=None, source=None):
    atom = top.addAtom(name, element, residue)
    positions.append(xyz)
    if index_map is not None and source is not None:
        index_map[source.index] = atom
    return atom


def _cut_pocket(protein: PreparedProtein, segments) -> tuple[app.Topology, list, set, int]:
    """New topology of the kept residues plus ACE/NME caps (no cap hydrogens yet)."""
    pos = protein.positions_nm
    el = app.element
    top = app.Topology()
    positions: list = []
    index_map: dict = {}  # source atom index -> new atom
    cap_residues: set = set()
    n_caps = 0
    for prev, residues, nxt in segments:
        chain = top.addChain()
        first_n = None
        if prev is not None and prev.name == "ACE":
            residues = [prev] + residues
        elif prev is not None and all(_atom(prev, n) for n in ("CA", "C", "O")):
            ace = top.addResidue("ACE", chain, id=prev.id)
            ch3 = _add_atom(top, ace, "CH3", el.carbon, pos[_atom(prev, "CA").index], positions)
            c = _add_atom(top, ace, "C", el.carbon, pos[_atom(prev, "C").index], positions)
            o = _add_atom(top, ace, "O", el.oxygen, pos[_atom(prev, "O").index], positions)
            top.addBond(ch3, c)
            top.addBond(c, o)
            first_n = c
            cap_residues.add(ace)
            n_caps += 1
        if nxt is not None and nxt.name == "NME":
            residues = residues + [nxt]
            nxt = None
        for residue in residues:
            new_res = top.addResidue(residue.name, chain, id=residue.id,
                                     insertionCode=residue.insertionCode)
            for atom in residue.atoms():
                _add_atom(top, new_res, atom.name, atom.element, pos[atom.index], positions,
                          index_map, atom)
        if first_n is not None:
            top.addBond(first_n, index_map[_atom(residues[0], "N").index])
        if nxt is not None and _atom(nxt, "N") and _atom(nxt, "CA"):
            nme = top.addResidue("NME", chain, id=nxt.id)
            n = _add_atom(top, nme, "N", el.nitrogen, pos[_atom(nxt, "N").index], positions)
            # OpenMM's hydrogens.xml names the NME methyl carbon "C" (PDB: CH3).
            c = _add_atom(top, nme, "C", el.carbon, pos[_atom(nxt, "CA").index], positions)
            top.addBond(n, c)
            top.addBond(index_map[_atom(residues[-1], "C").index], n)
            cap_residues.add(nme)
            n_caps += 1
    # Bonds inside and between kept residues (peptide links, disulfides whose
    # partners were both kept); a cysteine that lost its partner gets an HG below.
    for a, b in protein.topology.bonds():
        if a.index in index_map and b.index in index_map:
            top.addBond(index_map[a.index], index_map[b.index])
    return top, positions, cap_residues, n_caps


def _restrained_atoms(topology, positions_nm, ligand_xyz_nm, flexible_radius_nm, cap_ids):
    """Backbone atoms of residues beyond the flexible radius, plus cap heavy atoms."""
    tree = cKDTree(np.asarray(ligand_xyz_nm, dtype=float))
    atom_d, _ = tree.query(positions_nm)
    restrained = []
    for residue in topology.residues():
        atoms = list(residue.atoms())
        if (residue.chain.index, residue.id, residue.name) in cap_ids:
            restrained.extend(a.index for a in atoms if _is_heavy(a))
            continue
        if min(atom_d[a.index] for a in atoms) > flexible_radius_nm:
            restrained.extend(a.index for a in atoms if a.name in _BACKBONE)
    return sorted(restrained)


def build_pocket(protein: PreparedProtein, ligand_xyz_nm: np.ndarray, *, radius_angstrom: float | None,
                 flexible_radius_angstrom: float = 5.0, max_gap_residues: int = 2,
                 protonation_ph: float = 7.4) -> ProteinModel:
    """Build the protein part of the complex: a capped pocket, or the whole protein.

    Parameters
    ----------
    protein
        Prepared protein (with hydrogens).
    ligand_xyz_nm
        Ligand atom coordinates in the protein's frame (nm), shape (n, 3).
    radius_angstrom
        Keep residues with any atom within this distance of any ligand atom;
        None keeps the whole protein (no cut, no caps).
    flexible_radius_angstrom
        Residues with no atom this close to the ligand get their backbone (N, CA,
        C) restrained; caps are always fully restrained.
    max_gap_residues
        Gaps of at most this many residues between kept residues are filled.
    protonation_ph
        pH for the cap hydrogens and any cysteine that lost its disulfide partner.

    Returns
    -------
    ProteinModel
    """
    n_source = protein.topology.getNumResidues()
    flex_nm = flexible_radius_angstrom / 10.0
    if radius_angstrom is None:
        restrained = _restrained_atoms(protein.topology, protein.positions_nm, ligand_xyz_nm,
                                       flex_nm, set())
        return ProteinModel(protein.topology, protein.positions_nm.copy(), restrained,
                            "whole", n_source, 0)
    dist = _residue_distances_nm(protein, ligand_xyz_nm)
    segments = _select_segments(protein, dist, radius_angstrom / 10.0, max_gap_residues)
    top, positions, caps, n_caps = _cut_pocket(protein, segments)
    modeller = app.Modeller(top, unit.Quantity([openmm.Vec3(*map(float, p)) for p in positions], unit.nanometer))
    cap_ids = {(r.chain.index, r.id, r.name) for r in caps}
    # Seeded start positions and a single-threaded minimizer: the same pocket on every build.
    with fixed_python_random():
        modeller.addHydrogens(pH=protonation_ph,
                              platform=openmm.Platform.getPlatformByName("Reference"))
    positions_nm = np.asarray(modeller.positions.value_in_unit(unit.nanometer), dtype=float)
    restrained = _restrained_atoms(modeller.topology, positions_nm, ligand_xyz_nm, flex_nm, cap_ids)
    return ProteinModel(modeller.topology, positions_nm, restrained, "pocket", n_source, n_caps)
