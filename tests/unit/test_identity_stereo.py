"""A molecule's identity never changes silently: stereo survives tautomer canonicalisation,
every rewriting step is recorded, the registry keeps the input structure, and migration 4
re-keys stored compounds without losing a measurement."""

import json
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import insert, inspect

from chem.settings import StandardizeSettings
from chem.standardize import standardize_molecules, standardize_smiles, standardize_stream
from lab_sync import schema
from lab_sync.store import TwinStore, open_store

TAUT = StandardizeSettings(canonical_tautomer=True)
# R/S of an alpha-chiral ketone (the alpha carbon is sp2 in the enol), E/Z of an enone
# and of an oxime: all pairs that tautomer enumeration used to flatten into one key.
PAIRS = [("R", "C[C@H](CC)C(=O)c1ccccc1"), ("S", "C[C@@H](CC)C(=O)c1ccccc1"),
         ("E-enone", "CC(=O)/C=C/C"), ("Z-enone", "CC(=O)/C=C\\C"),
         ("E-oxime", "C/C=N/O"), ("Z-oxime", "C/C=N\\O")]


def test_stereo_kept_through_canonical_tautomer():
    for (_, a), (_, b) in zip(PAIRS[::2], PAIRS[1::2]):
        sa, sb = standardize_smiles(a, TAUT), standardize_smiles(b, TAUT)
        assert sa.inchikey != sb.inchikey
        assert sa.inchikey == standardize_smiles(a).inchikey  # same key with or without tautomers
        assert "@" in sa.smiles or "/" in sa.smiles or "\\" in sa.smiles


def test_pairs_stay_distinct_through_standardize_dedup_registry(tmp_path):
    df = pd.DataFrame({"compound_id": [p[0] for p in PAIRS], "smiles": [p[1] for p in PAIRS]})
    ok, failures = standardize_molecules(df, TAUT)
    assert failures.empty and len(ok) == 6 and ok["inchikey"].nunique() == 6
    # streamed in two batches: cross-batch dedup must not merge them either
    parts = list(standardize_stream([df.iloc[::2], df.iloc[1::2]], TAUT))
    assert sum(len(kept) for kept, _ in parts) == 6
    assert all(f.empty for _, f in parts)
    store = open_store(str(tmp_path / "t.db"))
    out = store.register_compounds("p", ok.assign(origin="test").to_dict("records"))
    assert list(out["status"]) == ["new"] * 6
    assert store.count("compounds", "p") == 6


def test_each_rewriting_step_is_recorded():
    salt = standardize_smiles("C[C@H]([NH3+])C(=O)[O-].[Na+].[Cl-]")
    assert "fragments_removed" in salt.changes and "neutralized" in salt.changes
    assert standardize_smiles("CCO").changes == ()
    taut = standardize_smiles("Oc1ccccn1", TAUT)
    assert taut.changes == ("tautomer_changed",)
    df = pd.DataFrame({"compound_id": ["a", "b"], "smiles": ["CCO.Cl", "CCN"]})
    ok, _ = standardize_molecules(df)
    assert list(ok["standardization"]) == ["fragments_removed", ""]


def test_registry_keeps_input_structure_and_changes(tmp_path):
    df = pd.DataFrame({"compound_id": ["salt"], "smiles": ["CC(=O)[O-].[Na+]"]})
    ok, _ = standardize_molecules(df)
    store = open_store(str(tmp_path / "t.db"))
    store.register_compounds("p", ok.assign(origin="test").to_dict("records"))
    row = store.read_table("compounds", "p").iloc[0]
    assert row["canonical_smiles"] == "CC(=O)O"
    assert row["input_smiles"] == "CC(=O)[O-].[Na+]"
    assert "fragments_removed" in row["standardization"]


def _v2_store(path) -> TwinStore:
    """A store as MolTwin left it before migration 4."""
    store = open_store(str(path), migrate=False)
    for migration in schema.MIGRATIONS[:2]:
        with store.transaction() as conn:
            schema.schema_version.create(conn, checkfirst=True)
            migration.upgrade(conn)
            conn.execute(insert(schema.schema_version).values(
                version=migration.version, description=migration.description,
                applied_at=datetime.now(timezone.utc)))
    with store.engine.begin() as conn:  # migration 1 now creates today's columns; undo them
        for name in ("input_smiles", "standardization"):
            conn.exec_driver_sql(f"ALTER TABLE compounds DROP COLUMN {name}")
        conn.exec_driver_sql("ALTER TABLE projects DROP COLUMN date_order")
    return store


def test_migration_4_rekeys_stored_compounds_keeping_measurements(tmp_path):
    store = _v2_store(tmp_path / "old.db")
    now = datetime.now(timezone.utc)
    flat = standardize_smiles("CCC(C)C(=O)c1ccccc1").inchikey  # what the old code stored for R and S
    r = standardize_smiles("C[C@H](CC)C(=O)c1ccccc1")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO projects (name, description, created_at) "
                             "VALUES ('p', '', '2026-01-01')")
        # old row: stereo in the SMILES, but keyed by the flattened structure
        conn.execute(schema.compounds.insert().values(
            project="p", compound_id="R", canonical_smiles=r.smiles, inchikey=flat, origin="x",
            provenance="{}", created_at=now))
        conn.execute(schema.uploads.insert().values(
            upload_id="u1", project="p", filename="f.csv", sha256="0" * 64, uploader="t",
            uploaded_at=now, archive_path="", n_rows=2, n_valid=2, n_invalid=0, status="committed"))
        for i in range(2):
            conn.execute(schema.measurements.insert().values(
                project="p", compound_id="R", assay_id="a", endpoint="IC50", qualifier="=",
                value=10.0 + i, units="nM", upload_id="u1", source_row=i + 2, active=True))
    assert store.migrate() == [3, 4, 5, 6]
    assert "input_smiles" in {c["name"] for c in inspect(store.engine).get_columns("compounds")}
    row = store.read_table("compounds", "p").iloc[0]
    assert row["inchikey"] == r.inchikey and row["compound_id"] == "R"
    assert row["input_smiles"] == r.smiles
    assert json.loads(row["provenance"])["rekeyed_from"] == flat
    assert store.count("measurements", "p") == 2
    # the S enantiomer is now a new compound, not a "duplicate" of R
    s = standardize_smiles("C[C@@H](CC)C(=O)c1ccccc1")
    out = store.register_compounds("p", [{"compound_id": "S", "smiles": s.smiles,
                                          "inchikey": s.inchikey, "origin": "x"}])
    assert list(out["status"]) == ["new"]


def test_assay_upload_registers_input_structure_and_changes(tmp_path):
    from lab_sync.upload import upload_assay_file

    path = tmp_path / "salt.csv"
    path.write_text("compound_id,smiles,assay_id,endpoint,value,units\n"
                    "S1,C[C@H]([NH3+])C(=O)[O-].[Cl-],T,IC50,12,nM\n")
    store = open_store(str(tmp_path / "t.db"))
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a")
    assert rep.status == "committed"
    row = store.read_table("compounds", "p").iloc[0]
    assert row["canonical_smiles"] == "C[C@H](N)C(=O)O"
    assert row["input_smiles"] == "C[C@H]([NH3+])C(=O)[O-].[Cl-]"
    assert set(row["standardization"].split(";")) >= {"fragments_removed", "neutralized"}
