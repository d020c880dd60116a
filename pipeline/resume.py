"""Resume for the screen job: the cacheable stages, keyed on content, with or without Prefect.

``generate``, ``filter``, ``train_predict`` and ``admet`` are looked up in the stage cache
(:mod:`pipeline.stage_cache`) before they run; a hit copies their tables into the new run
folder and replays their store writes only where the store lacks them (registration and
the prediction ledger are idempotent). ``sync`` (a database read) and ``rank/report``
(run-specific outputs) are cheap and always run. Simulations are cached by
:mod:`simulation.run` in content-keyed run directories (finished runs reused, killed runs
resumed from their checkpoint) and :mod:`simulation.cached_failures` reuses *deterministic*
chemistry failures, so a re-run does not pose a ligand that cannot be posed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from moltwin.provenance import stable_hash
from pipeline.stage_cache import (CacheEntry, StageSpec, find_entry, restore_entry, save_entry,
                                 stage_key)

log = logging.getLogger(__name__)

GENERATE = StageSpec(
    "generate", inputs=("measured",), outputs=("candidates", "failures_generate"),
    settings=lambda c: {"generate": c.generate, "core": c.target.core_smiles})
FILTER = StageSpec(
    "filter", inputs=("candidates", "measured"),
    outputs=("filter_kept", "filter_rejected", "funnel", "failures_filter", "measured_properties"),
    settings=lambda c: {"filter": c.filter, "standardize": c.standardize})
TRAIN_PREDICT = StageSpec(
    "train_predict", inputs=("measured", "filter_kept"), outputs=("predictions",),
    settings=lambda c: {"model": c.model},
    libraries=("rdkit", "numpy", "pandas", "scikit-learn", "scipy"))

ADMET = StageSpec(
    "admet", inputs=("filter_kept", "measured_properties"), outputs=("admet",),
    settings=lambda c: {"admet": c.admet},
    libraries=("rdkit", "numpy", "pandas", "admet-ai", "chemprop", "torch"))



def _run_cached(ctx, spec: StageSpec, compute: Callable, *, accept=None, on_hit=None,
                variant: str = "_", meta: dict | None = None, keep: Callable[[dict], bool] | None = None
                ) -> dict:
    key = stage_key(spec, ctx.path, ctx.config)
    entry = find_entry(spec, key, accept)
    if entry is not None:
        result = restore_entry(entry, ctx.path)
        if on_hit is not None:
            on_hit(entry)
        log.info("stage %s: reused cached result %s", spec.name, key[:16])
        return result
    result = compute(ctx)
    if keep is None or keep(result):
        save_entry(spec, key, ctx.path, result, variant=variant, meta=meta)
    return {**result, "cache": "miss", "cache_key": key[:16]}


def cached_generate(ctx) -> dict:
    """:func:`pipeline.stages.stage_generate`, reused when measured series and settings match."""
    from pipeline import stages

    return _run_cached(ctx, GENERATE, stages.stage_generate)


def _registry(ctx) -> pd.DataFrame:
    from lab_sync.store import open_store

    reg = open_store(ctx.db_url).read_table("compounds", ctx.config.project)
    return reg[["compound_id", "canonical_smiles", "inchikey"]]


def registry_digest(registry: pd.DataFrame) -> str:
    """Hash of the registry's structures (order-free): what the filter deduplicates against."""
    rows = sorted(zip(registry["compound_id"].astype(str), registry["canonical_smiles"],
                      registry["inchikey"]))
    return stable_hash(rows)


def cached_filter(ctx, compute: Callable | None = None) -> dict:
    """Standardize/dedup/filter, reused when candidates, settings and the registry match.

    The filter deduplicates against the registry, and then registers its survivors, so
    a killed run leaves the registry holding them. An entry is therefore valid when the
    registry *minus what that entry itself registered* equals the registry it saw.

    Parameters
    ----------
    compute
        How to compute on a miss (default :func:`pipeline.stages.stage_filter`; the Prefect
        flow passes its chunked fan-out, which gives the same tables).
    """
    from pipeline import stages

    before = _registry(ctx)

    def accept(entry: CacheEntry) -> bool:
        kept = pd.read_parquet(entry.path / "filter_kept.parquet", columns=["inchikey"]) \
            if (entry.path / "filter_kept.parquet").is_file() else pd.DataFrame({"inchikey": []})
        others = before[~before["inchikey"].isin(set(kept["inchikey"]))]
        return registry_digest(others) == entry.meta.get("registry_before")

    def on_hit(entry: CacheEntry) -> None:  # the killed run may not have committed it
        from lab_sync.store import open_store

        kept = pd.read_parquet(ctx.path / "filter_kept.parquet")
        if len(kept):
            open_store(ctx.db_url).register_compounds(ctx.config.project, kept.to_dict("records"))

    digest = registry_digest(before)
    return _run_cached(ctx, FILTER, compute or stages.stage_filter, accept=accept, on_hit=on_hit,
                       variant=digest[:16], meta={"registry_before": digest})


def cached_train_predict(ctx) -> dict:
    """Train + predict, reused when the training data, the pool and the model settings match.

    On a hit the model and its predictions are added to the store only where missing
    (a fresh database next to an old cache), never twice.
    """
    from pipeline import stages
    from moltwin.paths import models_dir

    def accept(entry: CacheEntry) -> bool:  # the model file must still be in the registry
        return (models_dir() / str(entry.result.get("model_id", ""))).is_dir()

    def on_hit(entry: CacheEntry) -> None:
        from lab_sync.store import open_store
        from lab_sync.twin_records import record_model, record_predictions

        cfg, store, model_id = ctx.config, open_store(ctx.db_url), entry.result["model_id"]
        if store.read_table("models", model_id=model_id).empty:
            from chem.models.registry import load_model  # scikit-learn: import only when needed

            model = load_model(models_dir(), model_id)
            record_model(store, cfg.project, model, str(models_dir() / model_id), cfg.model.model_dump_json())
        if store.read_table("predictions", cfg.project, model_id=model_id).empty:
            preds = pd.read_parquet(ctx.path / "predictions.parquet")
            record_predictions(store, cfg.project, preds, model_id, ctx.run_id)

    return _run_cached(ctx, TRAIN_PREDICT, stages.stage_train_predict, accept=accept, on_hit=on_hit)


def cached_admet(ctx) -> dict:
    """:func:`pipeline.stages.stage_admet`, reused when the compounds and ADMET settings match.

    A run where admet-ai could not predict (no numbers, only a note) is not stored: the
    next run tries again.
    """
    from pipeline import stages

    def on_hit(entry: CacheEntry) -> None:
        (ctx.path / "admet_note.txt").write_text(str(entry.result.get("note", "")))

    return _run_cached(ctx, ADMET, stages.stage_admet, on_hit=on_hit,
                       keep=lambda result: result.get("n_admet", 0) > 0)
