"""Pose a new ligand on the most similar reference ligand (MCS-constrained embedding).

For a congeneric series the shared core binds the same way, so the common
atoms are placed exactly on the reference's and only the new part is
embedded. Several embeddings are tried; embeddings whose 3D structure is not
the requested molecule (a stereocentre inverted by the core snap) are
dropped, and among the rest the caller's pose score after a local
minimization in the protein (Vina, :func:`simulation.dock.vina_local_scorer`)
chooses; without a scorer, the one with the fewest clashes (closest contact
beyond 2.5 Å, then the smallest core RMSD). Distance from the protein is no
criterion: a pose pushed away from the protein is not a better pose. A
provided pose (SDF) can be used instead.
"""

from __future__ import annotations

import logging

from pathlib import Path

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, rdFMCS, rdMolAlign
from rdkit.Chem import rdFingerprintGenerator
from scipy.spatial import cKDTree

from moltwin.errors import SimulationError

log = logging.getLogger(__name__)

_FP = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def parse_smiles(smiles: str) -> Chem.Mol:
    """Parse a SMILES or raise ``SimulationError('unparsable_smiles')``."""
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        raise SimulationError("unparsable_smiles", f"RDKit cannot parse SMILES {smiles!r}")
    return mol


def read_reference_ligands(sdf_path: str | Path) -> list[Chem.Mol]:
    """Read posed reference ligands (with H) from an SDF; names from the title line."""
    mols = [m for m in Chem.SDMolSupplier(str(sdf_path), removeHs=False) if m is not None]
    if not mols:
        raise SimulationError("no_reference_ligands", f"no readable molecules in {sdf_path}")
    return mols


def most_similar_reference(mol: Chem.Mol, references: list[Chem.Mol]) -> tuple[Chem.Mol, float]:
    """Reference ligand with the highest Morgan (r=2) Tanimoto similarity to ``mol``."""
    query = _FP.GetFingerprint(Chem.RemoveHs(mol))
    sims = [DataStructs.TanimotoSimilarity(query, _FP.GetFingerprint(Chem.RemoveHs(r)))
            for r in references]
    best = int(np.argmax(sims))
    return references[best], float(sims[best])


def _mcs_atom_map(mol: Chem.Mol, ref: Chem.Mol, timeout_s: int) -> list[tuple[int, int]]:
    """(mol index, ref index) pairs of the maximum common substructure (heavy atoms)."""
    ref_heavy = Chem.RemoveHs(ref)
    result = rdFMCS.FindMCS([Chem.RemoveHs(mol), ref_heavy], timeout=timeout_s,
                            atomCompare=rdFMCS.AtomCompare.CompareElements,
                            bondCompare=rdFMCS.BondCompare.CompareOrder,
                            ringMatchesRingOnly=True, completeRingsOnly=True)
    if result.canceled:  # wall-clock limit: a partial core, and which one depends on machine load
        log.warning("MCS search stopped after %s s: a partial common core is used", timeout_s)
    if result.numAtoms < 3:
        raise SimulationError("no_common_core",
                              f"ligand shares only {result.numAtoms} atoms with the reference")
    core = Chem.MolFromSmarts(result.smartsString)
    mol_match = mol.GetSubstructMatch(core, useChirality=False)
    ref_match = ref.GetSubstructMatch(core, useChirality=False)
    if not mol_match or not ref_match:
        raise SimulationError("mcs_match_failed", "MCS pattern did not match back onto the molecules")
    return list(zip(mol_match, ref_match))


def _min_distance(xyz: np.ndarray, tree: cKDTree | None) -> float:
    return float(tree.query(xyz)[0].min()) if tree is not None else float("inf")


CLEAR_CONTACT_ANGSTROM = 2.5  # heavy-atom contacts closer than this count as a clash


def pose_from_reference(smiles: str, references: list[Chem.Mol], *,
                        protein_heavy_xyz_angstrom: np.ndarray | None = None,
                        n_attempts: int = 5, seed: int = 42, mcs_timeout_s: int = 60,
                        scorer=None) -> Chem.Mol:
    """Place a new ligand on the most similar reference by its maximum common substructure.

    Parameters
    ----------
    smiles
        The new ligand.
    references
        Posed reference ligands with hydrogens (``read_reference_ligands``).
    protein_heavy_xyz_angstrom
        Protein heavy-atom coordinates (Å) for the clash count of each embedding.
    n_attempts
        Embeddings tried (seeds ``seed`` .. ``seed + n_attempts - 1``).
    seed
        Random seed of the first embedding.
    mcs_timeout_s
        Wall-clock limit of the MCS search. RDKit then returns the best core found so
        far, so a limit that bites makes the pose depend on machine load: 10 s did on the
        loaded 2-core VM (three MCL1 ligands, ~2 s each when idle, posed 2-4 Å off in one
        benchmark run and right in another); 60 s leaves room.
    scorer
        Optional callable ``mol -> float`` (lower is better), e.g. a Vina score
        after local optimization in the protein; chooses among the embeddings.

    Returns
    -------
    rdkit.Chem.Mol
        Ligand with explicit H and one conformer; properties ``pose_method``
        (``mcs``), ``pose_reference``, ``pose_similarity``, ``pose_mcs_atoms``,
        ``pose_core_rmsd_A``, ``pose_min_protein_distance_A`` and, with a scorer,
        ``pose_score_kcal_mol``.

    Raises
    ------
    moltwin.errors.SimulationError
        ``unparsable_smiles``, ``no_common_core``, ``mcs_match_failed`` or ``embedding_failed``.
    """
    mol = Chem.AddHs(parse_smiles(smiles))
    ref, similarity = most_similar_reference(mol, references)
    pairs = _mcs_atom_map(mol, ref, mcs_timeout_s)
    ref_xyz = ref.GetConformer().GetPositions()
    tree = cKDTree(protein_heavy_xyz_angstrom) if protein_heavy_xyz_angstrom is not None else None
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    requested = parse_smiles(smiles)
    stereo_given = not undefined_stereo(requested)  # open stereo: compare the graph only
    want = Chem.MolToSmiles(requested, isomericSmiles=stereo_given)
    best, best_key, n_wrong = None, None, 0
    for core in _cores(mol, pairs):  # the full core; then without its stereocentres
        coord_map = {i: ref.GetConformer().GetAtomPosition(j) for i, j in core}
        for attempt in range(n_attempts):
            trial = Chem.Mol(mol)
            conf_id = AllChem.EmbedMolecule(trial, coordMap=coord_map, randomSeed=seed + attempt,
                                            useRandomCoords=True)
            if conf_id < 0:
                continue
            rmsd = rdMolAlign.AlignMol(trial, ref, atomMap=core)
            _snap_core(trial, core, ref_xyz)
            if perceived_smiles(trial, isomeric=stereo_given) != want:  # the snap inverted a centre
                n_wrong += 1
                continue
            xyz = trial.GetConformer().GetPositions()[heavy]
            clearance = _min_distance(xyz, tree)
            n_clash = int(sum(len(h) for h in tree.query_ball_point(xyz, CLEAR_CONTACT_ANGSTROM))) \
                if tree is not None else 0
            score = float(scorer(trial)) if scorer is not None else 0.0
            key = (score, n_clash, rmsd) if scorer is not None else (n_clash, rmsd)
            if best_key is None or key < best_key:
                best, best_key = (trial, rmsd, clearance, score), key
        if best is not None:
            pairs = core
            break
    if best is None:
        raise SimulationError("embedding_failed",
                              f"no 3D embedding kept the common core in {n_attempts} attempts"
                              + (f" ({n_wrong} had the wrong stereochemistry)" if n_wrong else ""))
    posed, rmsd, clearance, score = best
    posed.SetProp("_Name", smiles)
    posed.SetProp("pose_method", "mcs")
    posed.SetProp("pose_reference", ref.GetProp("_Name") if ref.HasProp("_Name") else "")
    posed.SetDoubleProp("pose_similarity", similarity)
    posed.SetIntProp("pose_mcs_atoms", len(pairs))
    posed.SetDoubleProp("pose_core_rmsd_A", float(rmsd))
    posed.SetDoubleProp("pose_min_protein_distance_A", float(clearance))
    if scorer is not None:
        posed.SetDoubleProp("pose_score_kcal_mol", score)
    return posed


def _cores(mol: Chem.Mol, pairs: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The MCS core, and the core without the ligand's stereocentres and their neighbours
    (a reference of the opposite configuration must not force its own onto the ligand)."""
    chiral = {a.GetIdx() for a in mol.GetAtoms() if a.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED}
    free = chiral | {n.GetIdx() for i in chiral for n in mol.GetAtomWithIdx(i).GetNeighbors()}
    reduced = [(i, j) for i, j in pairs if i not in free]
    return [pairs, reduced] if chiral and len(reduced) >= 3 and len(reduced) < len(pairs) else [pairs]


CORE_TETHER_ANGSTROM = 0.05  # how far a core atom moves freely in the final relaxation


def _force_field(mol: Chem.Mol):
    props = AllChem.MMFFGetMoleculeProperties(mol)
    ff = AllChem.MMFFGetMoleculeForceField(mol, props) if props is not None else None
    return (ff, props is not None) if ff is not None else (AllChem.UFFGetMoleculeForceField(mol), False)


def _snap_core(mol: Chem.Mol, pairs: list[tuple[int, int]], ref_xyz: np.ndarray) -> None:
    """Put core atoms exactly on the reference, relax the rest with MMFF (core fixed), then
    relax everything with the core tethered within ``CORE_TETHER_ANGSTROM``.

    The second step repairs the reference's own geometry where it is off (the published
    jmc_30 pose has a 1.47 Å nitrile C≡N, which PoseBusters rightly rejects) while the core
    stays where the reference put it.
    """
    conf = mol.GetConformer()
    for i, j in pairs:
        conf.SetAtomPosition(i, ref_xyz[j].tolist())
    ff, _ = _force_field(mol)
    for i, _ in pairs:
        ff.AddFixedPoint(i)
    ff.Minimize(maxIts=500)
    ff, mmff = _force_field(mol)
    for i, _ in pairs:
        if mmff:
            ff.MMFFAddPositionConstraint(i, CORE_TETHER_ANGSTROM, 100.0)
        else:
            ff.UFFAddPositionConstraint(i, CORE_TETHER_ANGSTROM, 100.0)
    ff.Minimize(maxIts=200)


def _is_3d(mol: Chem.Mol) -> bool:
    if mol.GetNumConformers() == 0:
        return False
    conf = mol.GetConformer()
    if not conf.Is3D():
        return False
    # RDKit trusts the header's 2D/3D flag; a flat z column means 2D whatever it says
    # (three or more atoms are never all coplanar with z = 0 in a real pose by chance).
    xyz = conf.GetPositions()
    return len(xyz) < 3 or bool(np.ptp(xyz[:, 2]) > 1e-3)


def pose_from_sdf(sdf_path: str | Path, smiles: str | None = None, *,
                  add_missing_hydrogens: bool = False) -> Chem.Mol:
    """Use a provided pose: the first molecule of an SDF, with 3D coordinates and hydrogens.

    Parameters
    ----------
    sdf_path
        SDF file holding the pose.
    smiles
        When given, the pose must be this molecule (compared without hydrogens).
    add_missing_hydrogens
        A pose without (all its) hydrogens gets them from RDKit, with coordinates,
        instead of failing. The protonation state is then RDKit's default valence
        model, which is why this is opt-in.

    Returns
    -------
    rdkit.Chem.Mol
        With properties ``pose_method`` (``provided``) and ``pose_reference`` (file name).

    Raises
    ------
    moltwin.errors.SimulationError
        ``unreadable_pose``, ``no_3d_coordinates``, ``missing_hydrogens`` or ``pose_mismatch``.
    """
    mol = next(iter(Chem.SDMolSupplier(str(sdf_path), removeHs=False)), None)
    if mol is None:
        raise SimulationError("unreadable_pose", f"no readable molecule in {Path(sdf_path).name}")
    if not _is_3d(mol):
        raise SimulationError("no_3d_coordinates", f"the pose in {Path(sdf_path).name} has no 3D "
                              "coordinates (2D or flat): give a docked or modelled 3D pose")
    n_missing = sum(atom.GetNumImplicitHs() for atom in mol.GetAtoms())
    if n_missing:
        if not add_missing_hydrogens:
            raise SimulationError("missing_hydrogens", f"the pose in {Path(sdf_path).name} lacks "
                                  f"{n_missing} hydrogen(s): add them with their protonation state "
                                  "(or set add_missing_hydrogens)")
        mol = Chem.AddHs(mol, addCoords=True)
    if smiles is not None:
        want = Chem.MolToSmiles(parse_smiles(smiles))
        got = Chem.MolToSmiles(Chem.RemoveHs(mol))
        if want != got:
            raise SimulationError("pose_mismatch", f"pose is {got}, expected {want}")
    mol.SetProp("pose_method", "provided")
    mol.SetProp("pose_reference", Path(sdf_path).name)
    if n_missing:
        mol.SetIntProp("pose_hydrogens_added", n_missing)
    return mol


def check_clash(mol: Chem.Mol, protein_heavy_xyz_angstrom: np.ndarray, min_distance_angstrom: float) -> float:
    """Closest ligand–protein heavy-atom distance (Å); raise ``pose_clash`` below the limit."""
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    xyz = mol.GetConformer().GetPositions()[heavy]
    closest = _min_distance(xyz, cKDTree(protein_heavy_xyz_angstrom))
    if closest < min_distance_angstrom:
        raise SimulationError("pose_clash", f"ligand heavy atom {closest:.2f} Å from a protein "
                              f"heavy atom (limit {min_distance_angstrom} Å)")
    return closest


def undefined_stereo(mol: Chem.Mol) -> list[str]:
    """Stereocentres and stereo double bonds that the molecule leaves unspecified.

    Returns
    -------
    list of str
        ``"atom 5"`` / ``"bond 3"`` per unspecified element (empty when fully defined).
    """
    # A protonated amine's N-H exchanges and inverts: judge its neutral form, where RDKit
    # (rightly) sees no stereocentre on the nitrogen.
    neutral = Chem.RWMol(mol)
    for atom in neutral.GetAtoms():
        if atom.GetSymbol() == "N" and atom.GetFormalCharge() == 1 and atom.GetTotalNumHs() > 0 \
                and not atom.GetIsAromatic() and all(b.GetBondType() == Chem.BondType.SINGLE
                                                     for b in atom.GetBonds()):
            atom.SetFormalCharge(0)
            atom.SetNumExplicitHs(atom.GetTotalNumHs() - 1)
            atom.SetNoImplicit(True)
    neutral = neutral.GetMol()
    Chem.SanitizeMol(neutral)
    found = []
    for info in Chem.FindPotentialStereo(neutral):
        if info.specified != Chem.StereoSpecified.Unspecified:
            continue
        if info.type == Chem.StereoType.Atom_Tetrahedral:
            found.append(f"atom {info.centeredOn}")
        elif info.type == Chem.StereoType.Bond_Double:
            found.append(f"bond {info.centeredOn}")
    return found


def stereoisomer_smiles(mol: Chem.Mol, max_isomers: int = 8) -> list[str]:
    """Canonical SMILES of the stereoisomers of ``mol`` (unspecified elements enumerated)."""
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    options = StereoEnumerationOptions(onlyUnassigned=True, maxIsomers=max_isomers, unique=True)
    return sorted({Chem.MolToSmiles(m) for m in EnumerateStereoisomers(Chem.Mol(mol), options=options)})


def require_defined_stereo(smiles: str) -> None:
    """Raise ``undefined_stereo`` when the ligand leaves stereocentres open.

    Embedding such a SMILES would simulate an arbitrary isomer; the message
    lists the isomers so that each can be submitted on its own.
    """
    mol = parse_smiles(smiles)
    missing = undefined_stereo(mol)
    if missing:
        isomers = stereoisomer_smiles(mol)
        raise SimulationError("undefined_stereo", f"{len(missing)} stereo element(s) unspecified "
                              f"({', '.join(missing)}); simulate each isomer instead: "
                              f"{' | '.join(isomers)}")


def perceived_smiles(posed: Chem.Mol, isomeric: bool = True) -> str:
    """Canonical isomeric SMILES (no H) perceived from the 3D coordinates alone.

    Stereo tags carried over from the input are wiped first, so the answer is
    what the simulated coordinates actually hold.
    """
    mol = Chem.Mol(posed)
    for atom in mol.GetAtoms():
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    for bond in mol.GetBonds():
        if bond.GetBondType() == Chem.BondType.DOUBLE:
            bond.SetStereo(Chem.BondStereo.STEREONONE)
    Chem.AssignStereochemistryFrom3D(mol)
    _assign_lone_pair_centres(mol)
    # An N-H nitrogen (protonated amine) inverts and exchanges its proton: not a stereocentre,
    # and without it a 1,4-ring relationship through it is no stereo element either.
    for atom in mol.GetAtoms():
        if atom.GetSymbol() == "N" and atom.GetTotalNumHs(includeNeighbors=True) > 0:
            atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    heavy = Chem.RemoveHs(mol)
    Chem.AssignStereochemistry(heavy, cleanIt=True, force=True)
    return Chem.MolToSmiles(heavy, isomericSmiles=isomeric)


def _assign_lone_pair_centres(mol: Chem.Mol) -> None:
    """Chiral tags of three-coordinate S and P centres (sulfoxides, sulfinamides) from 3D.

    RDKit's ``AssignStereochemistryFrom3D`` leaves them unassigned, so a sulfoxide read back
    from its pose would look like open stereo. With the neighbours in bond order, a positive
    signed volume (v1 · v2 × v3, vectors from the centre) is RDKit's CCW, a negative one CW.
    """
    conf = mol.GetConformer()
    for info in Chem.FindPotentialStereo(mol):
        if info.type != Chem.StereoType.Atom_Tetrahedral or \
                info.specified != Chem.StereoSpecified.Unspecified:
            continue
        atom = mol.GetAtomWithIdx(info.centeredOn)
        if atom.GetSymbol() not in ("S", "P") or atom.GetDegree() != 3:
            continue
        centre = np.array(conf.GetAtomPosition(atom.GetIdx()))
        v = [np.array(conf.GetAtomPosition(b.GetOtherAtomIdx(atom.GetIdx()))) - centre
             for b in atom.GetBonds()]
        volume = float(np.dot(v[0], np.cross(v[1], v[2])))
        if abs(volume) > 0.1:  # Å³; a flat centre has no handedness
            atom.SetChiralTag(Chem.ChiralType.CHI_TETRAHEDRAL_CCW if volume > 0
                              else Chem.ChiralType.CHI_TETRAHEDRAL_CW)


def check_pose_identity(posed: Chem.Mol, smiles: str) -> None:
    """Raise ``pose_mismatch`` unless the 3D pose is the requested molecule (charges, stereo)."""
    want = Chem.MolToSmiles(parse_smiles(smiles))
    got = perceived_smiles(posed)
    if want != got:
        raise SimulationError("pose_mismatch", f"the 3D pose is {got}, requested {want}")
