"""The ``sync_assays`` job as plain functions: after an upload, bring the twin up to date.

Order: retrain the project's activity model on all active measurements, re-predict every
registered compound (each prediction goes into the ledger), score the ledger, predict ADMET
as a full run does, re-rank with the properties and simulations the twin already holds, propose the next batch, write a new
report folder ``results/<sync-run-id>/`` and say what changed in the ranking since the
previous run. The screen stages of :mod:`pipeline.stages` do the training, ranking and
report; this module only prepares their input tables from the store.

Settings (target, model, filter, rank) come from the project's latest run unless a config is
given. A project without either (its first upload) starts its twin from the *starter* settings
(:func:`starter_config`): the target, core and protein it was created with, and the defaults.
With a core and a protein that first update is a full screen (generation, MD of the top
candidates); otherwise it trains the activity model on the measurements, starts the prediction
ledger and ranks the measured compounds. Without measurements to train on, the sync scores the
ledger and stops with a note. Syncs of one project
are serialized (:func:`project_sync_lock`), so the last sync to finish has seen every upload
committed before it started.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from lab_sync.store import TwinStore, open_store
from moltwin import progress
from moltwin.errors import ConfigError, ModelError, StoreError
from pipeline import stages
from pipeline.config import RunConfig
from pipeline.run_context import RunContext, begin_run, completed_runs, finish_run, previous_ranked_run
from moltwin.csv_export import write_safe_csv

SYNC_KIND = "sync_assays"
#: Size of the "top" list whose new entries and departures are reported.
TOP_N = 20


@contextmanager
def project_sync_lock(store: TwinStore, project: str, timeout_s: float = 7200.0) -> Iterator[None]:
    """Hold the project's sync lock: a file lock beside an SQLite store, an advisory lock on PostgreSQL."""
    dialect = store.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy import text

        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": f"sync:{project}"})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": f"sync:{project}"})
        return
    database = store.engine.url.database
    if dialect != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    tag = hashlib.sha256(project.encode()).hexdigest()[:12]
    lock_path = Path(database).with_name(f"{Path(database).name}.sync-{tag}.lock")
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"another sync of project {project} has held {lock_path} for over "
                                     f"{timeout_s:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """``section.field=value`` overrides on an already loaded config (as ``--set`` does on YAML)."""
    from pipeline.config import _parse_override

    data = config.model_dump(mode="json")
    for item in overrides:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    try:
        return RunConfig.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"bad override: {exc}", field=",".join(overrides)) from exc


def resolve_config(store: TwinStore, project: str, config: RunConfig | None = None,
                   results_dir: Path | None = None) -> RunConfig | None:
    """The sync's settings: ``config``, else the project's latest completed run's; None when neither.

    The assay file of a screen config is never re-read (the store is the truth), and
    ``results_dir`` replaces the config's when given.
    """
    if config is None:
        for text in completed_runs(store, project)["config_json"]:
            try:
                data = json.loads(text)
                data["measurements_csv"] = None
                config = RunConfig.model_validate(data)
                break
            except ValueError:
                continue
    if config is None:
        return None
    if config.project != project:
        raise ConfigError(f"the config is for project {config.project}, not {project}", field="project")
    update: dict = {"measurements_csv": None}
    if results_dir is not None:
        update["results_dir"] = Path(results_dir)
    return config.model_copy(update=update)


def starter_config(store: TwinStore, project: str, results_dir: Path | None = None,
                   overrides: list[str] | None = None) -> RunConfig:
    """The settings of a project's first twin: what it was created with (target, core, protein;
    the project's name as target for a project created by its first upload) and the defaults.

    ``overrides`` are ``section.field=value`` items (as ``--set``) applied on top.
    """
    from lab_sync.projects import project_target

    created = project_target(store, project) or {}
    target = {"name": created.get("target") or project, "core_smiles": created.get("core_smiles") or "",
              "protein_pdb": created.get("protein_pdb") or None}
    if target["protein_pdb"] and not Path(target["protein_pdb"]).is_file():
        target["protein_pdb"] = None  # the stored protein file is gone: no MD rather than a failed run
    config = RunConfig.model_validate({"project": project, "target": target,
                                       "description": "first twin: settings the project was created with",
                                       "results_dir": str(results_dir or "results")})
    return apply_overrides(config, overrides) if overrides else config


def first_twin_is_screen(config: RunConfig) -> bool:
    """A first twin with a core and a protein generates analogs and simulates the best (a screen)."""
    return bool(config.target.core_smiles and config.target.protein_pdb)


def base_run_dir(store: TwinStore, project: str) -> str | None:
    """The latest completed run folder holding a filter table (properties to reuse)."""
    for folder in completed_runs(store, project)["results_dir"]:
        if (Path(folder) / "filter_kept.parquet").is_file():
            return str(folder)
    return None


def _properties(known: pd.DataFrame, todo: pd.DataFrame, cfg: RunConfig, reference: pd.DataFrame) -> pd.DataFrame:
    """Properties of ``todo`` compounds: the known rows where present, else computed afresh."""
    from chem.filters import apply_filters

    if todo.empty:
        return todo
    have = known[known["compound_id"].isin(todo["compound_id"])] if len(known) else known
    missing = todo[~todo["compound_id"].isin(have["compound_id"])] if len(have) else todo
    frames = [have.drop(columns=["smiles", "inchikey", "origin"], errors="ignore")] if len(have) else []
    if len(missing):
        ref = dict(zip(reference["compound_id"], reference["smiles"])) if len(reference) else None
        res = apply_filters(missing[["compound_id", "smiles"]], cfg.filter, known_smiles=ref)
        frames.append(pd.concat([res.kept, res.rejected], ignore_index=True).drop(columns=["smiles"], errors="ignore"))
    props = pd.concat(frames, ignore_index=True)
    return todo.merge(props.drop_duplicates("compound_id"), on="compound_id", how="left")


def stage_collect_inputs(ctx: RunContext, base_dir: str | None) -> dict:
    """Write the sync's input tables: ``measured`` (active measurements, aggregated),
    ``filter_kept`` (every registered compound not measured yet, with properties) and
    ``measured_properties``; properties come from ``base_dir`` where it has them."""
    cfg, store = ctx.config, open_store(ctx.db_url)
    sync = stages.stage_sync_measurements(ctx)
    measured = pd.read_parquet(ctx.path / "measured.parquet")
    registry = store.read_table("compounds", cfg.project).rename(columns={"canonical_smiles": "smiles"})
    pool = registry[~registry["compound_id"].isin(measured["compound_id"])][["compound_id", "smiles", "inchikey", "origin"]]
    known = pd.DataFrame()
    if base_dir:
        parts = [pd.read_parquet(p) for p in (Path(base_dir) / "filter_kept.parquet",
                                             Path(base_dir) / "measured_properties.parquet") if p.is_file()]
        known = pd.concat(parts, ignore_index=True) if parts else known
    reference = measured[["compound_id", "smiles"]]
    kept = _properties(known, pool.reset_index(drop=True), cfg, reference)
    kept.to_parquet(ctx.path / "filter_kept.parquet", index=False)
    if len(measured):
        _properties(known, reference, cfg, pd.DataFrame()).to_parquet(ctx.path / "measured_properties.parquet", index=False)
    pd.DataFrame(columns=["step", "n_in", "n_rejected", "n_out"]).to_parquet(ctx.path / "funnel.parquet", index=False)
    uploads = sorted({u for ids in measured.get("upload_ids", pd.Series(dtype=str)) for u in str(ids).split(",") if u})
    return {"primary_assay": sync["primary_assay"], "n_measured_compounds": int(len(measured)),
            "n_unmeasured_compounds": int(len(kept)), "uploads_included": uploads,
            "properties_from": base_dir or "computed afresh"}


def stored_simulations(ctx: RunContext) -> list[dict]:
    """Per compound, the stored simulation of the current protocol from a finished run (a
    success before a failure, then the latest): see :mod:`pipeline.simulation_choice`."""
    from pipeline.simulation_choice import choose_simulations, expected_hashes

    store, project = open_store(ctx.db_url), ctx.config.project
    sims = store.read_table("simulations", project)
    if sims.empty or not ctx.config.target.protein_pdb:
        return []
    compounds = store.read_table("compounds", project)
    from simulation.stereo import parent_of  # stereoisomer runs are stored under <id>~s<k>

    compounds = compounds[compounds["compound_id"].isin({parent_of(c) for c in sims["compound_id"]})]
    return choose_simulations(sims, store.read_table("runs", project),
                              expected_hashes(ctx.config, compounds))


def stage_retrain_predict(ctx: RunContext) -> dict:
    """Retrain and re-predict (:func:`pipeline.stages.stage_train_predict`); too little data is a note."""
    try:
        return stages.stage_train_predict(ctx)
    except ModelError as exc:
        return {"skipped": True, "note": f"activity model not retrained: {exc}"}


def _json_rows(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", date_format="iso"))


def stage_score_ledger(ctx: RunContext, project: str | None = None) -> list[dict]:
    """Score the prediction ledger; writes ``ledger.parquet`` (per cycle) and ``ledger_entries.parquet``."""
    from lab_sync.ledger import ledger_entries, score_ledger

    store, project = open_store(ctx.db_url), project or ctx.config.project
    cycles = score_ledger(store, project)
    cycles.to_parquet(ctx.path / "ledger.parquet", index=False)
    ledger_entries(store, project).to_parquet(ctx.path / "ledger_entries.parquet", index=False)
    keep = ["cycle", "model_id", "n_predicted", "n_prospective", "n_exact", "rmse", "spearman",
            "coverage_80", "coverage_90", "n_censored"]
    return _json_rows(cycles[keep].round(3))


def stage_compare_rankings(ctx: RunContext, previous_run_id: str | None, top_n: int = TOP_N) -> list[dict]:
    """What changed since ``previous_run_id``; writes ``ranking_changes.csv``."""
    from ranking.compare import compare_rankings

    store = open_store(ctx.db_url)
    current = pd.read_parquet(ctx.path / "ranked_candidates.parquet")
    previous = store.read_table("rankings", run_id=previous_run_id) if previous_run_id else None
    changes = compare_rankings(previous, current, top_n=top_n)
    write_safe_csv(changes, ctx.path / "ranking_changes.csv")
    return _json_rows(changes)


def record_skipped_sync(store_url: str, project: str, upload_id: str | None, note: str, results_dir: Path) -> dict:
    """Record a sync that could not retrain or re-rank (status ``skipped``), with the ledger scored."""
    from moltwin.provenance import code_version, new_run_id, stable_hash

    run_id = new_run_id(SYNC_KIND)
    run_dir = (Path(results_dir) / run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(store_url)
    cfg = {"project": project, "upload_id": upload_id}
    store.start_run(run_id=run_id, project=project, kind=SYNC_KIND, config_json=json.dumps(cfg),
                    config_hash=stable_hash(cfg), code_version=code_version(), results_dir=str(run_dir))
    ctx = RunContext(run_id, str(run_dir), store_url, json.dumps(cfg))
    summary = {"project": project, "upload_id": upload_id, "notes": [note],
               "ledger": stage_score_ledger(ctx, project)}
    return finish_run(ctx, "skipped", summary)


def begin_sync(store_url: str, project: str, config: RunConfig | None = None, results_dir: Path | None = None,
               kind: str = SYNC_KIND, starter: list[str] | tuple = ()) -> tuple[RunContext | None, dict]:
    """Resolve the settings and open the run; ``(None, plan)`` when the project has no settings yet.

    With ``starter`` (overrides, possibly empty; None: none) a project without settings gets
    :func:`starter_config`: ``(None, {"starter": config})`` when that first twin is a screen,
    else the sync's run opened with it (``plan["first_twin"]`` is True).
    """
    store = open_store(store_url)
    cfg = resolve_config(store, project, config, results_dir)
    plan = {"base_dir": base_run_dir(store, project), "previous_run_id": previous_ranked_run(store, project),
            "first_twin": False}
    if cfg is None and starter is not None:
        cfg = starter_config(store, project, results_dir, list(starter))
        if first_twin_is_screen(cfg):
            return None, {**plan, "starter": cfg}
        plan["first_twin"] = True
    if cfg is None:
        return None, {**plan, "note": f"project {project} has no completed run to take its target and "
                      "settings from: the ledger was scored but nothing retrained or re-ranked; run "
                      "`moltwin screen --config ...` once"}
    return begin_run(cfg, store_url, kind=kind), plan


def sync_summary(ctx: RunContext, upload_id: str | None, inputs: dict, model: dict, ledger: list[dict],
                 ranked: dict | None, changes: list[dict] | None) -> dict:
    """The run summary: ranking changes first (what a chemist reads), then the rest."""
    notes = [model["note"]] if model.get("skipped") else []
    summary = {"project": ctx.config.project, "upload_id": upload_id, "ranking_changes": changes or [],
               "next_batch": (ranked or {}).get("next_batch", []), "ledger": ledger, "model": model,
               "inputs": inputs, "notes": notes}
    if ranked:
        summary.update({k: v for k, v in ranked.items() if k != "next_batch"})
    else:
        summary["notes"].append("ranking not refreshed: no new model in this sync")
    return summary


def sync_project(store_url: str, project: str, upload_id: str | None = None, results_dir: Path | None = None,
                 config: RunConfig | None = None, starter: list[str] | tuple | None = ()) -> dict:
    """Bring ``project``'s twin up to date with its measurements (no Prefect); returns the run summary.

    Parameters
    ----------
    store_url
        Twin store URL.
    project
        Project name.
    upload_id
        The upload that triggered the sync (recorded in the summary).
    results_dir
        Where the run folder goes (default: the config's ``results_dir``).
    config
        Settings to use instead of the project's latest run's.
    starter
        Overrides of the starter settings a project without settings starts its twin with
        (:func:`starter_config`; ``None``: score the ledger and skip the rest, as before a first run).
    """
    store = open_store(store_url)
    with project_sync_lock(store, project):
        ctx, plan = begin_sync(store_url, project, config, results_dir, starter=starter)
        if ctx is None and "starter" in plan:
            return first_twin_screen(store_url, plan["starter"], upload_id)
        if ctx is None:
            return record_skipped_sync(store_url, project, upload_id, plan["note"],
                                   Path(results_dir or "results"))
        try:
            inputs = stage_collect_inputs(ctx, plan["base_dir"])
            progress.stage("collect_inputs", inputs)
            model = stage_retrain_predict(ctx)
            progress.stage("retrain_predict", model)
            ledger = stage_score_ledger(ctx)
            progress.stage("score_ledger", ledger)
            ranked = changes = None
            if not model.get("skipped"):
                # The same evidence as a full run, ADMET included: a decision changes only
                # when evidence changed, never because the update skipped a stage.
                inputs["admet"] = stages.stage_admet(ctx)
                ranked = stages.stage_rank_and_report(ctx, stored_simulations(ctx), model)
                progress.stage("rank_report", ranked)
                changes = stage_compare_rankings(ctx, plan["previous_run_id"])
                progress.stage("compare_rankings", f"{len(changes)} ranking changes"
                               if isinstance(changes, list) else None)
        except Exception as exc:
            finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
            raise
        return finish_sync(ctx, plan, upload_id, inputs, model, ledger, ranked, changes)


def first_twin_screen(store_url: str, config: RunConfig, upload_id: str | None) -> dict:
    """A project's first twin when it has a core and a protein: a full screen (analogs, MD of the best)."""
    from pipeline.screen import run_screen

    summary = run_screen(config, store_url)
    notes = [f"first twin of {config.project}: a screen with the target, core and protein it was created "
             "with (analogs generated, the best simulated)"]
    return {**summary, "project": config.project, "upload_id": upload_id, "first_twin": "screen", "notes": notes}


def finish_sync(ctx: RunContext, plan: dict, upload_id: str | None, inputs: dict, model: dict,
                ledger: list[dict], ranked: dict | None, changes: list[dict] | None) -> dict:
    """Record the sync as completed with its summary (a project's first twin says so first)."""
    project = ctx.config.project
    summary = sync_summary(ctx, upload_id, inputs, model, ledger, ranked, changes)
    if plan.get("first_twin"):
        summary["first_twin"] = "sync"
        missing = [what for what, have in (("no analogs generated (the project has no series core)",
                                            ctx.config.target.core_smiles),
                                           ("no MD (no protein)", ctx.config.target.protein_pdb)) if not have]
        summary["notes"].insert(0, f"first twin of {project}: activity model trained on its measurements, "
                                "prediction ledger started, measured compounds ranked"
                                + ("; " + ", ".join(missing) if missing else ""))
    return finish_run(ctx, "completed", summary)
