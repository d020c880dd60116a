"""Ligand protonation state at the simulation pH (dimorphite-dl, with a guard).

The choice, and why:

* **Provided poses (SDF) keep their own hydrogens.** Whoever placed the ligand
  also chose its protonation state, and the hydrogens carry coordinates.
* **SMILES that already carry formal charges are kept as given**: a chemist
  (or an upstream tool) made that decision on purpose.
* **Neutral SMILES get their dominant state at pH 7.4 from dimorphite-dl**
  (Ropp et al., J. Cheminform. 2019, 11, 14), with ``precision=0`` so that
  exactly one state comes back. MolTwin's standardizer neutralizes
  molecules, so without this step a piperidine or a carboxylic acid would be
  simulated uncharged, and its salt bridges would be missing.
* **Guard: a result with net charge beyond ±1 is not used.** dimorphite-dl
  treats every site independently, so it doubly protonates piperazines and
  doubly deprotonates benzimidazolones or salicylic acids, which no pKa
  table supports. Such results are dropped in favour of the given state
  (recorded in the notes); single ionizations (amines, acids, tetrazoles,
  amidines) and zwitterions pass.

``ligand_protonation="keep"`` in :class:`simulation.settings.SimulationSettings`
switches the step off.
"""

from __future__ import annotations

import logging

from rdkit import Chem

from simulation.pose import parse_smiles

log = logging.getLogger(__name__)

MAX_ABS_NET_CHARGE = 1


def protonate_for_ph(smiles: str, ph: float = 7.4) -> tuple[str, str]:
    """Dominant protonation state of a ligand at ``ph``.

    Parameters
    ----------
    smiles
        The ligand as given.
    ph
        Target pH.

    Returns
    -------
    tuple of (str, str)
        The SMILES to simulate (canonical) and a note saying what was decided
        (empty when the given state was already the dominant one).

    Raises
    ------
    moltwin.errors.SimulationError
        ``unparsable_smiles``.
    """
    mol = parse_smiles(smiles)
    given = Chem.MolToSmiles(mol)
    if any(atom.GetFormalCharge() for atom in mol.GetAtoms()):
        return given, ""
    from dimorphite_dl import protonate_smiles

    try:
        states = protonate_smiles(given, ph_min=ph, ph_max=ph, precision=0.0, max_variants=1)
    except Exception as exc:  # dimorphite raises plain errors on odd input
        log.warning("dimorphite-dl failed on %s: %s", given, exc)
        return given, f"dimorphite-dl failed ({exc}); given protonation kept"
    state = Chem.MolFromSmiles(states[0]) if states else None
    if state is None:
        return given, "dimorphite-dl returned no state; given protonation kept"
    proposed = Chem.MolToSmiles(state)
    if proposed == given:
        return given, ""
    net = Chem.GetFormalCharge(state)
    if abs(net) > MAX_ABS_NET_CHARGE:
        return given, (f"dimorphite-dl proposed {proposed} (net charge {net:+d}); sites treated "
                       f"independently, so the given protonation was kept")
    return proposed, f"protonated at pH {ph:g} by dimorphite-dl: {given} -> {proposed}"
