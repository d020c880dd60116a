"""Property, rule-based, alert and novelty filters with a rejection funnel.

Every rule is evaluated for every molecule, so a rejected row lists *all* the
rules it breaks (``reasons``, e.g. ``"mw 612.3 > 550; PAINS: ene_one_ene_A"``).
The funnel counts each molecule once, at the first rule in :data:`RULE_ORDER`
that rejects it, so its ``n_out`` column reads as a sequential funnel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

from chem.featurize import bulk_tanimoto, morgan_bitvects
from chem.properties import ALERT_FAMILIES, PROPERTY_COLUMNS, compute_properties, find_alerts, match_smarts
from chem.settings import FilterSettings, Window

# (settings field / column, label used in reasons)
WINDOW_RULES = [("mw_da", "mw"), ("clogp", "clogp"), ("tpsa_a2", "tpsa"), ("hbd", "hbd"),
                ("hba", "hba"), ("rotatable_bonds", "rotatable_bonds"),
                ("heavy_atoms", "heavy_atoms"), ("formal_charge", "formal_charge")]
ALERT_STEPS = {"PAINS": "alerts_pains", "Brenk": "alerts_brenk", "NIH": "alerts_nih"}
RULE_ORDER = (["parse"] + [f for f, _ in WINDOW_RULES]
              + ["lipinski", "veber", "qed", "sa_score", "alerts_pains", "alerts_brenk",
                 "alerts_nih", "user_smarts", "novelty"])
# Lipinski, Adv Drug Deliv Rev 1997, 23, 3: MW 500, logP 5, HBD 5, HBA 10.
LIPINSKI_LIMITS = [("mw_da", "mw", 500.0), ("clogp", "clogp", 5.0), ("hbd", "hbd", 5),
                   ("hba", "hba", 10)]
# Veber et al., J Med Chem 2002, 45, 2615: <= 10 rotatable bonds and PSA <= 140 Å².
VEBER_LIMITS = [("rotatable_bonds", "rotatable_bonds", 10), ("tpsa_a2", "tpsa", 140.0)]
FUNNEL_COLUMNS = ["step", "n_in", "n_rejected", "n_out"]


@dataclass
class FilterResult:
    """Outcome of :func:`apply_filters`.

    Attributes
    ----------
    kept
        Input columns + :data:`chem.properties.PROPERTY_COLUMNS` (+ ``max_tanimoto_known``).
    rejected
        The same columns + ``rejected_by`` (first failing step) + ``reasons``.
    funnel
        ``step, n_in, n_rejected, n_out`` in :data:`RULE_ORDER` (enabled steps only).
    """

    kept: pd.DataFrame
    rejected: pd.DataFrame
    funnel: pd.DataFrame


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}" \
        if abs(value) < 10 else f"{value:.1f}"


def _window_reason(label: str, value: float, window: Window) -> str | None:
    if window.min is not None and value < window.min:
        return f"{label} {_fmt(value)} < {window.min:g}"
    if window.max is not None and value > window.max:
        return f"{label} {_fmt(value)} > {window.max:g}"
    return None


def enabled_steps(settings: FilterSettings, novelty: bool) -> list[str]:
    """The steps of :data:`RULE_ORDER` that ``settings`` switches on."""
    on = {"parse"}
    on.update(f for f, _ in WINDOW_RULES
              if getattr(settings, f).min is not None or getattr(settings, f).max is not None)
    if settings.lipinski_max_violations is not None:
        on.add("lipinski")
    if settings.veber:
        on.add("veber")
    if settings.qed_min is not None:
        on.add("qed")
    if settings.sa_score_max is not None:
        on.add("sa_score")
    on.update(ALERT_STEPS[ALERT_FAMILIES[c]] for c in settings.alert_catalogs)
    if settings.user_alerts_smarts:
        on.add("user_smarts")
    if novelty:
        on.add("novelty")
    return [s for s in RULE_ORDER if s in on]


def evaluate_mol(mol: Chem.Mol, settings: FilterSettings, known_fps=None,
                 known_ids: Sequence[str] = ()) -> tuple[dict, list[tuple[str, str]]]:
    """Properties of one molecule and every ``(step, reason)`` it violates."""
    props: dict = compute_properties(mol)
    reasons: list[tuple[str, str]] = []
    for field, label in WINDOW_RULES:
        why = _window_reason(label, props[field], getattr(settings, field))
        if why:
            reasons.append((field, why))
    if settings.lipinski_max_violations is not None:
        broken = [f"{label} {_fmt(props[f])} > {lim:g}" for f, label, lim in LIPINSKI_LIMITS
                  if props[f] > lim]
        if len(broken) > settings.lipinski_max_violations:
            reasons.append(("lipinski", f"lipinski {len(broken)} violations > "
                            f"{settings.lipinski_max_violations} ({', '.join(broken)})"))
    if settings.veber:
        reasons.extend(("veber", f"veber: {label} {_fmt(props[f])} > {lim:g}")
                       for f, label, lim in VEBER_LIMITS if props[f] > lim)
    if settings.qed_min is not None and props["qed"] < settings.qed_min:
        reasons.append(("qed", f"qed {props['qed']:.2f} < {settings.qed_min:g}"))
    if settings.sa_score_max is not None and props["sa_score"] > settings.sa_score_max:
        reasons.append(("sa_score", f"sa_score {props['sa_score']:.2f} > {settings.sa_score_max:g}"))
    for catalog, description in find_alerts(mol, settings.alert_catalogs):
        family = ALERT_FAMILIES[catalog]
        reasons.append((ALERT_STEPS[family], f"{family}: {description}"))
    for name in match_smarts(mol, settings.user_alerts_smarts):
        reasons.append(("user_smarts", f"SMARTS: {name}"))
    if known_fps is not None:
        best = 0.0
        if len(known_fps):
            fp = morgan_bitvects([mol], radius=settings.novelty_radius,
                                 n_bits=settings.novelty_n_bits)[0]
            sims = bulk_tanimoto(fp, known_fps)
            arg = int(np.argmax(sims))
            best = float(sims[arg])
        props["max_tanimoto_known"] = best
        limit = settings.novelty_max_tanimoto
        if limit is not None and best > limit:
            reasons.append(("novelty", f"novelty: max Tanimoto {best:.2f} > {limit:g} "
                            f"(nearest known {known_ids[arg]})"))
    return props, reasons


@lru_cache(maxsize=4)
def _known_fingerprints(known: tuple[tuple[str, str], ...], radius: int, n_bits: int):
    """Fingerprints of the known compounds, cached per process (chunks reuse them)."""
    ids, fps = [], []
    for known_id, smi in known:
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            ids.append(known_id)
            fps.append(morgan_bitvects([mol], radius=radius, n_bits=n_bits)[0])
    return tuple(ids), fps


def known_pairs(known_smiles: Sequence[str] | Mapping[str, str] | None
                ) -> tuple[tuple[str, str], ...] | None:
    """Known compounds as hashable ``(id, SMILES)`` pairs (ids default to positions)."""
    if known_smiles is None:
        return None
    if isinstance(known_smiles, Mapping):
        return tuple((str(k), v) for k, v in known_smiles.items())
    return tuple((f"#{i}", s) for i, s in enumerate(known_smiles))


def apply_filters(df: pd.DataFrame, settings: FilterSettings | None = None,
                  known_smiles: Sequence[str] | Mapping[str, str] | None = None, *,
                  mols: Sequence[Chem.Mol] | None = None) -> FilterResult:
    """Compute properties and apply every enabled rule.

    Parameters
    ----------
    df
        Candidates with a ``smiles`` column (other columns are carried through).
    settings
        Windows, rules, alert catalogs, user SMARTS, novelty limit.
    known_smiles
        Known compounds (SMILES list, or id -> SMILES) for the novelty rule and the
        ``max_tanimoto_known`` column.
    mols
        Already-parsed molecules aligned with ``df`` rows, to skip re-parsing.

    Returns
    -------
    FilterResult
    """
    settings = settings or FilterSettings()
    df = df.reset_index(drop=True)
    known = known_pairs(known_smiles)
    novelty = known is not None or settings.novelty_max_tanimoto is not None
    known_ids, known_fps = (), None
    if novelty:
        known_ids, known_fps = _known_fingerprints(known or (), settings.novelty_radius,
                                                   settings.novelty_n_bits)
    steps = enabled_steps(settings, settings.novelty_max_tanimoto is not None)
    records = df.to_dict("records")
    prop_rows, first_step, reason_text = [], [], []
    with rdBase.BlockLogs():
        for i, rec in enumerate(records):
            mol = mols[i] if mols is not None else Chem.MolFromSmiles(str(rec["smiles"]))
            if mol is None:
                prop_rows.append({})
                first_step.append("parse")
                reason_text.append(f"unparsable SMILES {rec['smiles']}")
                continue
            props, reasons = evaluate_mol(mol, settings, known_fps, known_ids)
            prop_rows.append(props)
            failed = {step for step, _ in reasons}
            first_step.append(next((s for s in steps if s in failed), None))
            reason_text.append("; ".join(r for _, r in reasons))
    columns = PROPERTY_COLUMNS + (["max_tanimoto_known"] if novelty else [])
    props_df = pd.DataFrame(prop_rows, columns=columns, index=df.index)
    full = pd.concat([df, props_df.drop(columns=[c for c in columns if c in df.columns])], axis=1)
    is_rejected = np.array([s is not None for s in first_step], dtype=bool)
    rejected = full[is_rejected].copy()
    rejected["rejected_by"] = [s for s in first_step if s is not None]
    rejected["reasons"] = [r for r, s in zip(reason_text, first_step) if s is not None]
    return FilterResult(kept=full[~is_rejected].reset_index(drop=True),
                        rejected=rejected.reset_index(drop=True),
                        funnel=funnel_table(len(df), rejected["rejected_by"], steps))


def funnel_table(n_input: int, rejected_by: Sequence[str], steps: Sequence[str]) -> pd.DataFrame:
    """``step, n_in, n_rejected, n_out`` from each rejected molecule's first failing step."""
    counts = pd.Series(list(rejected_by), dtype=object).value_counts()
    rows, n = [], n_input
    for step in steps:
        k = int(counts.get(step, 0))
        rows.append({"step": step, "n_in": n, "n_rejected": k, "n_out": n - k})
        n -= k
    return pd.DataFrame(rows, columns=FUNNEL_COLUMNS)
