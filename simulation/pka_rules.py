"""The most likely single protonation state at a pH, from a small pKa rule table.

dimorphite-dl treats every ionizable site independently, so at precision 0 it
doubly protonates N-methylpiperazine and makes salicylic acid a dianion. A
molecule's sites are not independent: once one amine of a piperazine carries a
proton, the second one's pKa drops by ~4 units (piperazine: 9.7 and 5.4). This
module assigns one state by the table below and that coupling:

1. Find every site by SMARTS with its typical aqueous pKa (literature values of
   the parent functional group, rounded; Perrin, Dempsey & Serjeant, *pKa
   Prediction for Organic Acids and Bases*, 1981; Williams' pKa compilation).
   Aliphatic amines lose 1.7 units per N, O or F three bonds away (a β
   substituent: morpholine 8.4, N-methylpiperazine's NH 9.1, 2-fluoroethylamine
   9.0; Morgenthaler et al., ChemMedChem 2007, 2, 1100), 2 units for a
   carbonyl, nitrile or sulfonyl on the α carbon and 1 unit for an aryl there.
2. Ionize the site with the largest margin first (a base with pKa − pH > 0,
   an acid with pH − pKa > 0); every site already charged with the same sign
   within 3 bonds lowers a base's pKa (raises an acid's) by 4 units, within
   6 bonds by 1.5 units; an opposite charge within 3 bonds helps by 1 unit.
   Repeat until no site has a positive margin.

This is a decision rule, not a predictor: sites outside the table (phenols,
pyridines, anilines, amides, sulfonamides, imides, 2-hydroxypyrimidines, ...)
stay neutral at pH 7.4, which is what their pKa says for the common cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdkit import Chem

SAME_SIGN_PENALTY_NEAR = 4.0   # sites ≤ 3 bonds apart (piperazine 9.7 -> 5.4)
SAME_SIGN_PENALTY_FAR = 1.5    # 4–6 bonds apart
OPPOSITE_SIGN_BONUS = 1.0      # zwitterions stabilize each other a little
BETA_HETEROATOM_SHIFT = 1.7    # per N/O/F three bonds from the amine N
ALPHA_CARBONYL_SHIFT = 2.0     # carbonyl, nitrile or sulfonyl on the α carbon
BENZYLIC_SHIFT = 1.0           # aromatic ring on the α carbon (benzylamine 9.3)


@dataclass(frozen=True, slots=True)
class PkaRule:
    """One ionizable group.

    Attributes
    ----------
    name
        What the group is (shown in notes).
    smarts
        Pattern whose first atom is the atom that gains (base) or loses (acid) a proton.
    pka
        Typical aqueous pKa of the group (of the conjugate acid for bases).
    kind
        ``"acid"`` or ``"base"``.
    """

    name: str
    smarts: str
    pka: float
    kind: str


# Order matters only for atoms matched by several rules: the first rule wins.
RULES: tuple[PkaRule, ...] = (
    PkaRule("sulfonic acid", "[OX2H1][SX4](=O)(=O)", -1.0, "acid"),
    PkaRule("phosphate/phosphonate", "[OX2H1][PX4](=O)", 2.0, "acid"),
    PkaRule("salicylic-type acid", "[OX2H1]C(=O)c:c[OX2H1]", 3.0, "acid"),
    PkaRule("carboxylic acid", "[OX2H1][CX3](=O)[#6,#1]", 4.2, "acid"),
    PkaRule("acyl sulfonamide", "[NX3H1]([CX3]=O)[SX4](=O)(=O)", 4.5, "acid"),
    PkaRule("tetrazole", "[nH1]1nnnc1", 4.9, "acid"),
    PkaRule("tetrazole", "[nH1]1nncn1", 4.9, "acid"),
    PkaRule("sulfonylurea", "[NX3H1]([CX3](=O)N)[SX4](=O)(=O)", 5.0, "acid"),
    PkaRule("guanidine", "[NX2;!$(N-[CX3]=O);!$(N-S(=O)=O);!$(N-a)]=[CX3](N)N", 13.0, "base"),
    PkaRule("amidine", "[NX2;!$(N-[CX3]=O);!$(N-S(=O)=O);!$(N-a);!$(N-O)]=[CX3;!$(C(N)(N)N)]([#6,#1])[NX3;!$(N-C=O)]",
            11.5, "base"),
    PkaRule("primary aliphatic amine", "[NX3H2;+0;!$(N~[#6;!X4]);!$(N~[!#6;!#1])]", 10.6, "base"),
    PkaRule("secondary aliphatic amine", "[NX3H1;+0;!$(N~[#6;!X4]);!$(N~[!#6;!#1])]", 10.8, "base"),
    PkaRule("tertiary aliphatic amine", "[NX3H0;+0;!$(N~[#6;!X4]);!$(N~[!#6;!#1])]", 9.8, "base"),
    PkaRule("imidazole", "[nX2;r5;$(n1c[nH]cc1),$(n1cc[nH]c1)]", 7.0, "base"),
)
_PATTERNS = [(rule, Chem.MolFromSmarts(rule.smarts)) for rule in RULES]


@dataclass(slots=True)
class Site:
    """An ionizable atom found by a rule, with its pKa corrected for substituents."""

    atom: int
    rule: PkaRule
    pka: float


def find_sites(mol: Chem.Mol) -> list[Site]:
    """Ionizable sites of a neutral molecule (heavy-atom graph), one per atom."""
    sites: dict[int, Site] = {}
    distance = Chem.GetDistanceMatrix(mol)
    for rule, pattern in _PATTERNS:
        for match in mol.GetSubstructMatches(pattern):
            atom = match[0]
            if atom in sites:
                continue
            sites[atom] = Site(atom, rule, rule.pka + _amine_shift(mol, atom, rule, distance))
    return list(sites.values())


def _amine_shift(mol: Chem.Mol, atom: int, rule: PkaRule, distance) -> float:
    """Inductive lowering of an aliphatic amine's pKa by nearby electron-withdrawing atoms."""
    if "aliphatic amine" not in rule.name:
        return 0.0
    shift = 0.0
    for other in mol.GetAtoms():
        d = distance[atom, other.GetIdx()]
        symbol = other.GetSymbol()
        if d == 3 and symbol in ("N", "O", "F") and any(  # β substituent on an sp3 carbon:
                distance[atom, n.GetIdx()] == 2 and n.GetSymbol() == "C"  # morpholine, CH2CH2F
                and n.GetHybridization() == Chem.HybridizationType.SP3 for n in other.GetNeighbors()):
            shift -= BETA_HETEROATOM_SHIFT
        elif d == 2 and symbol in ("C", "S") and any(
                b.GetBondType() in (Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)
                and b.GetOtherAtom(other).GetSymbol() in ("O", "N") for b in other.GetBonds()):
            shift -= ALPHA_CARBONYL_SHIFT  # N–C–C(=O), N–C–C≡N, N–C–S(=O)
        elif d == 2 and other.GetIsAromatic():
            shift -= BENZYLIC_SHIFT
    return shift


def _margin(site: Site, pka: float, ph: float) -> float:
    return pka - ph if site.rule.kind == "base" else ph - pka


def choose_state(mol: Chem.Mol, ph: float = 7.4) -> tuple[Chem.Mol, list[str]]:
    """The most likely single protonation state of a neutral molecule at ``ph``.

    Parameters
    ----------
    mol
        Neutral molecule (no formal charges), hydrogens implicit.
    ph
        Target pH.

    Returns
    -------
    tuple of (rdkit.Chem.Mol, list of str)
        The chosen state (a new, sanitized molecule) and one line per ionized
        site (``"carboxylic acid O7 (pKa 4.2) deprotonated"``).
    """
    sites = find_sites(mol)
    distance = Chem.GetDistanceMatrix(mol)
    charged: list[tuple[Site, int]] = []  # (site, sign)
    remaining = list(sites)
    while remaining:
        best, best_margin, best_pka = None, 0.0, 0.0
        for site in remaining:
            sign = 1 if site.rule.kind == "base" else -1
            pka = site.pka
            for other, other_sign in charged:
                d = distance[site.atom, other.atom]
                if other_sign == sign:
                    shift = SAME_SIGN_PENALTY_NEAR if d <= 3 else SAME_SIGN_PENALTY_FAR if d <= 6 else 0.0
                else:
                    shift = -OPPOSITE_SIGN_BONUS if d <= 3 else 0.0
                pka += -shift if sign > 0 else shift
            margin = _margin(site, pka, ph)
            if margin > best_margin:
                best, best_margin, best_pka = site, margin, pka
        if best is None:
            break
        charged.append((best, 1 if best.rule.kind == "base" else -1))
        remaining.remove(best)
    state = Chem.RWMol(mol)
    notes = []
    for site, sign in charged:
        atom = state.GetAtomWithIdx(site.atom)
        hydrogens = atom.GetTotalNumHs()
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(hydrogens + (1 if sign > 0 else -1))
        atom.SetFormalCharge(sign)
        verb = "protonated" if sign > 0 else "deprotonated"
        notes.append(f"{site.rule.name} {atom.GetSymbol()}{site.atom} (pKa {site.pka:.1f}) {verb}")
    out = state.GetMol()
    Chem.SanitizeMol(out)
    return out, notes
