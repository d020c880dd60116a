"""Throughput of standardize -> filter -> Morgan fingerprint: MolTwin's pipeline vs bare RDKit.

Input: RDKit's ``Data/NCI/first_5K.smi`` (4,999 NCI compounds) replicated to ``--n``
molecules. Replicas get distinct ids (``<NSC id>_r<k>``) and the pipeline runs with
structure deduplication off (``deduplicate=False``; ids are still deduplicated), so every
replica goes through the whole chain; the floor loop does the same (no structure dedup).

Printed figures:

* two floors, both the same RDKit operations as bare calls, results kept as tuples in
  memory (parse, sanitize, the same standardization steps and checks, canonical SMILES,
  InChIKey, the ten properties, the same rules and reason strings, the four alert
  catalogs, packed Morgan-2 2048-bit fingerprints of kept molecules): one plain loop
  (each molecule standardized then filtered), and the same loop phased by chunk
  (standardize a chunk, then filter it: the pipeline's order, which keeps each phase's
  code and tables in the CPU caches and is measurably faster than the plain loop);
* MolTwin's :func:`chem.pipeline.filter_file` on one process (reading, chunks, DataFrames,
  failure records, Parquet outputs for kept / rejected / failures) and on ``--processes``;
* the pipeline/floor ratios (wall clock and CPU time; CPU time is the steadier one on a
  busy machine), the 1 -> N process speed-up (wall, and the CPU-time estimate for free
  cores), and peak memory (parent RSS, largest worker RSS, PSS of the whole process
  tree) at n/10 and n molecules, to show memory does not grow with the input;
* the machine's ceiling for that speed-up: N independent 1-process pipelines, each on
  1/N of the input, started at once in separate interpreters (no pool, nothing shared).
  Their speed-up over the 1-process run is what the cores give this code when nothing
  is shared; on a VM whose cores contend (shared caches, memory bandwidth, SMT on the
  host) it is below N, and the pool's speed-up is judged against it too.

Usage::

    python bench/chem_throughput.py            # 100,000 molecules
    python bench/chem_throughput.py --quick    # 10,000 molecules
    python bench/chem_throughput.py --repeats 3 --processes 2
    python bench/chem_throughput.py --sections pipeline,parallel,ceiling   # skip the floors
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from functools import cache
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def nci_path() -> Path:
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def replicate(n: int, out: Path) -> Path:
    """Write ``n`` lines cycling over first_5K.smi, ids tagged with the replica number."""
    lines = [ln.split() for ln in nci_path().read_text().splitlines() if ln.strip()]
    with open(out, "w") as fh:
        for i in range(n):
            smi, cid = lines[i % len(lines)][:2]
            fh.write(f"{smi} {cid}_r{i // len(lines)}\n")
    return out


@cache
def floor_tools() -> SimpleNamespace:
    """The floor's one-off set-up (standardizers, queries, catalogs, SA table), built once
    per process like the pipeline's worker caches, so both are timed in steady state."""
    from rdkit import Chem, RDConfig
    from rdkit.Chem import rdFingerprintGenerator, rdqueries
    from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
    from rdkit.Chem.MolStandardize import rdMolStandardize

    sys.path.append(f"{RDConfig.RDContribDir}/SA_Score")
    import sascorer

    sascorer.readFragmentScores()
    organic = [1, 5, 6, 7, 8, 9, 14, 15, 16, 17, 34, 35, 53]
    allowed = sorted(set(organic) | {2, 10, 18, 33, 36, 52, 54, 86, 0, 3, 11, 12, 19, 20, 37, 38, 55, 56})
    catalogs = []
    for name in ("PAINS_A", "PAINS_B", "PAINS_C", "BRENK"):
        params = FilterCatalogParams()
        params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
        catalogs.append(("Brenk" if name == "BRENK" else "PAINS", FilterCatalog(params)))
    return SimpleNamespace(
        sascorer=sascorer, catalogs=catalogs,
        non_organic=Chem.MolFromSmarts("[" + ";".join(f"!#{z}" for z in organic) + "]"),
        bonded_metal=Chem.MolFromSmarts("[" + ";".join(f"!#{z}" for z in allowed) + ";!D0]"),
        carbon=Chem.MolFromSmarts("[#6]"), radical=rdqueries.NumRadicalElectronsGreaterQueryAtom(0),
        metal=rdMolStandardize.MetalDisconnector(), normalizer=rdMolStandardize.Normalizer(),
        reionizer=rdMolStandardize.Reionizer(),
        largest=rdMolStandardize.LargestFragmentChooser(preferOrganic=True),
        uncharger=rdMolStandardize.Uncharger(canonicalOrder=True),
        gen=rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048))


def floor_chain(path: Path, block: int = 1) -> tuple[int, int, int]:
    """The same chain as bare RDKit calls; returns (kept, rejected, failed).

    ``block=1``: one plain loop, each molecule standardized then filtered. ``block=k``:
    the same calls, standardizing ``k`` molecules before filtering them (the pipeline's
    order: each phase's code and tables stay in the CPU caches for a whole chunk).
    """
    import numpy as np
    from rdkit import Chem, rdBase
    from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

    t = floor_tools()
    strict = rdMolDescriptors.NumRotatableBondsOptions.Strict
    windows = [("mw", 0, 200, 550), ("clogp", 1, -1, 5.5), ("tpsa", 2, 20, 140), ("hbd", 3, None, 5),
               ("hba", 4, None, 10), ("rotatable_bonds", 5, None, 10), ("heavy_atoms", 6, 10, 40),
               ("formal_charge", 7, -1, 1)]
    kept, rejected, failed, seen_ids, pending = [], [], [], set(), []

    def standardize(cid: str, smi: str, line_no: int) -> None:
        if cid in seen_ids:
            failed.append((cid, line_no, "duplicate_id"))
            return
        seen_ids.add(cid)
        mol = Chem.MolFromSmiles(smi, sanitize=False)
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # also catches mol None
            failed.append((cid, line_no, "unparsable_smiles"))
            return
        if mol.GetNumHeavyAtoms() == 0:
            failed.append((cid, line_no, "empty_molecule"))
            return
        frags = Chem.GetMolFrags(mol)
        n_heavy = mol.GetNumHeavyAtoms() if len(frags) == 1 else max(
            sum(mol.GetAtomWithIdx(i).GetAtomicNum() > 1 for i in f) for f in frags)
        if n_heavy > 100 or mol.HasSubstructMatch(t.bonded_metal):
            failed.append((cid, line_no, "too_large_or_metal"))
            return
        out = t.uncharger.uncharge(t.largest.choose(t.reionizer.reionize(t.normalizer.normalize(
            t.metal.Disconnect(Chem.RemoveHs(mol))))))
        Chem.AssignStereochemistry(out, cleanIt=True, force=True)
        if (out.HasSubstructMatch(t.non_organic) or out.GetAtomsMatchingQuery(t.radical)
                or not out.HasSubstructMatch(t.carbon)):
            failed.append((cid, line_no, "metal_or_radical"))
            return
        pending.append((cid, Chem.MolToSmiles(out), Chem.MolToInchiKey(out), smi, line_no, out))

    def evaluate(cid, std_smiles, key, smi, line_no, out) -> None:
        mw, logp = Descriptors.MolWt(out), Crippen.MolLogP(out)
        tpsa, rotb = rdMolDescriptors.CalcTPSA(out), rdMolDescriptors.CalcNumRotatableBonds(out, strict)
        props = [mw, logp, tpsa, rdMolDescriptors.CalcNumLipinskiHBD(out),
                 rdMolDescriptors.CalcNumLipinskiHBA(out), rotb, out.GetNumHeavyAtoms(),
                 Chem.GetFormalCharge(out)]
        qprops = QED.QEDproperties(
            MW=mw, ALOGP=logp, HBA=sum(len(out.GetSubstructMatches(p)) for p in QED.Acceptors
                                       if out.HasSubstructMatch(p)),
            HBD=rdMolDescriptors.CalcNumHBD(out), PSA=tpsa, ROTB=rotb,
            AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(out), QED.AliphaticRings))),
            ALERTS=sum(1 for a in QED.StructuralAlerts if out.HasSubstructMatch(a)))
        qed, sa = QED.qed(out, qedProperties=qprops), t.sascorer.calculateScore(out)
        reasons = [f"{label} {props[i]:.2f} < {lo}" for label, i, lo, _ in windows
                   if lo is not None and props[i] < lo]
        reasons += [f"{label} {props[i]:.2f} > {hi}" for label, i, _, hi in windows if props[i] > hi]
        broken = [v > lim for v, lim in zip(props[:2] + props[3:5], (500, 5, 5, 10))]
        if sum(broken) > 1:
            reasons.append(f"lipinski {sum(broken)} violations > 1")
        reasons += [f"veber: {v}" for v, lim in ((rotb, 10), (tpsa, 140)) if v > lim]
        if qed < 0.3:
            reasons.append(f"qed {qed:.2f} < 0.3")
        if sa > 6:
            reasons.append(f"sa_score {sa:.2f} > 6")
        for family, catalog in t.catalogs:
            reasons += [f"{family}: {e.GetDescription()}" for e in catalog.GetMatches(out)]
        row = (cid, std_smiles, key, smi, line_no, *props, qed, sa)
        if reasons:
            rejected.append((*row, "; ".join(reasons)))
        else:
            kept.append((*row, np.packbits(t.gen.GetFingerprintAsNumPy(out)).tobytes()))

    _quiet = rdBase.BlockLogs()  # noqa: F841
    with open(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            smi, cid = line.split()
            standardize(cid, smi, line_no)
            if line_no % block == 0:
                for item in pending:
                    evaluate(*item)
                pending.clear()
    for item in pending:
        evaluate(*item)
    return len(kept), len(rejected), len(failed)


def run_pipeline(path: Path, out_dir: Path, processes: int, chunk_size: int) -> dict:
    from chem.pipeline import filter_file

    return filter_file(path, out_dir / f"kept_{processes}.parquet",
                       rejected_path=out_dir / f"rejected_{processes}.parquet",
                       failures_path=out_dir / f"failures_{processes}.parquet",
                       processes=processes, chunk_size=chunk_size, fingerprint=(2, 2048),
                       deduplicate=False)


class TreeMonitor:
    """Samples this process and its descendants (workers, fork server): peak RSS per
    process, peak PSS of the whole tree (shared pages counted once), and CPU seconds."""

    def __init__(self, interval: float = 0.5, pss: bool = False) -> None:
        import psutil

        self.me, self.interval, self.pss = psutil.Process(), interval, pss
        self.peak = {"parent": 0.0, "worker": 0.0, "tree_pss": 0.0}
        self.child_cpu: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self.done.is_set():
            try:
                kids = self.me.children(recursive=True)
                # PSS reads /proc/<pid>/smaps (costly): only in the memory runs.
                mem = (lambda p: p.memory_full_info()) if self.pss else (lambda p: p.memory_info())
                infos = [(k.pid, mem(k), k.cpu_times()) for k in kids]
                mine = mem(self.me)
            except psutil.Error:  # a process ended between listing and reading it
                continue
            self.peak["parent"] = max(self.peak["parent"], mine.rss / 2**20)
            self.peak["worker"] = max([self.peak["worker"], *(m.rss / 2**20 for _, m, _ in infos)])
            if self.pss:
                self.peak["tree_pss"] = max(self.peak["tree_pss"],
                                            (mine.pss + sum(m.pss for _, m, _ in infos)) / 2**20)
            for pid, _, cpu in infos:
                self.child_cpu[pid] = cpu.user + cpu.system
            self.done.wait(self.interval)

    def __enter__(self) -> "TreeMonitor":
        self.cpu0 = time.process_time()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        self.parent_cpu = time.process_time() - self.cpu0
        self.worker_cpu = sum(self.child_cpu.values())


def timed(fn, *args):
    """(result, wall seconds, parent CPU seconds, worker CPU seconds)."""
    wall = time.perf_counter()
    with TreeMonitor() as mon:
        out = fn(*args)
    return out, time.perf_counter() - wall, mon.parent_cpu, mon.worker_cpu


def rss_child(path: Path, processes: int, chunk_size: int) -> None:
    """Run the pipeline in a fresh process and print its memory peaks as JSON."""
    with tempfile.TemporaryDirectory() as tmp, TreeMonitor(interval=0.2, pss=True) as mon:
        summary = run_pipeline(path, Path(tmp), processes, chunk_size)
    print(json.dumps(mon.peak | {"n": summary["n_input"]}))


def peak_rss(path: Path, processes: int, chunk_size: int) -> dict:
    cmd = [sys.executable, __file__, "--rss-child", str(path), "--processes", str(processes),
           "--chunk-size", str(chunk_size)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pipeline_child(path: Path, chunk_size: int) -> None:
    """One 1-process pipeline in a fresh interpreter (warm-up untimed); prints its timing as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_pipeline(replicate(100, tmp / "warm.smi"), tmp, 1, chunk_size)
        wall, cpu = time.perf_counter(), time.process_time()
        summary = run_pipeline(path, tmp, 1, chunk_size)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                          "n": summary["n_input"]}))


def independent_runs(path: Path, processes: int, chunk_size: int, tmp: Path) -> list[dict]:
    """Split ``path`` into ``processes`` parts and run a 1-process pipeline on each, all at once."""
    lines = path.read_text().splitlines(keepends=True)
    size = -(-len(lines) // processes)
    parts = []
    for i in range(processes):
        part = tmp / f"part{i}.smi"
        part.write_text("".join(lines[i * size:(i + 1) * size]))
        parts.append(part)
    children = [subprocess.Popen([sys.executable, __file__, "--pipeline-child", str(part),
                                  "--chunk-size", str(chunk_size)], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True) for part in parts]
    results = []
    for child in children:
        out, _ = child.communicate()
        if child.returncode:
            raise SystemExit(f"independent pipeline run failed (exit {child.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


SECTIONS = ("floor", "pipeline", "parallel", "ceiling", "memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="molecules (first_5K replicated)")
    parser.add_argument("--quick", action="store_true", help="10,000 molecules")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="processes of the parallel run")
    parser.add_argument("--repeats", type=int, default=1, help="alternating timed runs (best kept)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="comma-separated subset of " + ",".join(SECTIONS)
                        + " (parallel and ceiling need pipeline)")
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.processes, args.chunk_size)
        return
    if args.pipeline_child:
        pipeline_child(args.pipeline_child, args.chunk_size)
        return
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    if {"parallel", "ceiling"} & set(sections) and "pipeline" not in sections:
        parser.error("sections parallel and ceiling compare against pipeline: add it")
    n = 10_000 if args.quick else args.n
    procs, chunk = args.processes, args.chunk_size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lib = replicate(n, tmp / "library.smi")
        warm = replicate(100, tmp / "warm.smi")
        floor_chain(warm)  # imports and one-off RDKit start-up out of the timings
        run_pipeline(warm, tmp, 1, chunk)
        print(f"input: {nci_path().name} replicated to {n} molecules (ids tagged per replica, "
              f"structure dedup off); chunks of {chunk}; best of {args.repeats} alternating runs")
        runs = {"loop": lambda: floor_chain(lib), "phased": lambda: floor_chain(lib, chunk),
                "pipeline": lambda: run_pipeline(lib, tmp, 1, chunk)}
        if "floor" not in sections:
            runs = {k: v for k, v in runs.items() if k not in ("loop", "phased")}
        if "pipeline" not in sections:
            runs.pop("pipeline")
        best: dict[str, tuple[float, float]] = {}
        counts: dict[str, tuple[int, int, int]] = {}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                out, wall, cpu, _ = timed(fn)
                counts[name] = out if name != "pipeline" else (
                    out["n_kept"], out["n_rejected"], out["n_failed"])
                old = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(old[0], wall), min(old[1], cpu))
        labels = {"loop": "floor, one plain loop", "phased": f"floor, phased by {chunk}",
                  "pipeline": "pipeline, 1 process"}
        for name, (wall, cpu) in best.items():
            kept, rejected, failed = counts[name]
            print(f"{labels[name]:<26}{n / wall:8.1f} mol/s wall {n / cpu:8.1f} mol/s CPU   "
                  f"kept {kept} rejected {rejected} failed {failed}")
        if len(set(counts.values())) != 1:
            print("WARNING: floor and pipeline disagree on the counts; the chains differ")
        p_wall, p_cpu = best.get("pipeline", (float("nan"), float("nan")))
        for name in ("loop", "phased"):
            if name not in best or "pipeline" not in best:
                continue
            f_wall, f_cpu = best[name]
            print(f"ratio pipeline / {labels[name]:<24}{f_wall / p_wall:6.3f} wall {f_cpu / p_cpu:6.3f}"
                  " CPU   (target >= 0.85)")
        speedup = None
        if "parallel" in sections:
            s2, q_wall, q_parent, q_workers = timed(run_pipeline, lib, tmp, procs, chunk)
            estimate = p_cpu / ((q_parent + q_workers) / procs)
            speedup = p_wall / q_wall
            print(f"pipeline, {procs} processes:    {n / q_wall:8.1f} mol/s wall   speed-up 1 -> {procs}: "
                  f"{speedup:.2f}x wall (target >= 1.8x)\n  CPU s: parent {q_parent:.1f} + "
                  f"workers {q_workers:.1f} vs {p_cpu:.1f} serial -> {estimate:.2f}x if {procs} cores "
                  f"were free; same kept count as serial: {s2['n_kept'] == counts['pipeline'][0]}")
        if "ceiling" in sections:
            parts = independent_runs(lib, procs, chunk, tmp)
            ceiling = p_wall / max(p["wall"] for p in parts)
            inflation = sum(p["cpu"] for p in parts) / p_cpu
            print(f"ceiling, {procs} independent 1-process pipelines on 1/{procs} each, at once: "
                  f"speed-up {ceiling:.2f}x wall; their CPU s {inflation:.3f}x the serial run's "
                  "(>1: the cores slow each other down)")
            if speedup is not None:
                print(f"  pool speed-up / ceiling: {speedup / ceiling:.3f}  (1.0 = the pool costs nothing)")
        if "memory" not in sections:
            return
        small = replicate(max(n // 10, 2 * procs * chunk), tmp / "small.smi")  # every worker busy
        for label, path in (("n/10", small), ("n", lib)):
            rss = peak_rss(path, procs, chunk)
            print(f"peak memory at {label:>4} ({rss['n']:>7} mol, {procs} processes): parent RSS "
                  f"{rss['parent']:6.1f} MiB  largest worker RSS {rss['worker']:6.1f} MiB  "
                  f"process tree PSS {rss['tree_pss']:6.1f} MiB")


if __name__ == "__main__":
    main()
