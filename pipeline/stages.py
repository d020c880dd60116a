"""The screen job's stages as plain functions (no Prefect), one per step.

Each stage reads what earlier stages wrote under the run folder (Parquet) and writes
its own outputs there, returning a small JSON-able dict. ``flows/screen.py`` wraps
each stage in a Prefect task; :func:`pipeline.screen.run_screen` calls them in order
without Prefect. Caching and resume wrap these stages from outside
(:mod:`pipeline.resume`): a stage never imports its wrapper.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from lab_sync.twin_records import as_float
from pipeline.run_context import RunContext, previous_ranked_run, read_table, run_store, write_table
from pipeline.simulation_selection import select_for_simulation, select_measured_references  # noqa: F401

log = logging.getLogger(__name__)


def stage_sync_measurements(ctx: RunContext) -> dict:
    """Upload the config's assay file (a re-upload of the same bytes is a no-op), then
    aggregate the project's measurements into ``measured.parquet``."""
    from lab_sync.twin_records import series_activities
    from lab_sync.upload import upload_assay_file

    cfg, store = ctx.config, run_store(ctx)
    out: dict = {"upload": None}
    if cfg.measurements_csv:
        rep = upload_assay_file(store, cfg.measurements_csv, cfg.project, uploader=f"run:{ctx.run_id}")
        out["upload"] = {k: v for k, v in rep.to_dict().items() if k != "errors"}
        out["upload"]["n_errors"] = len(rep.errors)
    measured, assay = series_activities(store, cfg.project)
    out["primary_assay"] = assay
    write_table(measured, ctx, "measured")
    out["n_measured_compounds"] = int(len(measured))
    return out


def stage_generate(ctx: RunContext) -> dict:
    """Enumerate analogs around the measured series (R-group recombination on the core)."""
    from chem.generate import generate_candidates

    cfg = ctx.config
    measured = read_table(ctx, "measured")
    if measured.empty:
        from moltwin.errors import ModelError

        raise ModelError(f"project {cfg.project} has no measurements to seed generation; "
                         "upload an assay file first (moltwin assays upload) or set measurements_csv")
    settings = cfg.generate
    if settings.core_smiles is None:
        settings = settings.model_copy(update={"core_smiles": cfg.target.core_smiles})
    result = generate_candidates(settings, measured[["compound_id", "smiles"]])
    write_table(result.candidates, ctx, "candidates")
    failures = getattr(result, "failures", None)
    if failures is not None and len(failures):
        write_table(pd.DataFrame(failures) if not isinstance(failures, pd.DataFrame) else failures, ctx,
               "failures_generate")
    return {"n_candidates": int(len(result.candidates))}


def stage_filter(ctx: RunContext) -> dict:
    """Standardize, deduplicate (against each other and the registry) and filter candidates;
    register the survivors in the twin."""
    from chem.batch import combine_results, process_stream

    cfg, store = ctx.config, run_store(ctx)
    candidates = read_table(ctx, "candidates")
    registry = store.read_table("compounds", cfg.project)
    size = cfg.screen.batch_size
    chunks = (candidates.iloc[i:i + size] for i in range(0, len(candidates), size))
    result = combine_results(process_stream(
        chunks, cfg.filter, cfg.standardize, registered_inchikeys=set(registry["inchikey"]),
        known_smiles=dict(zip(registry["compound_id"], registry["canonical_smiles"]))))
    return finish_filter(ctx, result)


def finish_filter(ctx: RunContext, result) -> dict:
    """Write the filter tables of a :class:`chem.batch.BatchResult`, register the survivors
    and compute the measured series' properties (shared by the serial and the chunked filter)."""
    cfg, store = ctx.config, run_store(ctx)
    write_table(result.kept, ctx, "filter_kept")
    write_table(result.rejected, ctx, "filter_rejected")
    write_table(result.funnel, ctx, "funnel")
    write_table(result.failures, ctx, "failures_filter")
    if len(result.kept):
        store.register_compounds(cfg.project, result.kept.to_dict("records"))
    # Properties of the measured series, for ranking (they are never filtered out).
    measured = read_table(ctx, "measured")
    if len(measured):
        from chem.filters import apply_filters

        props = apply_filters(measured[["compound_id", "smiles"]], cfg.filter)
        both = pd.concat([props.kept, props.rejected], ignore_index=True)
        write_table(both, ctx, "measured_properties")
    return {"n_kept": int(len(result.kept)), "n_rejected": int(len(result.rejected)),
            "n_failed": int(len(result.failures)), "funnel": result.funnel.to_dict("records")}


def stage_train_predict(ctx: RunContext) -> dict:
    """Train the activity model on the measured series and predict every candidate;
    every prediction goes into the twin's prediction ledger."""
    from chem.models.predict import attach_out_of_fold, predict_activity
    from chem.models.registry import save_model
    from chem.models.train import out_of_fold_summary, train_activity_model
    from lab_sync.twin_records import record_model, record_predictions
    from moltwin.paths import models_dir

    cfg, store = ctx.config, run_store(ctx)
    measured = read_table(ctx, "measured")
    train = measured.rename(columns={"p_qualifier": "qualifier"})[["compound_id", "smiles", "p_activity", "qualifier"]]
    model = train_activity_model(train, cfg.model)
    model_path = save_model(model, models_dir())
    kept = read_table(ctx, "filter_kept")
    pool = pd.concat([kept[["compound_id", "smiles"]], measured[["compound_id", "smiles"]]], ignore_index=True)
    # Measured compounds also carry their nested out-of-fold prediction (oof_*): the only
    # model evidence the report shows for them.
    preds = attach_out_of_fold(predict_activity(model, pool), model)
    write_table(preds, ctx, "predictions")
    with store.transaction() as conn:
        record_model(store, cfg.project, model, str(model_path), cfg.model.model_dump_json(), conn=conn)
        record_predictions(store, cfg.project, preds, model.model_id, ctx.run_id, conn=conn)
    return {"model_id": model.model_id, "model_kind": model.kind, "n_train": int(len(train)),
            "cv_metrics": out_of_fold_summary(model.metadata),
            "n_predicted": int(len(preds))}


def stage_simulate_one(ctx: RunContext, item: dict) -> dict:
    """Pose, parametrize and simulate one ligand; the record (ok or failed) goes into the store."""
    from lab_sync.store import utcnow
    from moltwin.paths import cache_dir
    from simulation.run import SimulationRequest, simulate_ligand

    cfg = ctx.config
    if not cfg.target.protein_pdb:
        from moltwin.errors import ConfigError

        raise ConfigError(f"project {cfg.project} has no protein to simulate with; give one "
                          "(target.protein_pdb)", field="target.protein_pdb")
    request = SimulationRequest(compound_id=item["compound_id"], smiles=item["smiles"],
                                protein_pdb=cfg.target.protein_pdb,
                                reference_ligands_sdf=cfg.target.reference_ligands_sdf)
    from simulation.cached_failures import reuse_failed_simulation
    from moltwin.transient import TransientError, is_transient_record

    record = reuse_failed_simulation(request, cfg.simulate, cache_dir() / "md")
    if record is None:
        record = simulate_ligand(request, cfg.simulate, cache_dir() / "md").to_dict()
    if is_transient_record(record):  # the machine failed, not the molecule: retry, don't record
        raise TransientError(f"simulation of {item['compound_id']}: {record['message']}")
    if item.get("parent_compound_id"):  # one stereoisomer of a candidate (simulation.stereo)
        record.update(parent_compound_id=item["parent_compound_id"], stereoisomer_smiles=item["smiles"],
                      n_stereoisomers=item.get("n_stereoisomers"))
    if item.get("role"):
        record["simulation_role"] = item["role"]
    store = run_store(ctx)
    store.insert_rows("simulations", [{
        "project": cfg.project, "compound_id": record["compound_id"], "run_id": ctx.run_id,
        "input_hash": record["input_hash"], "status": record["status"],
        "reason_code": record["reason_code"], "message": record["message"][:2000],
        "platform": record["platform"], "mmgbsa_kcal_mol": as_float(record["mmgbsa_kcal_mol"]),
        "mmgbsa_sem_kcal_mol": as_float(record["mmgbsa_sem_kcal_mol"]),
        "frac_frames_within_2a": as_float(record["frac_frames_within_2A"]),
        "ns_simulated": as_float(record["ns_simulated"]), "record_json": json.dumps(record, default=str),
        "created_at": utcnow()}])
    return record


def _failures(ctx: RunContext, sim_records: list[dict]) -> pd.DataFrame:
    frames = [read_table(ctx, "failures_generate"), read_table(ctx, "failures_filter")]
    preds = read_table(ctx, "predictions")
    if len(preds) and "error" in preds:
        bad = preds[preds["error"].astype(str) != ""]
        frames.append(pd.DataFrame({"stage": "predict", "reason_code": "unparsable_smiles",
                                    "message": bad["error"], "compound_id": bad["compound_id"]}))
    sims = [r for r in sim_records if r["status"] != "ok"]
    if sims:
        frames.append(pd.DataFrame({"stage": "simulate", "reason_code": [r["reason_code"] for r in sims],
                                    "message": [r["message"] for r in sims],
                                    "compound_id": [r["compound_id"] for r in sims]}))
    admet = read_table(ctx, "admet")
    if len(admet) and "admetai_error" in admet:
        bad = admet[admet["admetai_error"].astype(str) != ""]
        frames.append(pd.DataFrame({"stage": "admet", "reason_code": "admet_failed",
                                    "message": bad["admetai_error"], "compound_id": bad["compound_id"]}))
    frames = [f for f in frames if len(f)]
    cols = ["stage", "reason_code", "message", "compound_id"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def stage_admet(ctx: RunContext) -> dict:
    """ADMET risks (admet-ai) for every compound that will be ranked; writes ``admet.parquet``.

    When admet-ai cannot run, no numbers are written and the note says why (never filled in).
    """
    from chem.admet import admet_table

    cfg = ctx.config
    pool = pd.concat([read_table(ctx, "filter_kept"), read_table(ctx, "measured_properties")], ignore_index=True)
    if not cfg.admet.enabled or pool.empty:
        note = "ADMET not predicted: switched off in the config (admet.enabled)" if not cfg.admet.enabled \
            else "ADMET not predicted: no candidates"
        (ctx.path / "admet_note.txt").write_text(note)
        return {"n_admet": 0, "note": note}
    pool = pool.drop_duplicates("compound_id")[["compound_id", "smiles"]]
    table, note = admet_table(pool, cfg.admet, cfg.rank.admet_gate_endpoints)
    if len(table):
        write_table(table, ctx, "admet")
    (ctx.path / "admet_note.txt").write_text(note)
    return {"n_admet": int(len(table)), "note": note}


def stage_rank_and_report(ctx: RunContext, sim_records: list[dict], train_info: dict) -> dict:
    """Merge everything the twin knows, score and gate, propose the next batch, write the report."""
    from ranking.merge import merge_candidate_table
    from ranking.next_batch import propose_next_batch
    from pipeline.report import report_context
    from ranking.report import write_report
    from ranking.score import rank_candidates

    cfg, store = ctx.config, run_store(ctx)
    measured = read_table(ctx, "measured")
    kept = read_table(ctx, "filter_kept")
    props = pd.concat([kept, read_table(ctx, "measured_properties")], ignore_index=True)
    props = props.drop_duplicates("compound_id")
    if "reasons" in props:
        props["alerts"] = props["reasons"].fillna("").map(
            lambda s: "; ".join(p for p in s.split("; ") if p.split(":")[0] in {"PAINS", "Brenk", "NIH", "user"}))
    else:
        props["alerts"] = ""
    props["alerts"] = props["alerts"].fillna("")
    cand = props[["compound_id", "smiles", "inchikey"]].copy()
    cand["origin"] = cand["compound_id"].map(
        dict(zip(kept["compound_id"], kept.get("origin", pd.Series(dtype=str)))) if len(kept) else {}
    ).fillna("measured series")
    meas = measured.rename(columns={"p_activity": "measured_p_activity", "p_activity_sd": "measured_sd",
                                    "n_replicates": "measured_n", "p_qualifier": "measured_qualifier"})
    meas = meas[["compound_id", "measured_p_activity", "measured_sd", "measured_n", "measured_qualifier"]
                + (["curve_classes"] if "curve_classes" in meas else [])]
    preds = read_table(ctx, "predictions").drop(columns=["smiles", "error"], errors="ignore")
    from simulation.stereo import aggregate_stereoisomers

    # Per-isomer records go to simulations.parquet and the failure list; each parent candidate
    # is ranked on its best isomer (simulation.stereo), with every isomer's value in the notes.
    isomer_records = sim_records
    sim_records = aggregate_stereoisomers(sim_records)
    sims = pd.DataFrame(sim_records)
    if len(sims):
        sims = sims.rename(columns={"status": "sim_status"})
        if "frames_parquet" in sims:  # absolute, so `moltwin report` finds the frames from any folder
            sims["frames_parquet"] = sims["frames_parquet"].map(
                lambda p: str(Path(p).resolve()) if isinstance(p, str) and p else p)
    merged = merge_candidate_table(cand, props.drop(columns=["smiles", "inchikey"], errors="ignore"),
                                   preds, meas, sims if len(sims) else None,
                                   default_measured_sd=cfg.rank.default_measured_sd)
    admet = read_table(ctx, "admet")
    if len(admet):
        merged = merged.merge(admet.drop(columns=["smiles"], errors="ignore"), on="compound_id", how="left")
    admet_note_file = ctx.path / "admet_note.txt"
    admet_note = admet_note_file.read_text() if admet_note_file.exists() else "ADMET not predicted in this run"
    ranked = rank_candidates(merged, cfg.rank)
    next_batch = propose_next_batch(ranked, None, cfg.rank)
    failures = _failures(ctx, isomer_records)
    write_table(failures, ctx, "failures")
    write_table(next_batch, ctx, "next_batch")
    notes = [admet_note]
    if not any(r["status"] == "ok" for r in sim_records):
        notes.append("No successful MD simulation in this run: physics columns are empty.")
    elif sim_records and sim_records[0].get("platform") in {"CPU", "Reference"}:
        notes.append(f"MD ran on the {sim_records[0]['platform']} platform (no GPU): short pocket-only "
                     "runs; treat MM/GBSA and stability as coarse evidence.")
    n_refs = sum(r.get("simulation_role") == "measured_reference" and r.get("status") == "ok"
                 for r in isomer_records)
    if n_refs:
        notes.append(f"{n_refs} measured compound{'s' * (n_refs != 1)} simulated as calibration "
                     "references (same protocol as the candidates; reused from the cache when unchanged).")
    notes.extend(f"{r['compound_id']}: {r['stereo_note']}" for r in sim_records if r.get("stereo_note"))
    write_table(pd.DataFrame(isomer_records), ctx, "simulations")
    previous_id = previous_ranked_run(store, cfg.project, exclude=ctx.run_id) or ""
    previous = store.read_table("rankings", run_id=previous_id) if previous_id else None
    (ctx.path / "report_context.json").write_text(json.dumps(
        {"notes": notes, "model": train_info, "previous_run_id": previous_id}, default=str, indent=2))
    paths = write_report(ranked, ctx.path, report_context(ctx, train_info, notes, previous, previous_id))
    store.insert_rows("rankings", [{
        "run_id": ctx.run_id, "project": cfg.project, "compound_id": r["compound_id"], "rank": int(r["rank"]),
        "score": as_float(r.get("score")), "p_clear_gates": as_float(r.get("p_clear_gates")),
        "decision": str(r.get("decision", "")), "stage": str(r.get("stage", "")),
        "details_json": json.dumps({k: r.get(k) for k in ("criteria_met", "criteria_missed", "activity_evidence")},
                                   default=str)}
        for r in ranked.to_dict("records")])
    decisions = ranked["decision"].value_counts().to_dict() if "decision" in ranked else {}
    return {"report_html": str(paths.html), "n_ranked": int(len(ranked)), "decisions": decisions,
            "next_batch": list(next_batch["compound_id"]) if len(next_batch) else [],
            "top": ranked.head(5)[["compound_id", "decision", "stage"]].to_dict("records")}


def summarize_simulations(records: list[dict]) -> list[dict]:
    keys = ["compound_id", "status", "reason_code", "message", "platform", "ns_simulated", "mmgbsa_kcal_mol",
            "mmgbsa_sem_kcal_mol", "pose_check_status", "frac_frames_within_2A", "wall_s"]
    return [{k: r.get(k) for k in keys} for r in records]
