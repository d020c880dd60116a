"""R-group enumeration around a core, and series decomposition into R groups.

A core carries numbered attachment points ``[*:1]``, ``[*:2]`` ...; each site
gets a list of fragment SMILES with exactly one attachment point (``[*]``,
``[*:n]`` or ``[n*]``). Products are built with :func:`rdkit.Chem.molzip`, which
keeps the stereochemistry of core and fragments. Reaction-based and analog
generators live in :mod:`chem.reactions` and :mod:`chem.analogs`;
:func:`generate_candidates` runs whichever :class:`GenerateSettings` asks for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml
from rdkit import Chem, rdBase
from rdkit.Chem import rdRGroupDecomposition

from chem.candidates import (CandidateCollector, GenerationResult, combination_indices,
                             provenance_json)
from chem.settings import GenerateSettings
from moltwin.errors import BadInputError, ChemistryError

log = logging.getLogger(__name__)
ORIGIN = "rgroup"


def core_sites(core_smiles: str) -> list[int]:
    """Attachment-site numbers of a core, sorted (``[*:1]`` -> 1)."""
    mol = Chem.MolFromSmiles(core_smiles)
    if mol is None:
        raise BadInputError(f"core SMILES does not parse: {core_smiles}", field="core_smiles")
    sites = sorted(a.GetAtomMapNum() for a in mol.GetAtoms()
                   if a.GetAtomicNum() == 0 and a.GetAtomMapNum() > 0)
    if not sites or len(sites) != len(set(sites)):
        raise BadInputError("core needs distinct numbered attachment points [*:1], [*:2] ...",
                            field="core_smiles")
    return sites


def fragment_mol(smiles: str, site: int) -> Chem.Mol:
    """Parse an attachment SMILES and label its single dummy atom with ``site``.

    Raises
    ------
    ChemistryError
        ``bad_fragment`` when the SMILES does not parse or has not exactly one ``*``.
    """
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ChemistryError("bad_fragment", f"fragment SMILES does not parse: {smiles}")
    dummies = [a for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if len(dummies) != 1:
        raise ChemistryError("bad_fragment",
                             f"fragment {smiles} has {len(dummies)} attachment points, needs 1")
    dummies[0].SetAtomMapNum(site)
    dummies[0].SetIsotope(0)
    return mol


def enumerate_rgroups(core_smiles: str, rgroups: Mapping[int, Sequence[str]], *,
                      max_candidates: int | None = None, seed: int = 0, prefix: str = "MT-",
                      exclude_smiles: Sequence[str] = ()) -> GenerationResult:
    """Combine a core with per-site fragment lists.

    Parameters
    ----------
    core_smiles
        Core with ``[*:1]``, ``[*:2]`` ...
    rgroups
        Site number -> fragment SMILES (one attachment point each).
    max_candidates
        Cap; when the full product is larger, a seeded random sample is taken.
    seed
        Seed of that sample.
    prefix
        Compound-id prefix.
    exclude_smiles
        Structures not to emit (e.g. the series itself).

    Returns
    -------
    GenerationResult
        ``origin='rgroup'``; provenance holds the core and the fragment per site.
        Bad fragments and unsanitizable products are failure rows.
    """
    sites = core_sites(core_smiles)
    missing = [s for s in sites if not rgroups.get(s)]
    extra = sorted(set(rgroups) - set(sites))
    if missing or extra:
        raise BadInputError(f"core sites {sites}: no fragments for {missing}, unknown sites "
                            f"{extra}", field="rgroups")
    collector = CandidateCollector(ORIGIN, max_candidates=max_candidates, prefix=prefix,
                                   exclude_smiles=exclude_smiles)
    core = Chem.MolFromSmiles(core_smiles)
    frags: list[list[tuple[str, Chem.Mol]]] = []
    for site in sites:
        ok = []
        for smi in dict.fromkeys(rgroups[site]):  # unique, order kept
            try:
                ok.append((smi, fragment_mol(smi, site)))
            except ChemistryError as exc:
                collector.fail(exc.reason_code, f"site {site}: {exc}",
                               provenance_json(core=core_smiles, site=site, fragment=smi))
        frags.append(ok)
    for combo in combination_indices([len(f) for f in frags], max_candidates, seed):
        if collector.full:
            break
        chosen = [frags[k][i] for k, i in enumerate(combo)]
        prov = provenance_json(method=ORIGIN, core=core_smiles,
                               rgroups={str(s): smi for s, (smi, _) in zip(sites, chosen)})
        combined = core
        for _, frag in chosen:
            combined = Chem.CombineMols(combined, frag)
        try:
            with rdBase.BlockLogs():  # the error becomes a failure row instead
                product = Chem.molzip(combined)  # sanitizes: valence errors surface here
        except Exception as exc:  # molzip raises plain RuntimeError/ValueError
            collector.fail("sanitization_failed", f"cannot join fragments: {exc}", prov)
            continue
        collector.add(product, prov)
    return collector.result()


def decompose_series(smiles_list: Sequence[str], core_smiles: str) -> dict[int, list[str]]:
    """R groups observed per site in a series (RDKit RGroupDecomposition).

    Parameters
    ----------
    smiles_list
        Series members; those not matching the core are skipped (logged).
    core_smiles
        Core with ``[*:1]``, ``[*:2]`` ...

    Returns
    -------
    dict
        Site -> unique R-group SMILES with ``[*:site]``, in order of first occurrence.
        Groups bridging two sites are left out.
    """
    sites = core_sites(core_smiles)
    mols = [m for m in (Chem.MolFromSmiles(s) for s in smiles_list) if m is not None]
    groups, unmatched = rdRGroupDecomposition.RGroupDecompose(
        [Chem.MolFromSmiles(core_smiles)], mols, asSmiles=True, asRows=False)
    if unmatched:
        log.info("decompose_series: %d molecules do not match the core", len(unmatched))
    out: dict[int, list[str]] = {}
    for site in sites:
        seen = out.setdefault(site, [])
        for smi in groups.get(f"R{site}", []):
            if smi and smi.count("*") == 1 and smi not in seen:
                seen.append(smi)
    return out


@cache
def _shipped_substituents() -> dict[int, tuple[str, ...]]:
    text = resources.files("chem.data").joinpath("substituents.yaml").read_text()
    sites = yaml.safe_load(text)["sites"]
    return {int(site): tuple(entry["fragments"].values()) for site, entry in sites.items()}


def load_substituents(path: str | Path | None = None) -> dict[int, list[str]]:
    """Fragment lists per site from a substituents YAML (default: the shipped one)."""
    if path is None:
        return {site: list(frags) for site, frags in _shipped_substituents().items()}
    try:
        sites = yaml.safe_load(Path(path).read_text())["sites"]
        return {int(s): list(e["fragments"].values()) for s, e in sites.items()}
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise BadInputError(f"cannot read substituents: {exc}", file=str(path)) from None


def read_fragment_file(path: str | Path) -> list[str]:
    """Fragment SMILES from a ``.smi`` file (first token per line) or a YAML list/mapping."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadInputError(f"cannot read fragments: {exc}", file=str(path)) from None
    if path.suffix.lower() in {".yaml", ".yml"}:
        data = yaml.safe_load(text)
        return list(data.values()) if isinstance(data, dict) else list(data or [])
    return [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def enumerate_series_analogs(series_smiles: Sequence[str], core_smiles: str,
                             extra_rgroups: Mapping[int, Sequence[str]] | None = None,
                             max_candidates: int = 300, seed: int = 0, *,
                             prefix: str = "MT-") -> pd.DataFrame:
    """Recombine a series' own R groups with extra fragments around its core.

    Parameters
    ----------
    series_smiles
        Known members of the series (decomposed, and excluded from the output).
    core_smiles
        Core with ``[*:n]`` sites, e.g. ``O=C(Nc1ccnc(NC(=O)[*:1])c1)[*:2]`` for Tyk2.
    extra_rgroups
        Site -> extra fragments; ``None`` uses the shipped substituents for the
        core's sites.
    max_candidates, seed
        Cap and seed of the sample when the product is larger.

    Returns
    -------
    pandas.DataFrame
        ``compound_id, smiles, origin, provenance``.
    """
    if extra_rgroups is None:
        extra_rgroups = load_substituents()
    observed = decompose_series(series_smiles, core_smiles)
    rgroups = {site: list(observed.get(site, [])) + list(extra_rgroups.get(site, []))
               for site in core_sites(core_smiles)}
    result = enumerate_rgroups(core_smiles, rgroups, max_candidates=max_candidates, seed=seed,
                               prefix=prefix, exclude_smiles=series_smiles)
    return result.candidates


def generate_candidates(settings: GenerateSettings, seeds: pd.DataFrame) -> GenerationResult:
    """Run the generators that ``settings`` switches on around ``seeds``.

    Parameters
    ----------
    settings
        R-group core and fragments, reactions with building-block files, analog methods.
    seeds
        The series: columns ``compound_id, smiles``.

    Returns
    -------
    GenerationResult
        Candidates of all generators (first occurrence of each structure wins),
        each capped at ``settings.max_candidates``.
    """
    from chem.analogs import brics_analogs, mutation_analogs
    from chem.io import read_molecules
    from chem.reactions import enumerate_reaction

    series = list(seeds["smiles"])
    results: list[GenerationResult] = []
    kw = {"max_candidates": settings.max_candidates, "seed": settings.seed,
          "prefix": settings.compound_id_prefix}
    if settings.core_smiles:
        sites = core_sites(settings.core_smiles)
        rgroups: dict[int, list[str]] = {s: [] for s in sites}
        if settings.use_series_rgroups:
            for s, frags in decompose_series(series, settings.core_smiles).items():
                rgroups[s] += frags
        if settings.use_shipped_substituents:
            for s, frags in load_substituents().items():
                if s in rgroups:
                    rgroups[s] += frags
        for s, frags in settings.rgroups.items():
            rgroups.setdefault(s, []).extend(frags)
        for s, path in settings.rgroup_files.items():
            rgroups.setdefault(s, []).extend(read_fragment_file(path))
        results.append(enumerate_rgroups(settings.core_smiles, rgroups,
                                         exclude_smiles=series, **kw))
    for name in settings.reactions:
        files = settings.building_block_files.get(name)
        if not files:
            raise BadInputError(f"reaction {name} needs building_block_files", field=name)
        blocks = [[(r.compound_id, r.smiles) for b in read_molecules(f)
                   for r in b.itertuples()] for f in files]
        results.append(enumerate_reaction(name, blocks, **kw))
    seed_rows = list(zip(seeds["compound_id"], series))
    if "brics" in settings.analog_methods:
        results.append(brics_analogs(seed_rows, min_similarity=settings.analog_min_similarity,
                                     max_depth=settings.brics_max_depth, **kw))
    if "mutation" in settings.analog_methods:
        results.append(mutation_analogs(seed_rows, min_similarity=settings.analog_min_similarity,
                                        **kw))
    return GenerationResult.concat(results)
