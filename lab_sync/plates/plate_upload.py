"""Upload a plate-reader export: read, validate per well, QC each plate, fit, classify, then commit once.

Order of work (as for assay files, :mod:`lab_sync.upload`):

1. archive the raw file(s) by SHA-256 — also when the layout cannot be read (not on a dry run);
2. read the wells (long format, or signal grids + plate map) and validate each one; a bad well
   is reported and left out; a layout that cannot be read raises and stores nothing;
3. per plate: controls, Z', normalisation; per compound and plate: fit and class;
4. stop on ``dry_run`` or when the same bytes were already uploaded;
5. one transaction: the upload record, new compounds, plates, wells, curve fits, the potencies
   of usable curves as measurements, and every reported problem in the quarantine table.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from lab_sync import schema
from lab_sync.plates.analyse import PlateAnalysis, analyse_plates
from lab_sync.plates.plate_qc import check_plate_wells
from lab_sync.plates.plate_reader import PlateRead, has_grid, read_grid_format, read_long_format
from lab_sync.plates.plate_store import insert_curve, insert_plate
from lab_sync.plates.settings import PlateSettings
from lab_sync.store import TwinStore, utcnow
from lab_sync.upload import StructureKey, standardized_structure
from lab_sync.validate import RowError
from moltwin.errors import BadInputError, ChemistryError
from moltwin.paths import archive_dir as archive_dir_default


@dataclass(slots=True)
class PlateUploadReport:
    """What happened to one plate upload; ``exit_code`` follows the CLI convention."""

    filename: str
    project: str
    sha256: str
    status: str  # committed | dry_run | duplicate | rejected
    n_wells: int = 0
    n_invalid: int = 0
    upload_id: str | None = None
    errors: list[RowError] = field(default_factory=list)
    plates: list[dict] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)
    new_compounds: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    analysis: PlateAnalysis | None = None  # for plots; not in to_dict

    @property
    def failed_plates(self) -> list[str]:
        return [p["plate_id"] for p in self.plates if p["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        if self.status in {"rejected", "duplicate"} or (self.status == "dry_run" and not self.curves):
            return 2
        return 1 if (self.n_invalid or self.failed_plates) else 0

    def to_dict(self) -> dict:
        return {"filename": self.filename, "project": self.project, "sha256": self.sha256, "status": self.status,
                "upload_id": self.upload_id, "n_wells": self.n_wells, "n_invalid": self.n_invalid,
                "errors": [e.to_dict() for e in self.errors], "plates": self.plates, "curves": self.curves,
                "failed_plates": self.failed_plates, "new_compounds": self.new_compounds, "notes": self.notes,
                "archived": self.archived, "exit_code": self.exit_code}


def _archive(folder: Path, data: bytes, suffix: str) -> str:
    path = folder / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


def read_plate_file(data: bytes, name: str, map_data: bytes | None = None, map_name: str = "",
                    mapping: dict[str, str] | None = None) -> PlateRead:
    """Read either format; a grid file without its plate map is refused with that reason."""
    if map_data is not None:
        return read_grid_format(data, name, map_data, map_name, mapping)
    if not has_grid(data, name):
        return read_long_format(data, name, mapping)
    raise BadInputError("this file holds plate grids (signals only); give the plate map that says each "
                        "well's type, compound and concentration (--plate-map MAP.csv)", file=name)


def _resolve_compounds(store: TwinStore, project: str, analysis: PlateAnalysis, structure_key: StructureKey
                       ) -> tuple[list[RowError], dict[str, dict]]:
    """Registered id or new compound per curve; curves of unresolvable compounds are dropped."""
    comp = schema.compounds
    with store.engine.connect() as conn:
        reg = conn.execute(select(comp.c.compound_id, comp.c.inchikey).where(comp.c.project == project)).all()
    registry = {r.compound_id: r.inchikey for r in reg}
    by_key = {r.inchikey: r.compound_id for r in reg}
    errors, new, resolved = [], {}, {}
    for cid in sorted({c.compound_id for c in analysis.curves}):
        curves = [c for c in analysis.curves if c.compound_id == cid]
        smiles = next((c.smiles for c in curves if c.smiles), "")
        row = curves[0].first_row
        key, changes = None, ()
        if smiles:
            try:
                canonical, key, *rest = structure_key(smiles)  # (smiles, inchikey[, changes])
                changes = tuple(rest[0]) if rest else ()
            except ChemistryError as exc:
                errors.append(RowError(row, "smiles", smiles, f"invalid structure: {exc}"))
                continue
        if cid in registry:
            if key and key != registry[cid]:
                errors.append(RowError(row, "smiles", smiles, f"compound {cid} is registered with a different "
                                       "structure; fix the id or the SMILES"))
                continue
            resolved[cid] = cid
        elif key and key in by_key:
            resolved[cid] = by_key[key]
        elif key:
            resolved[cid] = cid
            new[cid] = {"compound_id": cid, "smiles": canonical, "inchikey": key, "origin": "plate upload",
                        "input_smiles": smiles, "standardization": ";".join(changes)}
        else:
            errors.append(RowError(row, "smiles", "", f"compound {cid} is not registered yet; give its SMILES"))
    kept = []
    for c in analysis.curves:
        if c.compound_id in resolved:
            c.compound_id = resolved[c.compound_id]
            kept.append(c)
    analysis.curves = kept
    return errors, new


def upload_plate_file(store: TwinStore, path: Path, project: str, *, plate_map: Path | None = None,
                      default_assay: str | None = None, mapping: dict[str, str] | None = None,
                      dry_run: bool = False, accept_plates: set[str] | None = None, uploader: str = "cli",
                      archive_dir: Path | None = None, display_name: str | None = None,
                      structure_key: StructureKey = standardized_structure,
                      settings: PlateSettings | None = None) -> PlateUploadReport:
    """Validate, QC and fit a plate-reader export and, unless ``dry_run``, commit it to ``project``.

    ``accept_plates`` names plates whose curves are used even though their Z' is below
    ``settings.z_prime_min``. Raises :class:`BadInputError` (after archiving the raw bytes) when the
    file's layout cannot be read.
    """
    settings = settings or PlateSettings()
    name = display_name or Path(path).name
    try:
        data = Path(path).read_bytes()
        map_data = Path(plate_map).read_bytes() if plate_map else None
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror}", file=str(exc.filename)) from exc
    sha = hashlib.sha256(data + (hashlib.sha256(map_data).digest() if map_data else b"")).hexdigest()
    report = PlateUploadReport(name, project, sha, "rejected")
    folder = archive_dir or archive_dir_default()
    if not dry_run:
        report.archived.append(_archive(folder, data, Path(name).suffix or ".csv"))
        if map_data is not None:
            report.archived.append(_archive(folder, map_data, ".platemap.csv"))
    try:
        read = read_plate_file(data, name, map_data, Path(plate_map).name if plate_map else "", mapping)
    except BadInputError as exc:
        if not report.archived:
            raise
        raise BadInputError(f"{exc.message} (the raw file is archived at {report.archived[0]}; nothing was "
                            "stored)", file=exc.file, row=exc.row, field=exc.field) from exc
    wells, dup_errors = check_plate_wells(read.wells, read.layouts)
    analysis = analyse_plates(wells, settings, default_assay=default_assay, accept=accept_plates,
                              layouts=read.layouts)
    struct_errors, new_compounds = _resolve_compounds(store, project, analysis, structure_key)
    report.errors = sorted(read.errors + dup_errors + analysis.errors + struct_errors, key=lambda e: e.row)
    report.notes.extend(read.notes)
    report.n_wells = len(read.wells) + len({e.row for e in read.errors})
    report.n_invalid = len({e.row for e in report.errors})
    report.plates = [p.summary() for p in analysis.plates]
    report.curves = [c.summary() for c in analysis.curves]
    report.new_compounds = sorted(new_compounds)
    report.analysis = analysis
    for p in analysis.plates:
        if p.status == "failed":
            report.notes.append(f"plate {p.plate_id}: Z' {p.qc.z_prime:.2f} is below {settings.z_prime_min}; its "
                                f"curves are not used (accept it with --accept-plate {p.plate_id})")
    unknown = (accept_plates or set()) - {p.plate_id for p in analysis.plates}
    if unknown:
        report.notes.append("--accept-plate names no plate of this file: " + ", ".join(sorted(unknown)))
    if dry_run:
        report.status = "dry_run"
        return report
    if not analysis.plates:
        report.notes.append("nothing was stored: no plate could be normalised")
        return report
    up = schema.uploads
    upload_id = uuid.uuid4().hex[:16]
    with store.transaction() as conn:
        store.lock_project(conn, project)
        previous = conn.execute(select(up.c.upload_id).where((up.c.project == project) & (up.c.sha256 == sha))).first()
        if previous is None:
            store.ensure_project(project, conn=conn)
            conn.execute(up.insert().values(
                upload_id=upload_id, project=project, filename=name, sha256=sha, uploader=uploader,
                uploaded_at=utcnow(), archive_path=report.archived[0], n_rows=report.n_wells,
                n_valid=report.n_wells - report.n_invalid, n_invalid=report.n_invalid, status="committed"))
            store.register_compounds(project, new_compounds.values(), conn=conn)
            uids = {p.plate_id: insert_plate(conn, project, upload_id, p) for p in analysis.plates}
            for c in analysis.curves:
                insert_curve(conn, project, upload_id, uids[c.plate_id], c, "upload")
            store.insert_rows("quarantine", [
                {"upload_id": upload_id, "source_row": e.row, "column_name": e.column, "value": e.value,
                 "reason": e.reason} for e in report.errors], conn=conn)
    if previous is not None:
        report.status, report.upload_id = "duplicate", previous.upload_id
        report.notes.append(f"this exact file was already uploaded as {previous.upload_id}; nothing was stored again")
        return report
    report.status, report.upload_id = "committed", upload_id
    return report
