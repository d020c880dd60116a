"""Ligand protonation state at the simulation pH: one state, chosen by pKa rules.

The choice, and why:

* **Provided poses (SDF) keep their own hydrogens.** Whoever placed the ligand
  also chose its protonation state, and the hydrogens carry coordinates.
* **SMILES that already carry formal charges are kept as given**: a chemist
  (or an upstream tool) made that decision on purpose.
* **Neutral SMILES get their most likely single state at pH 7.4** from the pKa
  rule table of :mod:`simulation.pka_rules` (``ligand_protonation="pka_rules"``,
  the default): salicylic acid -> carboxylate (the phenol stays), N-methyl-
  piperazine -> singly protonated, glycine -> zwitterion. MolTwin's
  standardizer neutralizes molecules, so without this step a piperidine or a
  carboxylic acid would be simulated uncharged and lose its salt bridges.
* ``ligand_protonation="dimorphite"`` keeps the former route (dimorphite-dl,
  Ropp et al., J. Cheminform. 2019, 11, 14, precision 0). It treats sites
  independently, so it doubly protonates piperazines and doubly deprotonates
  salicylic acids; such a result (|net charge| > 1) is dropped for the given
  state with a note. ``"keep"`` switches the step off.
"""

from __future__ import annotations

import logging

from rdkit import Chem

from simulation.pka_rules import choose_state
from simulation.pose import parse_smiles

log = logging.getLogger(__name__)

MAX_ABS_NET_CHARGE = 1


def protonate_for_ph(smiles: str, ph: float = 7.4, method: str = "pka_rules") -> tuple[str, str]:
    """Dominant protonation state of a ligand at ``ph``.

    Parameters
    ----------
    smiles
        The ligand as given.
    ph
        Target pH.
    method
        ``"pka_rules"`` (one state from :mod:`simulation.pka_rules`) or
        ``"dimorphite"`` (dimorphite-dl with the net-charge guard).

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
    if method == "pka_rules":
        state, sites = choose_state(mol, ph)
        proposed = Chem.MolToSmiles(state)
        if proposed == given:
            return given, ""
        return proposed, (f"protonated at pH {ph:g} by pKa rules ({'; '.join(sites)}): "
                          f"{given} -> {proposed}")
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
