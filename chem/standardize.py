"""ChEMBL-style standardization of input structures (rdMolStandardize).

Per molecule: parse once, clean up (remove explicit H, disconnect metals from
O/N/halogens, normalize functional groups, reionize), keep the largest fragment
(strips salts and solvents), neutralize, optionally take the canonical tautomer.
Stereochemistry is kept, also through tautomer canonicalisation (RDKit's default
would flatten the stereocentres and double bonds a tautomer touches, merging
enantiomers and E/Z isomers into one key). The result is a canonical isomeric
SMILES and an InChIKey, the structure key used for deduplication, plus the names
of the steps that changed the structure (:data:`STEP_CHANGES`), so no rewrite is
silent.

Failures become :class:`moltwin.records.FailureRecord` rows with one of the
reason codes in :data:`REASON_CODES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import rdqueries
from rdkit.Chem.rdMolDescriptors import CalcMolFormula
from rdkit.Chem.MolStandardize import rdMolStandardize

from chem.settings import StandardizeSettings
from moltwin.errors import BadInputError, ChemistryError
from moltwin.records import FAILURE_COLUMNS, FailureRecord

STAGE = "standardize"
OK_COLUMNS = ["compound_id", "smiles", "inchikey", "input_smiles", "input_line", "standardization"]
#: step -> the change name recorded when that step rewrote the structure.
STEP_CHANGES = {
    "metal": "metal_disconnected",
    "normalizer": "normalized",
    "reionizer": "reionized",
    "largest": "fragments_removed",
    "uncharger": "neutralized",
    "tautomer": "tautomer_changed",
}
REASON_CODES = {
    "unreadable_record": "the input record could not be read (e.g. a broken SD record)",
    "unparsable_smiles": "RDKit cannot parse or sanitize the SMILES",
    "empty_molecule": "no heavy atoms",
    "too_large": "more heavy atoms than StandardizeSettings.max_heavy_atoms",
    "metal_or_radical": "metal complex, non-organic element or radical in the parent",
    "inorganic": "the parent structure has no carbon",
    "inchi_failed": "no InChIKey could be computed",
    "missing_id": "the row has no compound id",
    "duplicate_id": "the compound id was seen earlier in the input",
    "duplicate_structure": "same InChIKey as an earlier compound of the input",
    "already_registered": "the InChIKey is already registered",
}
# Elements allowed in a drug-like parent (ChEMBL's organic subset plus B, Si, Se).
ORGANIC_ELEMENTS = frozenset({1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 34, 35, 53})
# Metals that form salts rather than complexes; bonded to O/N they are disconnected.
SALT_METALS = frozenset({3, 11, 12, 19, 20, 37, 38, 55, 56})
NONMETALS = ORGANIC_ELEMENTS | {2, 10, 18, 33, 36, 52, 54, 86, 0}

@dataclass(frozen=True, slots=True)
class StandardizedMolecule:
    """The standardized form of one input structure.

    Attributes
    ----------
    smiles
        Canonical isomeric SMILES of the parent.
    inchikey
        Standard InChIKey of the parent (the structure key).
    input_smiles
        The SMILES as given.
    changes
        Names of the steps that rewrote the structure (values of :data:`STEP_CHANGES`).
    """

    smiles: str
    inchikey: str
    input_smiles: str
    changes: tuple[str, ...] = ()


@cache
def _tools(canonical_tautomer: bool) -> dict:
    """Standardizer objects built once per process (building them parses rule sets)."""
    tools = {
        "metal": rdMolStandardize.MetalDisconnector(),
        "normalizer": rdMolStandardize.Normalizer(),
        "reionizer": rdMolStandardize.Reionizer(),
        "largest": rdMolStandardize.LargestFragmentChooser(preferOrganic=True),
        "uncharger": rdMolStandardize.Uncharger(canonicalOrder=True),
    }
    if canonical_tautomer:
        params = rdMolStandardize.CleanupParameters()
        # Keep stereo: an enantiomer or E/Z isomer is a different compound to a chemist.
        params.tautomerRemoveSp3Stereo = False
        params.tautomerRemoveBondStereo = False
        tools["tautomer"] = rdMolStandardize.TautomerEnumerator(params)
    return tools


def parse_smiles(smiles: str) -> Chem.Mol:
    """Parse and sanitize a SMILES, raising ``ChemistryError('unparsable_smiles')``."""
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    if mol is None:
        raise ChemistryError("unparsable_smiles", f"SMILES syntax error in '{smiles}'")
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several sanitization exception types
        raise ChemistryError("unparsable_smiles", f"cannot sanitize '{smiles}': {exc}") from None
    # Parsing without sanitization skips stereo perception; without it the tautomer
    # enumerator sees unassigned double-bond stereo and drops it.
    Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    return mol


@cache
def _atom_queries() -> dict:
    """Element and radical checks as compiled queries: matching runs in C++, where a
    Python loop over atoms costs ~60 µs per molecule (a tenth of standardization)."""
    return {
        "non_organic": Chem.MolFromSmarts(
            "[" + ";".join(f"!#{z}" for z in sorted(ORGANIC_ELEMENTS)) + "]"),
        "bonded_metal": Chem.MolFromSmarts(
            "[" + ";".join(f"!#{z}" for z in sorted(NONMETALS | SALT_METALS)) + ";!D0]"),
        "carbon": Chem.MolFromSmarts("[#6]"),
        "radical": rdqueries.NumRadicalElectronsGreaterQueryAtom(0),
    }


def _largest_fragment_heavy_atoms(mol: Chem.Mol) -> int:
    frags = Chem.GetMolFrags(mol, asMols=False, sanitizeFrags=False)
    if len(frags) == 1:  # the common case: no salt, no solvent
        return mol.GetNumHeavyAtoms()
    return max(sum(mol.GetAtomWithIdx(i).GetAtomicNum() > 1 for i in atoms) for atoms in frags)


def _has_bonded_metal(mol: Chem.Mol) -> bool:
    """A metal other than an alkali/alkaline-earth salt metal that carries bonds."""
    return mol.HasSubstructMatch(_atom_queries()["bonded_metal"])


def standardize_mol(mol: Chem.Mol, settings: StandardizeSettings | None = None) -> Chem.Mol:
    """Standardize a sanitized molecule; returns a new molecule.

    Raises
    ------
    ChemistryError
        With reason ``empty_molecule``, ``too_large``, ``metal_or_radical`` or ``inorganic``.
    """
    return standardize_mol_traced(mol, settings)[0]


@cache
def _signature_queries() -> tuple:
    return Chem.MolFromSmarts("[!+0]"), Chem.MolFromSmarts("*=,#*")


def _signature(mol: Chem.Mol) -> tuple:
    """Cheap fingerprint of what a standardization step can change: the formula (atoms, Hs,
    net charge), bonds, charged atoms and multiple bonds.

    Order-independent (steps may renumber atoms), and computed in C++: a Python loop over
    atoms would cost more than the standardization itself on large molecules.
    """
    charged, multiple = _signature_queries()
    return (CalcMolFormula(mol), mol.GetNumBonds(),
            len(mol.GetSubstructMatches(charged, uniquify=True, maxMatches=100_000)),
            len(mol.GetSubstructMatches(multiple, uniquify=True, maxMatches=100_000)))


def standardize_mol_traced(mol: Chem.Mol, settings: StandardizeSettings | None = None
                           ) -> tuple[Chem.Mol, tuple[str, ...]]:
    """Standardize like :func:`standardize_mol` and name the steps that changed the structure.

    Returns
    -------
    mol, changes
        The standardized molecule and the :data:`STEP_CHANGES` names of the steps that
        rewrote it, in order (empty when the input was already standard).
    """
    settings = settings or StandardizeSettings()
    if mol.GetNumHeavyAtoms() == 0:
        raise ChemistryError("empty_molecule", "the structure has no heavy atoms")
    # Size check before the costly steps, on the largest fragment (salts do not count).
    n_heavy = _largest_fragment_heavy_atoms(mol)
    if n_heavy > settings.max_heavy_atoms:
        raise ChemistryError("too_large", f"{n_heavy} heavy atoms > {settings.max_heavy_atoms}")
    if _has_bonded_metal(mol):
        raise ChemistryError("metal_or_radical", "metal complex or organometallic compound")
    tools = _tools(settings.canonical_tautomer)
    out = Chem.RemoveHs(mol)
    steps = [("metal", tools["metal"].Disconnect), ("normalizer", tools["normalizer"].normalize),
             ("reionizer", tools["reionizer"].reionize)]
    if settings.keep_largest_fragment:
        steps.append(("largest", tools["largest"].choose))
    if settings.neutralize:
        steps.append(("uncharger", tools["uncharger"].uncharge))
    changes = []
    before = _signature(out)
    for name, step in steps:
        out = step(out)
        after = _signature(out)
        if after != before:
            changes.append(STEP_CHANGES[name])
        before = after
    if settings.canonical_tautomer:
        # Atom order may change here, so compare canonical SMILES rather than signatures.
        smiles_before = Chem.MolToSmiles(out)
        out = tools["tautomer"].Canonicalize(out)
        if Chem.MolToSmiles(out) != smiles_before:
            changes.append(STEP_CHANGES["tautomer"])
    Chem.AssignStereochemistry(out, cleanIt=True, force=True)
    queries = _atom_queries()
    if out.HasSubstructMatch(queries["non_organic"]):
        raise ChemistryError("metal_or_radical", "the parent contains a non-organic element")
    if out.GetAtomsMatchingQuery(queries["radical"]):
        raise ChemistryError("metal_or_radical", "the parent has unpaired electrons (radical)")
    if not out.HasSubstructMatch(queries["carbon"]):
        raise ChemistryError("inorganic", "the parent structure has no carbon")
    return out, tuple(changes)


def _key_of(mol: Chem.Mol) -> tuple[str, str]:
    smiles = Chem.MolToSmiles(mol)
    inchikey = Chem.MolToInchiKey(mol)
    if not inchikey:
        raise ChemistryError("inchi_failed", f"no InChIKey for '{smiles}'")
    return smiles, inchikey


def standardize_smiles(smiles: str, settings: StandardizeSettings | None = None
                       ) -> StandardizedMolecule:
    """Standardize one SMILES.

    Raises
    ------
    ChemistryError
        With one of the reason codes of :data:`REASON_CODES`.
    """
    with rdBase.BlockLogs():  # problems are raised as ChemistryError, not logged
        mol, changes = standardize_mol_traced(parse_smiles(smiles), settings)
        std_smiles, inchikey = _key_of(mol)
    return StandardizedMolecule(smiles=std_smiles, inchikey=inchikey, input_smiles=smiles,
                                changes=changes)


class StandardizeState:
    """What earlier batches have seen: ids and InChIKeys (for streaming dedup).

    ``check_structures=False`` lets repeated structures through (each under its own
    id), e.g. for benchmarks on a replicated library.
    """

    def __init__(self, registered_inchikeys: Iterable[str] | None = None, *,
                 check_structures: bool = True) -> None:
        self.registered = frozenset(registered_inchikeys or ())
        self.check_structures = check_structures
        self.seen_ids: set[str] = set()
        self.id_of_key: dict[str, str] = {}


def _fail(records: list[FailureRecord], code: str, message: str, cid, line,
          detail: str = "") -> None:
    records.append(FailureRecord(stage=STAGE, reason_code=code, message=message,
                                 compound_id=cid, input_line=line, detail=detail))


def standardize_records(df: pd.DataFrame, settings: StandardizeSettings | None = None,
                        state: StandardizeState | None = None
                        ) -> tuple[list[dict], list[Chem.Mol], list[FailureRecord]]:
    """Standardize a table, returning rows, their molecules and failures (in-process API).

    The molecules let a following step (filters) work without re-parsing; they
    must not leave the process. ``state`` carries dedup across batches.
    """
    missing = [c for c in ("compound_id", "smiles") if c not in df.columns]
    if missing:
        raise BadInputError(f"standardize needs columns {missing}", field=missing[0])
    settings = settings or StandardizeSettings()
    state = state or StandardizeState()
    extra = [c for c in df.columns if c not in OK_COLUMNS]
    has_line = "input_line" in df.columns
    rows: list[dict] = []
    mols: list[Chem.Mol] = []
    failures: list[FailureRecord] = []
    _quiet = rdBase.BlockLogs()  # noqa: F841 - RDKit messages become failure rows instead
    for rec in df.to_dict("records"):
        cid, smiles = rec["compound_id"], rec["smiles"]
        line = int(rec["input_line"]) if has_line and pd.notna(rec["input_line"]) else None
        cid = None if cid is None or (isinstance(cid, float) and cid != cid) else str(cid).strip()
        if not cid:
            _fail(failures, "missing_id", "the row has no compound id", None, line)
            continue
        if cid in state.seen_ids:
            _fail(failures, "duplicate_id", f"compound id {cid} appears earlier in the input",
                  cid, line)
            continue
        state.seen_ids.add(cid)
        if smiles is None or (isinstance(smiles, float) and smiles != smiles):
            _fail(failures, "unreadable_record", "the record holds no readable structure", cid, line)
            continue
        try:
            mol, changes = standardize_mol_traced(parse_smiles(str(smiles)), settings)
            std_smiles, key = _key_of(mol)
        except ChemistryError as exc:
            _fail(failures, exc.reason_code, str(exc), cid, line)
            continue
        except Exception as exc:  # an RDKit bug must not stop the batch
            failures.append(FailureRecord.from_exception(STAGE, exc, compound_id=cid,
                                                         input_line=line))
            continue
        if key in state.registered:
            _fail(failures, "already_registered", f"structure {key} is already registered",
                  cid, line, detail=f"inchikey={key}")
            continue
        if state.check_structures:
            if key in state.id_of_key:
                first = state.id_of_key[key]
                _fail(failures, "duplicate_structure",
                      f"same structure as {first} (InChIKey {key})", cid, line,
                      detail=f"duplicate_of={first}")
                continue
            state.id_of_key[key] = cid
        row = {"compound_id": cid, "smiles": std_smiles, "inchikey": key,
               "input_smiles": str(smiles), "input_line": line,
               "standardization": ";".join(changes)}
        row.update({c: rec[c] for c in extra})
        rows.append(row)
        mols.append(mol)
    return rows, mols, failures


def failures_frame(failures: list[FailureRecord]) -> pd.DataFrame:
    """FailureRecord list -> DataFrame with :data:`moltwin.records.FAILURE_COLUMNS`."""
    frame = pd.DataFrame([f.to_dict() for f in failures], columns=FAILURE_COLUMNS)
    frame["input_line"] = frame["input_line"].astype("Int64")
    return frame


def rows_frame(rows: list[dict], extra: list[str] | None = None) -> pd.DataFrame:
    """Standardized rows -> DataFrame with :data:`OK_COLUMNS` first."""
    columns = OK_COLUMNS + [c for c in (extra or []) if c not in OK_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns if not rows else None)
    frame = frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])
    frame["input_line"] = frame["input_line"].astype("Int64")
    return frame


def standardize_molecules(df: pd.DataFrame, settings: StandardizeSettings | None = None, *,
                          registered_inchikeys: Iterable[str] | None = None
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardize and deduplicate a table of molecules.

    Parameters
    ----------
    df
        Columns ``compound_id, smiles`` and optionally ``input_line``; other
        columns are carried through.
    settings
        Standardization options.
    registered_inchikeys
        Structure keys already in the twin; matches fail with ``already_registered``.

    Returns
    -------
    ok, failures
        ``ok`` has ``compound_id, smiles, inchikey, input_smiles, input_line,
        standardization`` (the ``;``-joined changes) and the extra columns; ``failures`` has the FailureRecord columns.
    """
    rows, _, failures = standardize_records(df, settings, StandardizeState(registered_inchikeys))
    return rows_frame(rows, list(df.columns)), failures_frame(failures)


def standardize_stream(batches: Iterable[pd.DataFrame], settings: StandardizeSettings | None = None,
                       *, registered_inchikeys: Iterable[str] | None = None
                       ) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Standardize batches one after another, deduplicating ids and structures across them."""
    state = StandardizeState(registered_inchikeys)
    for batch in batches:
        rows, _, failures = standardize_records(batch, settings, state)
        yield rows_frame(rows, list(batch.columns)), failures_frame(failures)
