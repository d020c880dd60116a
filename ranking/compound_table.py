"""One row per compound of a project, for browsing: identity, latest decision, measurement, prediction, properties.

The twin store keeps these facts in several tables (compounds, rankings, measurements,
predictions); the web grid needs them side by side for 100 k compounds, sorted and
filtered in well under a second. :func:`build_compound_table` joins them once; the
molecular properties (the slow part: one RDKit parse per compound) come from a cache
keyed by InChIKey that callers keep between builds (:func:`compute_grid_properties`).
:func:`store_state` is a cheap fingerprint of the project's rows, so a caller knows when
the joined table is stale. Filtering, sorting and paging are in :mod:`ranking.grid_query`.
"""

from __future__ import annotations

import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors
from sqlalchemy import func, select

from lab_sync import schema
from lab_sync.store import TwinStore
from lab_sync.twin_records import series_activities

#: Molecular properties shown in the grid (cheap ones: no QED/SA, which cost 10x more).
PROPERTY_COLUMNS = ["mw_da", "clogp", "tpsa_a2", "hbd", "hba", "rotatable_bonds", "heavy_atoms"]
#: Every column of the grid table, in display order.
TABLE_COLUMNS = ["compound_id", "smiles", "inchikey", "origin", "decision", "stage", "rank", "score",
                 "p_clear_gates", "measured_qualifier", "measured_p_activity", "n_replicates",
                 "pred_p_activity", "pred_lower_80", "pred_upper_80", "in_domain", *PROPERTY_COLUMNS]


def store_state(store: TwinStore, project: str) -> tuple:
    """A cheap fingerprint of the store that changes whenever a row that the table shows is added or replaced.

    Largest row ids (read from the primary-key index: no scan, whatever the size) of the tables that
    only grow, plus the number of uploads and of superseded ones (a supersede flips ``active`` on old
    measurements and always comes with a new upload). Store-wide rather than per project, so any
    project's change refreshes every project's table: a few ms on 100 k rows instead of 100+ ms of
    per-project counts.
    """
    del project  # see above: the state is store-wide on purpose
    with store.engine.connect() as conn:
        parts = [conn.execute(select(func.max(t.c.id))).scalar()
                 for t in (schema.compounds, schema.measurements, schema.predictions, schema.rankings)]
        u = schema.uploads
        parts.append(tuple(conn.execute(select(func.count(), func.count(u.c.superseded_by))).one()))
    return tuple(parts)


def grid_properties(smiles: str) -> dict[str, float]:
    """The :data:`PROPERTY_COLUMNS` of one SMILES (NaN where it does not parse)."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None:
        return {c: float("nan") for c in PROPERTY_COLUMNS}
    return {"mw_da": Descriptors.MolWt(mol), "clogp": Crippen.MolLogP(mol),
            "tpsa_a2": rdMolDescriptors.CalcTPSA(mol), "hbd": rdMolDescriptors.CalcNumLipinskiHBD(mol),
            "hba": rdMolDescriptors.CalcNumLipinskiHBA(mol),
            "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(
                mol, rdMolDescriptors.NumRotatableBondsOptions.Strict),
            "heavy_atoms": mol.GetNumHeavyAtoms()}


def compute_grid_properties(compounds: pd.DataFrame, known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Properties per InChIKey for ``compounds`` (``inchikey, smiles``), reusing rows of ``known``.

    Returns ``inchikey`` + :data:`PROPERTY_COLUMNS` for every compound (``known`` rows first).
    """
    known = known if known is not None and len(known) else pd.DataFrame(columns=["inchikey", *PROPERTY_COLUMNS])
    known_keys = set(known["inchikey"].astype(str))
    todo = compounds[[k not in known_keys for k in compounds["inchikey"]]].drop_duplicates("inchikey")
    if todo.empty:
        return known
    fresh = pd.DataFrame([grid_properties(s) for s in todo["smiles"]], columns=PROPERTY_COLUMNS)
    fresh.insert(0, "inchikey", todo["inchikey"].to_numpy())
    return pd.concat([known, fresh], ignore_index=True) if len(known) else fresh


def latest_ranked_run(store: TwinStore, project: str) -> str | None:
    """The run whose ranking was stored last for ``project`` (None before the first ranking)."""
    t = schema.rankings
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.run_id).where(t.c.project == project)
                            .order_by(t.c.id.desc()).limit(1)).scalar()


def latest_predictions(store: TwinStore, project: str) -> pd.DataFrame:
    """The newest ledger prediction of each compound (``compound_id, pred_*, in_domain``)."""
    t = schema.predictions
    newest = select(func.max(t.c.id)).where(t.c.project == project).group_by(t.c.compound_id)
    stmt = select(t.c.compound_id, t.c.value, t.c.lower_80, t.c.upper_80, t.c.in_domain).where(t.c.id.in_(newest))
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).fetchall()]
    return pd.DataFrame(rows, columns=["compound_id", "pred_p_activity", "pred_lower_80", "pred_upper_80",
                                       "in_domain"])


def _rankings(store: TwinStore, project: str) -> pd.DataFrame:
    run_id = latest_ranked_run(store, project)
    cols = ["compound_id", "decision", "stage", "rank", "score", "p_clear_gates"]
    if run_id is None:
        return pd.DataFrame(columns=cols)
    t = schema.rankings
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(*(t.c[c] for c in cols)).where(t.c.run_id == run_id)).fetchall()]
    return pd.DataFrame(rows, columns=cols)


def build_compound_table(store: TwinStore, project: str, properties: pd.DataFrame | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The grid table of ``project`` and the (possibly extended) property cache.

    Parameters
    ----------
    properties
        A previous property cache (``inchikey`` + :data:`PROPERTY_COLUMNS`), or None.

    Returns
    -------
    (table, properties)
        ``table`` has :data:`TABLE_COLUMNS`, one row per registered compound, in registration
        order. ``decision``/``stage`` are "" for compounds the latest ranking did not include;
        measured values are the aggregated primary-assay activity (active rows only).
    """
    t = schema.compounds
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.compound_id, t.c.canonical_smiles, t.c.inchikey, t.c.origin)
                            .where(t.c.project == project).order_by(t.c.id)).fetchall()
        rows = [tuple(r) for r in rows]
    table = pd.DataFrame(rows, columns=["compound_id", "smiles", "inchikey", "origin"])
    properties = compute_grid_properties(table, properties)
    table = table.merge(properties, on="inchikey", how="left")
    table = table.merge(_rankings(store, project), on="compound_id", how="left")
    table[["decision", "stage"]] = table[["decision", "stage"]].fillna("")
    activities, _ = series_activities(store, project, with_smiles=False)
    if len(activities):
        meas = activities.rename(columns={"p_qualifier": "measured_qualifier", "p_activity": "measured_p_activity"})
        table = table.merge(meas[["compound_id", "measured_qualifier", "measured_p_activity", "n_replicates"]],
                            on="compound_id", how="left")
    else:
        table = table.assign(measured_qualifier=None, measured_p_activity=float("nan"), n_replicates=float("nan"))
    table["measured_qualifier"] = table["measured_qualifier"].fillna("")
    table = table.merge(latest_predictions(store, project), on="compound_id", how="left")
    for col in ("rank", "score", "p_clear_gates", "measured_p_activity", "n_replicates", "pred_p_activity",
                "pred_lower_80", "pred_upper_80", *PROPERTY_COLUMNS):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    return table[TABLE_COLUMNS].reset_index(drop=True), properties
