"""Latency of the twin's web pages with 1 k and 100 k compounds in the store.

Fills a fresh SQLite twin store per size with NCI molecules (RDKit's ``Data/NCI/first_5K.smi``)
and R-group variants of them (a substituent chain on each position carrying hydrogen), 2 % of
them "measured" (one upload), every one predicted once and ranked once, then times the pages
through the app itself (FastAPI TestClient: server time, template rendering included, no network):

- grid: a page of 50 rows, default sort, sorted by a property, filtered by decision and a
  property range; median and 95th percentile of repeated requests (warm cache);
- the cold start of the grid: building the compound table (properties for every compound)
  and again with the property cache on disk (a restarted server);
- substructure search: the library's build (cold) and load (restart), then queries;
- what-if: first answer (model loaded from the registry) and warm answers; ADMET's cold and
  warm answer when ``--admet`` is given and admet-ai is installed.

Measured values, activities and predictions in the filled store are synthetic (a formula of
the properties plus noise): this measures speed, not science. ``inchikey`` holds a SHA-256 stand-in
(27 characters, unique per structure) so the fill does not spend minutes on InChI.

Run: ``nice -n 10 python bench/web_latency.py --sizes 1000 100000 [--admet]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from rdkit import Chem, RDConfig, rdBase

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHAINS = [["F"], ["Cl"], ["C"], ["O"], ["N"], ["Br"], ["C", "C"], ["O", "C"], ["C", "O"], ["C", "N"],
          ["C", "C", "C"], ["S", "C"], ["C", "F"], ["N", "C"], ["C", "C", "O"], ["O", "C", "C"]]


def nci_molecules() -> list[str]:
    path = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
    out = []
    with rdBase.BlockLogs():
        for line in path.read_text().splitlines():
            mol = Chem.MolFromSmiles(line.split()[0]) if line.strip() else None
            if mol is None:
                continue
            frags = Chem.GetMolFrags(mol, asMols=True)
            out.append(Chem.MolToSmiles(max(frags, key=lambda m: m.GetNumHeavyAtoms())))
    return list(dict.fromkeys(out))


def variants(smiles: str, n: int) -> list[str]:
    """Up to ``n`` analogues: a chain from :data:`CHAINS` on each atom that carries hydrogen."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return []
    sites = [a.GetIdx() for a in mol.GetAtoms() if a.GetTotalNumHs() > 0 and a.GetSymbol() in ("C", "N", "c")]
    out = []
    for chain in CHAINS:
        for site in sites:
            if len(out) >= n:
                return out
            rw = Chem.RWMol(mol)
            prev = site
            for symbol in chain:
                new = rw.AddAtom(Chem.Atom(symbol))
                rw.AddBond(prev, new, Chem.BondType.SINGLE)
                prev = new
            try:
                Chem.SanitizeMol(rw)
                out.append(Chem.MolToSmiles(rw))
            except Exception:  # noqa: BLE001 - a valence the substituent breaks: skip that variant
                continue
    return out


def library(size: int) -> list[str]:
    base = nci_molecules()
    seen: dict[str, None] = dict.fromkeys(base[:size])
    per = max(1, 2 * -(-size // max(1, len(base))) + 4)  # generous: some variants fail or repeat
    with rdBase.BlockLogs():
        for smi in base:
            if len(seen) >= size:
                break
            for v in variants(smi, per):
                seen.setdefault(v, None)
    return list(seen)[:size]


def fill(store, project: str, smiles: list[str], rng: np.random.Generator, tmp: Path) -> tuple[pd.DataFrame, list[str]]:
    """Register, measure 2 %, predict and rank every compound; returns the measured table and ids."""
    from lab_sync.store import utcnow
    from ranking.compound_table import grid_properties

    ids = [f"B{i:06d}" for i in range(len(smiles))]
    keys = [hashlib.sha256(s.encode()).hexdigest()[:25].upper().ljust(27, "N") for s in smiles]
    now = utcnow()
    store.ensure_project(project)
    store.insert_rows("compounds", [{"project": project, "compound_id": c, "canonical_smiles": s, "inchikey": k,
                                     "origin": "bench", "provenance": "{}", "created_at": now}
                                    for c, s, k in zip(ids, smiles, keys)])
    measured_idx = rng.choice(len(ids), size=max(20, len(ids) // 50), replace=False)
    props = pd.DataFrame([grid_properties(smiles[i]) for i in measured_idx])
    p = np.clip(5 + 0.004 * props["mw_da"].fillna(300) - 0.3 * props["clogp"].fillna(2).abs()
                + rng.normal(0, 0.5, len(props)), 3, 10)
    store.insert_rows("uploads", [{"upload_id": "bench-upload", "project": project, "filename": "bench.csv",
                                   "sha256": "0" * 64, "uploader": "bench", "uploaded_at": now, "archive_path": "",
                                   "n_rows": len(p), "n_valid": len(p), "n_invalid": 0, "status": "committed"}])
    store.insert_rows("measurements", [{"project": project, "compound_id": ids[i], "assay_id": "BENCH", "endpoint": "IC50",
                                        "qualifier": "=", "value": float(10 ** (9 - v)), "units": "nM",
                                        "value_nm": float(10 ** (9 - v)), "p_activity": float(v), "replicate": "1",
                                        "upload_id": "bench-upload", "source_row": j + 2, "active": True}
                                       for j, (i, v) in enumerate(zip(measured_idx, p))])
    pred = rng.normal(6.5, 0.8, len(ids))
    store.insert_rows("predictions", [{"project": project, "compound_id": c, "model_id": "bench-model",
                                       "endpoint": "p_activity", "value": float(v), "std": 0.6,
                                       "lower_80": float(v - 0.8), "upper_80": float(v + 0.8), "lower_90": float(v - 1.0),
                                       "upper_90": float(v + 1.0), "max_train_similarity": 0.5, "in_domain": bool(v > 6),
                                       "predicted_at": now, "run_id": "bench-run"} for c, v in zip(ids, pred)])
    store.start_run(run_id="bench-run", project=project, kind="screen", config_json="{}", config_hash="x",
                    code_version="bench", results_dir=str(tmp / "bench-run"))
    order = np.argsort(-pred)
    decisions = np.where(pred > 7.2, "make", np.where(pred > 6.0, "test", "drop"))
    store.insert_rows("rankings", [{"run_id": "bench-run", "project": project, "compound_id": ids[i],
                                    "rank": int(r + 1), "score": float(pred[i] / 10), "p_clear_gates": float(pred[i] / 10),
                                    "decision": str(decisions[i]), "stage": "hit" if pred[i] > 6.0 else "none",
                                    "details_json": "{}"} for r, i in enumerate(order)])
    store.finish_run("bench-run", status="completed", summary={})
    measured = pd.DataFrame({"compound_id": [ids[i] for i in measured_idx], "smiles": [smiles[i] for i in measured_idx],
                             "p_activity": p, "qualifier": "="})
    return measured, ids


def timed(client, url: str, n: int) -> tuple[float, float, int]:
    times = []
    status = 0
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        status = response.status_code
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], status


def run_size(size: int, repeats: int, admet: bool) -> None:
    from chem.models.registry import save_model
    from chem.models.settings import ModelSettings
    from chem.models.train import train_activity_model
    from lab_sync.store import open_store
    from lab_sync.twin_records import record_model
    from interfaces.web.app import create_app
    from interfaces.web.context import WebSettings
    from interfaces.web.users import add_user
    from fastapi.testclient import TestClient

    tmp = Path(tempfile.mkdtemp(prefix=f"moltwin-web-bench-{size}-"))
    os.environ["MOLTWIN_HOME"] = str(tmp / "home")
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    smiles = library(size)
    print(f"\n== {len(smiles):,} compounds ({len(set(smiles)):,} unique structures); enumerated in "
          f"{time.perf_counter() - t:.1f} s", flush=True)
    store = open_store(str(tmp / "twin.db"))
    t = time.perf_counter()
    measured, ids = fill(store, "bench", smiles, rng, tmp)
    model = train_activity_model(measured, ModelSettings(model_kinds=["random_forest"], n_estimators=100, cv_folds=3))
    path = save_model(model, tmp / "home" / "models")
    record_model(store, "bench", model, str(path), "{}")
    print(f"store filled in {time.perf_counter() - t:.1f} s: {len(measured):,} measured, every compound predicted and "
          f"ranked; model {model.kind} on {len(measured):,}", flush=True)
    token = add_user(store, "bench", "viewer")
    settings = WebSettings(staging_dir=tmp / "home" / "web-staging")

    def client_for():
        app = create_app(str(tmp / "twin.db"), settings, sync_trigger=None)
        app.state.twin.extra["admet"] = admet
        c = TestClient(app, follow_redirects=True)
        c.post("/signin", data={"name": "bench", "token": token})
        return app, c

    app, client = client_for()
    t = time.perf_counter()
    first = client.get("/projects/bench/compounds")
    print(f"grid cold, first request (compound table built, properties of {size:,} computed): "
          f"{time.perf_counter() - t:.2f} s (HTTP {first.status_code})", flush=True)
    app2, client2 = client_for()
    t = time.perf_counter()
    client2.get("/projects/bench/compounds")
    print(f"grid cold after a restart (properties read from the disk cache): {time.perf_counter() - t:.2f} s", flush=True)
    grid_urls = {"default sort (rank)": "/projects/bench/compounds",
                 "sorted by MW, descending": "/projects/bench/compounds?sort=mw_da&desc=1",
                 "sorted by compound id (text)": "/projects/bench/compounds?sort=compound_id&desc=1",
                 "decision=make + MW 250-450 + cLogP <= 4, sorted by predicted p": "/projects/bench/compounds?decision=make&min_mw_da=250&max_mw_da=450&max_clogp=4&sort=pred_p_activity&desc=1",
                 "measured only, page 5": "/projects/bench/compounds?measured=yes&page=5",
                 "page 1000 (or last)": "/projects/bench/compounds?page=1000"}
    for label, url in grid_urls.items():
        median, p95, status = timed(client2, url, repeats)
        print(f"grid page of 50, {label}: median {median:.0f} ms, p95 {p95:.0f} ms (HTTP {status})", flush=True)
    t = time.perf_counter()
    client2.get("/projects/bench/compounds?substructure=c1ccccc1")
    print(f"substructure cold (library built: parse + pattern fingerprints of {size:,}): "
          f"{time.perf_counter() - t:.2f} s", flush=True)
    app3, client3 = client_for()
    client3.get("/projects/bench/compounds")
    t = time.perf_counter()
    client3.get("/projects/bench/compounds?substructure=c1ccccc1")
    print(f"substructure first query after a restart (library loaded from disk): {time.perf_counter() - t:.2f} s", flush=True)
    for query in ("c1ccncc1", "c1ccccc1C(=O)N", "[NX3;H2]c", "C(F)(F)F", "c1ccc2ccccc2c1", "[#6]"):
        url = "/projects/bench/compounds?substructure=" + quote(query, safe="")
        median, p95, status = timed(client3, url, max(3, repeats // 4))
        page = client3.get(url).text
        n = page.split('id="n-matching"')[1].split(">", 1)[1].split("<")[0]
        if 'id="n-estimate"' in page:  # the count ran out of its time budget: a lower bound and an estimate
            n += " " + page.split('id="n-estimate"')[1].split(">", 1)[1].split("<")[0].strip()
        print(f"substructure {query!r}: {n} hits, median {median:.0f} ms, p95 {p95:.0f} ms (HTTP {status})", flush=True)
    from lab_sync.store import utcnow

    store.insert_rows("compounds", [{"project": "bench", "compound_id": "B-new", "canonical_smiles": "CCOc1ccccc1N",
                                     "inchikey": "BENCHNEWCOMPOUND0000000000N", "origin": "bench", "provenance": "{}",
                                     "created_at": utcnow()}])
    t = time.perf_counter()
    stale = client3.get("/projects/bench/compounds")
    how = ("previous table served while it refreshes in the background" if 'id="stale"' in stale.text
           else "rebuilt in the request")
    print(f"grid right after a store change: {(time.perf_counter() - t) * 1000:.0f} ms ({how})", flush=True)
    t = time.perf_counter()
    while 'id="stale"' in client3.get("/projects/bench/compounds").text and time.perf_counter() - t < 600:
        time.sleep(0.5)
    print(f"background refresh done within {time.perf_counter() - t:.1f} s", flush=True)
    whatif = "/projects/bench/whatif?smiles=" + quote("Cc1ccc(NC(=O)c2ccc(Cl)cc2)cc1O", safe="")
    app4, client4 = client_for()
    client4.get("/projects/bench/compounds")  # the table warm, the model not yet loaded
    t = time.perf_counter()
    resp = client4.get(whatif)
    print(f"what-if cold (model loaded from the registry{', ADMET engine loaded' if admet else ', ADMET off'}): "
          f"{time.perf_counter() - t:.2f} s (HTTP {resp.status_code})", flush=True)
    median, p95, status = timed(client4, whatif, max(3, repeats // 4))
    print(f"what-if warm: median {median:.0f} ms, p95 {p95:.0f} ms (HTTP {status})", flush=True)
    median, p95, status = timed(client4, "/structure.svg?smiles=Cc1ccc(NC(%3DO)c2ccc(Cl)cc2)cc1O", repeats)
    print(f"structure SVG (one drawing, server-cached): median {median:.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--admet", action="store_true", help="answer what-if with ADMET too (admet-ai)")
    args = parser.parse_args()
    print(f"web latency bench: sizes {args.sizes}, {args.repeats} repeats; machine: {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    for size in args.sizes:
        run_size(size, args.repeats, args.admet)


if __name__ == "__main__":
    main()
