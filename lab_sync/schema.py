"""The twin store's tables and their versioned migrations.

Each migration is a numbered function applied once, in order, inside one
transaction; the ``schema_version`` table records which ones ran. A new schema
change is a new entry at the end of :data:`MIGRATIONS`, never an edit of an old one.
Only portable SQLAlchemy types are used so the same schema runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text, UniqueConstraint)
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

projects = Table(
    "projects", metadata,
    Column("name", String(200), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # migration 4: how NN/NN/YYYY test dates are read (ymd = ISO only, dmy, mdy)
    Column("date_order", String(3), nullable=False, server_default="ymd"),
)

compounds = Table(
    "compounds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("canonical_smiles", Text, nullable=False),
    Column("inchikey", String(27), nullable=False),
    Column("origin", String(200), nullable=False),
    Column("provenance", Text, nullable=False, default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # migration 4: the structure as given, and the standardization steps that rewrote it
    # (server defaults only, so an insert that names neither column still works on v2 stores).
    Column("input_smiles", Text, nullable=False, server_default=""),
    Column("standardization", Text, nullable=False, server_default=""),
    UniqueConstraint("project", "compound_id", name="uq_compound_id"),
    UniqueConstraint("project", "inchikey", name="uq_compound_inchikey"),
)

runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("config_json", Text, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("code_version", String(100), nullable=False),
    Column("results_dir", Text, nullable=False),
    Column("summary_json", Text, nullable=False, default="{}"),
    Column("error", Text, nullable=False, default=""),
)

uploads = Table(
    "uploads", metadata,
    Column("upload_id", String(64), primary_key=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploader", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("archive_path", Text, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("n_valid", Integer, nullable=False),
    Column("n_invalid", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("superseded_by", String(64)),
    Index("ix_uploads_project_sha", "project", "sha256"),
)

measurements = Table(
    "measurements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("assay_id", String(200), nullable=False),
    Column("endpoint", String(40), nullable=False),
    Column("qualifier", String(4), nullable=False),
    Column("value", Float, nullable=False),
    Column("units", String(20), nullable=False),
    Column("value_nm", Float),
    Column("p_activity", Float),
    Column("test_concentration_nm", Float),
    Column("replicate", String(100), nullable=False, default=""),
    Column("test_date", String(40), nullable=False, default=""),
    Column("operator", String(200), nullable=False, default=""),
    Column("upload_id", String(64), ForeignKey("uploads.upload_id"), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Index("ix_measurements_project_compound", "project", "compound_id"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("upload_id", String(64), ForeignKey("uploads.upload_id"), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("column_name", String(200), nullable=False),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

models = Table(
    "models", metadata,
    Column("model_id", String(64), primary_key=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("training_hash", String(64), nullable=False),
    Column("n_train", Integer, nullable=False),
    Column("metrics_json", Text, nullable=False),
    Column("params_json", Text, nullable=False),
    Column("path", Text, nullable=False),
)

predictions = Table(
    "predictions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("endpoint", String(40), nullable=False),
    Column("value", Float),
    Column("std", Float),
    Column("lower_80", Float),
    Column("upper_80", Float),
    Column("lower_90", Float),
    Column("upper_90", Float),
    Column("max_train_similarity", Float),
    Column("in_domain", Boolean),
    Column("predicted_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(64)),
    Index("ix_predictions_project_compound", "project", "compound_id"),
)

simulations = Table(
    "simulations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("run_id", String(64)),
    Column("input_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason_code", String(100), nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),
    Column("platform", String(40), nullable=False, default=""),
    Column("mmgbsa_kcal_mol", Float),
    Column("mmgbsa_sem_kcal_mol", Float),
    Column("frac_frames_within_2a", Float),
    Column("ns_simulated", Float),
    Column("record_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

rankings = Table(
    "rankings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("score", Float),
    Column("p_clear_gates", Float),
    Column("decision", String(40), nullable=False),
    Column("stage", String(60), nullable=False),
    Column("details_json", Text, nullable=False),
)

#: Tables created by migration 1, in dependency order.
_V1_TABLES = [projects, compounds, runs, uploads, measurements, quarantine, models, predictions,
              simulations, rankings]


@dataclass(frozen=True)
class Migration:
    """One schema step: ``upgrade`` runs inside the migration transaction."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=_V1_TABLES)


# -- migration 2: people who use the web page ---------------------------------------------
users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(20), nullable=False),  # uploader | viewer
    # "scrypt$n$r$p$salt_hex$hash_hex": the token itself is shown once and never stored.
    Column("token_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    # SHA-256 of the random cookie value, so a leaked database does not leak live sessions.
    Column("session_hash", String(64), primary_key=True),
    Column("user_name", String(200), ForeignKey("users.name"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def _v2_users(conn: Connection) -> None:
    metadata.create_all(conn, tables=[users, sessions])


# -- migration 3: raw plates, their wells and the curve fits behind fitted potencies --------
plates = Table(
    "plates", metadata,
    Column("plate_uid", String(300), primary_key=True),  # "<upload id>:<plate id>"
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("upload_id", String(64), ForeignKey("uploads.upload_id"), nullable=False),
    Column("plate_id", String(200), nullable=False),
    Column("assay_id", String(200), nullable=False),
    Column("n_wells", Integer, nullable=False),
    Column("high_mean", Float), Column("high_sd", Float), Column("low_mean", Float), Column("low_sd", Float),
    Column("z_prime", Float), Column("signal_window", Float),
    Column("qc_status", String(20), nullable=False),  # passed | failed | accepted | no_controls
    Column("accepted_by", String(200), nullable=False, default=""),
    Column("accepted_at", DateTime(timezone=True)),
    Index("ix_plates_project", "project"),
)

plate_wells = Table(
    "plate_wells", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plate_uid", String(300), ForeignKey("plates.plate_uid"), nullable=False),
    Column("well", String(4), nullable=False),
    Column("well_type", String(10), nullable=False),  # sample | high | low | blank
    Column("compound_id", String(200), nullable=False, default=""),
    Column("conc_nm", Float),
    Column("signal", Float, nullable=False),
    Column("pct_inhibition", Float),
    Column("masked", Boolean, nullable=False, default=False),
    Column("mask_reason", Text, nullable=False, default=""),
    Column("source_row", Integer, nullable=False),
    UniqueConstraint("plate_uid", "well", name="uq_plate_well"),
)

curve_fits = Table(
    "curve_fits", metadata,
    Column("fit_id", String(64), primary_key=True),
    Column("project", String(200), ForeignKey("projects.name"), nullable=False),
    Column("plate_uid", String(300), ForeignKey("plates.plate_uid"), nullable=False),
    Column("compound_id", String(200), nullable=False),
    Column("assay_id", String(200), nullable=False),
    Column("model", String(40), nullable=False),
    Column("ic50_nm", Float), Column("ci_low_nm", Float), Column("ci_high_nm", Float),
    Column("hill", Float), Column("top", Float), Column("bottom", Float), Column("r2", Float),
    Column("n_points", Integer, nullable=False),
    Column("curve_class", String(20), nullable=False),
    Column("flags", Text, nullable=False, default=""),
    Column("qualifier", String(4)),  # on the IC50 scale; None when no potency is claimed
    Column("reported_ic50_nm", Float),  # the potency claimed: the fit's IC50, or the censoring bound
    Column("wells_json", Text, nullable=False),  # [{well, conc_nm, pct_inhibition, masked, reason}]
    Column("used", Boolean, nullable=False),  # False: plate failed QC (not accepted) or poor fit
    Column("measurement_id", Integer, ForeignKey("measurements.id")),
    Column("active", Boolean, nullable=False, default=True),
    Column("superseded_by", String(64)),
    Column("reason", Text, nullable=False, default=""),  # why this fit was made (upload, re-fit ...)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_curve_fits_project_compound", "project", "compound_id"),
)


def _v3_plates(conn: Connection) -> None:
    metadata.create_all(conn, tables=[plates, plate_wells, curve_fits])


def _v4_input_structures(conn: Connection) -> None:
    from lab_sync.rekey import rekey_compounds  # chemistry, only when this migration runs

    # A store created by this version already has the columns (migration 1 creates the tables
    # from the current metadata); an older store gets them here.
    have = {c["name"] for c in inspect(conn).get_columns("compounds")}
    for name in ("input_smiles", "standardization"):
        if name not in have:
            conn.execute(text(f"ALTER TABLE compounds ADD COLUMN {name} TEXT NOT NULL DEFAULT ''"))
    if "date_order" not in {c["name"] for c in inspect(conn).get_columns("projects")}:
        conn.execute(text("ALTER TABLE projects ADD COLUMN date_order VARCHAR(3) NOT NULL "
                          "DEFAULT 'ymd'"))
    rekey_compounds(conn)


# -- migration 5: what a project is about, given when it is created ------------------------
project_targets = Table(
    "project_targets", metadata,
    Column("project", String(200), ForeignKey("projects.name"), primary_key=True),
    Column("target", String(200), nullable=False),  # e.g. "Tyk2"
    Column("core_smiles", Text, nullable=False, default=""),  # series core with [*:n] R-groups, or ""
    Column("protein_pdb", Text, nullable=False, default=""),  # path of the stored protein file, or ""
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _v5_project_targets(conn: Connection) -> None:
    metadata.create_all(conn, tables=[project_targets])


# -- migration 6: the column mapping a project's chemists confirmed on the upload page -----------
column_mappings = Table(
    "column_mappings", metadata,
    Column("project", String(200), ForeignKey("projects.name"), primary_key=True),
    Column("header", String(200), primary_key=True),  # the file header, compared as norm_header() writes it
    Column("column_name", String(40), nullable=False),  # canonical column, or "" for "not stored"
    Column("saved_by", String(200), nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)


def _v6_column_mappings(conn: Connection) -> None:
    metadata.create_all(conn, tables=[column_mappings])


MIGRATIONS: list[Migration] = [
    Migration(1, "initial twin schema: projects, compounds, runs, uploads, measurements, "
                 "quarantine, models, predictions, simulations, rankings", _v1_initial),
    Migration(2, "web page users (hashed tokens) and sign-in sessions", _v2_users),
    Migration(3, "raw plates, plate wells and dose-response curve fits", _v3_plates),
    Migration(4, "compounds keep their input structure and standardization steps; stored "
                 "compounds re-keyed by the stereo-keeping standardization; projects' test-date "
                 "order", _v4_input_structures),
    Migration(5, "project targets: target name, optional series core and protein of each created project",
              _v5_project_targets),
    Migration(6, "column mappings confirmed on the upload page, remembered per project", _v6_column_mappings),
]

LATEST_VERSION = MIGRATIONS[-1].version
