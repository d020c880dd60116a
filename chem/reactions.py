"""Reaction-based enumeration: reaction SMARTS x building-block lists.

A small library of robust med-chem reactions ships in ``chem/data/reactions.yaml``
(amide coupling, reductive amination, Suzuki, Buchwald-Hartwig, SNAr, sulfonamide,
urea). Building blocks that lack the reacting group are reported as failure rows
(``no_reactive_group``); so are products that fail sanitization
(``sanitization_failed``). Every product row names the reaction and the
building blocks in its provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from rdkit import Chem
from rdkit.Chem import rdChemReactions

from chem.candidates import CandidateCollector, GenerationResult, combination_indices, provenance_json
from moltwin.errors import BadInputError

ORIGIN = "reaction"
BuildingBlock = str | tuple[str, str]  # SMILES, or (id, SMILES)


@dataclass(frozen=True)
class ReactionTemplate:
    """One named reaction.

    Attributes
    ----------
    name
        Short name, e.g. ``amide_coupling``.
    smarts
        RDKit reaction SMARTS with a single product.
    reactants
        Role of each reactant, in SMARTS order.
    description
        One line for people.
    """

    name: str
    smarts: str
    reactants: tuple[str, ...] = ()
    description: str = ""

    def compile(self) -> rdChemReactions.ChemicalReaction:
        """The initialized RDKit reaction (raises BadInputError for bad SMARTS)."""
        try:
            rxn = rdChemReactions.ReactionFromSmarts(self.smarts)
            rxn.Initialize()
        except Exception as exc:  # RDKit raises ValueError or RuntimeError
            raise BadInputError(f"reaction {self.name}: invalid SMARTS ({exc})",
                                field="smarts") from None
        if rxn.GetNumProductTemplates() != 1:
            raise BadInputError(f"reaction {self.name} must have exactly one product",
                                field="smarts")
        return rxn


@cache
def load_reactions() -> dict[str, ReactionTemplate]:
    """The shipped reaction library, by name."""
    text = resources.files("chem.data").joinpath("reactions.yaml").read_text()
    entries = yaml.safe_load(text)["reactions"]
    return {name: ReactionTemplate(name=name, smarts=e["smarts"],
                                   reactants=tuple(e.get("reactants", ())),
                                   description=e.get("description", ""))
            for name, e in entries.items()}


def _template(reaction: str | ReactionTemplate) -> ReactionTemplate:
    if isinstance(reaction, ReactionTemplate):
        return reaction
    library = load_reactions()
    if reaction in library:
        return library[reaction]
    if ">>" in reaction:
        return ReactionTemplate(name="custom", smarts=reaction)
    raise BadInputError(f"unknown reaction '{reaction}'; known: {sorted(library)}",
                        field="reactions")


def _fix_reacting_hydrogens(product: Chem.Mol) -> None:
    """Let RDKit recompute H counts on atoms whose degree the reaction changed.

    Bracket atoms such as ``[NH2]`` or ``[nH]`` keep their explicit H count
    through ``RunReactants``; once the atom gains a bond that count is one too
    many, so it is cleared and left to valence perception (chiral atoms excepted).
    """
    for atom in product.GetAtoms():
        if atom.HasProp("_ReactionDegreeChanged") and atom.GetChiralTag() == \
                Chem.ChiralType.CHI_UNSPECIFIED and atom.GetNumExplicitHs():
            atom.SetNumExplicitHs(0)
            atom.SetNoImplicit(False)


def enumerate_reaction(reaction: str | ReactionTemplate,
                       building_blocks: Sequence[Sequence[BuildingBlock]], *,
                       max_candidates: int | None = None, seed: int = 0, prefix: str = "MT-",
                       max_products_per_combination: int = 4) -> GenerationResult:
    """Run a reaction over all (or a seeded sample of) building-block combinations.

    Parameters
    ----------
    reaction
        A shipped reaction name, a :class:`ReactionTemplate` or a reaction SMARTS.
    building_blocks
        One list per reactant, in SMARTS order; items are SMILES or ``(id, SMILES)``.
    max_candidates, seed
        Cap, and seed of the combination sample when the product is larger.
    prefix
        Compound-id prefix.
    max_products_per_combination
        A building block with several reacting sites gives several products;
        at most this many unique ones are kept per combination.

    Returns
    -------
    GenerationResult
        ``origin='reaction'``; provenance has the reaction name and SMARTS and the
        building blocks (ids and SMILES).
    """
    template = _template(reaction)
    rxn = template.compile()
    n_reactants = rxn.GetNumReactantTemplates()
    if len(building_blocks) != n_reactants:
        raise BadInputError(f"reaction {template.name} takes {n_reactants} reactant lists, got "
                            f"{len(building_blocks)}", field="building_blocks")
    collector = CandidateCollector(ORIGIN, max_candidates=max_candidates, prefix=prefix)
    lists: list[list[tuple[str, str, Chem.Mol]]] = []
    for position, blocks in enumerate(building_blocks):
        query = rxn.GetReactantTemplate(position)
        usable = []
        for item in blocks:
            bb_id, smi = (item, item) if isinstance(item, str) else (str(item[0]), item[1])
            mol = Chem.MolFromSmiles(smi)
            prov = provenance_json(reaction=template.name, reactant=position + 1, smiles=smi,
                                   id=bb_id)
            if mol is None:
                collector.fail("unparsable_smiles", f"building block {bb_id} does not parse", prov)
            elif not mol.HasSubstructMatch(query):
                collector.fail("no_reactive_group", f"building block {bb_id} has no "
                               f"{(template.reactants or ['reactant'] * n_reactants)[position]} "
                               f"group for {template.name}", prov)
            else:
                usable.append((bb_id, smi, mol))
        lists.append(usable)
    for combo in combination_indices([len(x) for x in lists], max_candidates, seed):
        if collector.full:
            break
        chosen = [lists[k][i] for k, i in enumerate(combo)]
        prov = provenance_json(method=ORIGIN, reaction=template.name, smarts=template.smarts,
                               reactant_ids=[c[0] for c in chosen],
                               reactants=[c[1] for c in chosen])
        seen: set[str] = set()
        for products in rxn.RunReactants(tuple(c[2] for c in chosen)):
            product = products[0]
            key = Chem.MolToSmiles(product)  # cheap pre-dedup of symmetric outcomes
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > max_products_per_combination:
                break
            _fix_reacting_hydrogens(product)
            collector.add(product, prov)
    return collector.result()


def shipped_reaction_names() -> list[str]:
    """Names of the reactions in ``chem/data/reactions.yaml``."""
    return list(load_reactions())
