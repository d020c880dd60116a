"""Merge the per-stage tables into one row per candidate compound."""

from __future__ import annotations

import pandas as pd

from moltwin.errors import BadInputError
from ranking.derive import resolve_activity

KEY = "compound_id"


def _checked(table: pd.DataFrame | None, name: str) -> pd.DataFrame | None:
    if table is None:
        return None
    if KEY not in table.columns:
        raise BadInputError(f"the {name} table has no '{KEY}' column", field=KEY)
    duplicated = table[KEY][table[KEY].duplicated()].unique()
    if len(duplicated):
        shown = ", ".join(map(str, duplicated[:5]))
        raise BadInputError(f"the {name} table has several rows for compound(s) {shown}; "
                            "aggregate them (e.g. replicates on the log scale) before ranking",
                            field=KEY)
    return table


def merge_candidate_table(candidates: pd.DataFrame,
                          filtered_props: pd.DataFrame | None = None,
                          predictions: pd.DataFrame | None = None,
                          measurements: pd.DataFrame | None = None,
                          simulations: pd.DataFrame | None = None,
                          *, default_measured_sd: float = 0.3) -> pd.DataFrame:
    """Left-join every stage's table onto the candidates by ``compound_id``.

    Parameters
    ----------
    candidates
        One row per compound: ``compound_id``, ``smiles``, ``inchikey``, ``origin``.
    filtered_props, predictions, measurements, simulations
        Stage outputs keyed by ``compound_id`` (one row per compound); ``None`` or a
        missing compound means the stage did not run for it, which leaves NaN.
        A column already present from an earlier table (e.g. ``smiles``) is kept from
        the earlier table.
    default_measured_sd
        pActivity SD assumed for a measurement that carries none.

    Returns
    -------
    pandas.DataFrame
        Same rows and order as ``candidates`` plus all stage columns and
        ``activity_p`` (measured if present else predicted), ``activity_sd``,
        ``activity_source`` (``"measured"``/``"predicted"``) and ``activity_qualifier``.
        Measured and predicted columns both stay.

    Raises
    ------
    BadInputError
        If a table lacks ``compound_id`` or has several rows for one compound.
    """
    merged = _checked(candidates, "candidates")
    assert merged is not None
    merged = merged.copy()
    for name, table in (("filtered properties", filtered_props), ("predictions", predictions),
                        ("measurements", measurements), ("simulations", simulations)):
        table = _checked(table, name)
        if table is None:
            continue
        new_columns = [KEY] + [c for c in table.columns if c not in merged.columns]
        merged = merged.merge(table[new_columns], on=KEY, how="left", validate="one_to_one")
    return resolve_activity(merged, default_measured_sd)
