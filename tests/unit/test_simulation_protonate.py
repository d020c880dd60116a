"""One protonation state at pH 7.4 from pKa rules; the simulated 3D ligand is the requested one."""

from pathlib import Path

import pytest
from rdkit import Chem

from moltwin.errors import SimulationError
from simulation.pka_rules import choose_state
from simulation.pose import (perceived_smiles, pose_from_reference, read_reference_ligands,
                             require_defined_stereo)
from simulation.protonate import protonate_for_ph

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


def _canon(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize("smiles, expected", [
    ("OC(=O)c1ccccc1O", "O=C([O-])c1ccccc1O"),            # salicylic acid: carboxylate, phenol kept
    ("CN1CCNCC1", "CN1CC[NH2+]CC1"),                      # N-methylpiperazine: once, on the NH
    ("CN1CCN(C)CC1", "CN1CC[NH+](C)CC1"),                 # never the dication
    ("NCC(=O)O", "[NH3+]CC(=O)[O-]"),                     # glycine zwitterion
    ("CCN", "CC[NH3+]"),
    ("C1CCNCC1", "C1CC[NH2+]CC1"),                        # piperidine
    ("c1nn[nH]n1", "c1nn[n-]n1"),                         # tetrazole
    ("NC(=N)c1ccccc1", "NC(=[NH2+])c1ccccc1"),            # benzamidine
    ("Oc1ncccn1", "Oc1ncccn1"),                           # 2-hydroxypyrimidine (pKa ~9): neutral
    ("O=c1[nH]c2ccccc2[nH]1", "O=c1[nH]c2ccccc2[nH]1"),   # benzimidazolone: neutral
    ("Nc1ccccc1", "Nc1ccccc1"),                           # aniline
    ("c1ccncc1", "c1ccncc1"),                             # pyridine
    ("CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"),  # Tyk2
])
def test_pka_rules_pick_one_state(smiles, expected):
    state, _ = choose_state(Chem.MolFromSmiles(smiles), 7.4)
    assert Chem.MolToSmiles(state) == _canon(expected)


def test_protonate_for_ph_uses_the_rules_and_keeps_given_charges():
    smiles, note = protonate_for_ph("OC(=O)c1ccccc1O", 7.4)
    assert smiles == _canon("O=C([O-])c1ccccc1O") and "pKa rules" in note and "salicylic" in note
    assert protonate_for_ph("C[NH3+]", 7.4) == (_canon("C[NH3+]"), "")
    at_low_ph, _ = protonate_for_ph("CN1CCNCC1", 2.0)  # both amines protonate at pH 2 ... almost:
    assert Chem.GetFormalCharge(Chem.MolFromSmiles(at_low_ph)) == 2  # 2nd pKa ~5 with coupling


def test_undefined_stereocentres_are_refused_with_the_isomers():
    require_defined_stereo("C[C@H](N)C(=O)O")
    with pytest.raises(SimulationError) as info:
        require_defined_stereo("CC(N)C(=O)O")
    assert info.value.reason_code == "undefined_stereo"
    assert "C[C@@H](N)C(=O)O" in str(info.value) and "C[C@H](N)C(=O)O" in str(info.value)


TYK2_ANALOGS = [  # the series core with charged, chiral and ionizable substituents
    "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1C(=O)O",
    "O=C(Nc1ccnc(NC(=O)[C@@H]2CCN(C)C2)c1)c1c(Cl)cccc1Cl",
    "O=C(Nc1ccnc(NC(=O)C2CCN(C)CC2)c1)c1c(Cl)cccc1Cl",
    "C[C@H](O)C(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1",
]


@pytest.mark.parametrize("smiles", TYK2_ANALOGS)
def test_posed_ligand_is_the_requested_molecule_after_protonation(smiles):
    """What the 3D coordinates hold (charges, stereo) is what was asked for, after protonation."""
    protonated, _ = protonate_for_ph(smiles, 7.4)
    references = read_reference_ligands(DATA / "ligands.sdf")
    posed = pose_from_reference(protonated, references, n_attempts=3)
    assert perceived_smiles(posed) == protonated
    mol = Chem.MolFromSmiles(protonated)
    assert Chem.GetFormalCharge(mol) in (-1, 0, 1)


def test_every_published_tyk2_pose_reads_back_as_itself():
    for mol in Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False):
        assert perceived_smiles(mol) == Chem.MolToSmiles(Chem.RemoveHs(mol))


@pytest.mark.parametrize("smiles, intended", [
    # carboxylate on the aryl amide
    ("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1C(=O)O", "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1C(=O)[O-]"),
    # protonated tertiary amine, with a defined stereocentre next to it
    ("O=C(Nc1ccnc(NC(=O)[C@@H]2CCN(C)C2)c1)c1c(Cl)cccc1Cl",
     "O=C(Nc1ccnc(NC(=O)[C@@H]2CC[NH+](C)C2)c1)c1c(Cl)cccc1Cl"),
    # protonated secondary amine (piperidine)
    ("O=C(Nc1ccnc(NC(=O)C2CCNCC2)c1)c1c(Cl)cccc1Cl", "O=C(Nc1ccnc(NC(=O)C2CC[NH2+]CC2)c1)c1c(Cl)cccc1Cl"),
])
def test_placed_ligand_holds_the_intended_charged_state(tyk2_protein, smiles, intended):
    """Through the pipeline's own route (place_ligand: pKa rules, MCS pose, identity check), the
    coordinates that go to MD read back as the intended protonation state, charge and stereo."""
    from simulation.placement import place_ligand
    from simulation.settings import SimulationSettings

    settings = SimulationSettings(mcs_embedding_choice="clash", mcs_embeddings=2, pose_check="off")
    placed = place_ligand(smiles, settings, tyk2_protein.path,
                          tyk2_protein.heavy_atom_positions_nm() * 10.0,
                          reference_ligands_sdf=DATA / "ligands.sdf")
    assert placed.smiles == _canon(intended)
    assert perceived_smiles(placed.mol) == _canon(intended)
    assert Chem.GetFormalCharge(placed.mol) == Chem.GetFormalCharge(Chem.MolFromSmiles(intended))


@pytest.mark.parametrize("smiles", ["C[S@](=O)c1ccc(NC(=O)C2CC2)cc1", "C[S@@](=O)c1ccc(NC(=O)C2CC2)cc1"])
def test_sulfoxide_stereo_reads_back_from_3d(smiles):
    """A sulfoxide's configuration lives in its coordinates: perceived, not lost as open stereo."""
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=7) == 0
    assert perceived_smiles(mol) == _canon(smiles)
