"""Size and write time of the report at its row cap (every compound drawn up to 2,000).

Ranks the ChEMBL2321810 sulfonamide series (``data/chembl_freewilson``, ~1,000 compounds with their
real pActivity) topped up to ``--n`` with R-group variants of them (a substituent on a C-H or N-H,
given the parent's pActivity: a stand-in, this measures size and time, not science); a third are
"measured", the rest predicted by the tests' kNN stand-in. Writes the report with the default cap. Prints the HTML size, the time to write it and the row
count; with ``--browser``, also the time headless Chromium takes to open the page and to sort and
filter its table. Run: ``nice -n 10 python bench/report_size.py [--n 2000] [--browser]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit"))
sys.path.insert(0, str(ROOT / "bench"))

from rdkit import rdBase  # noqa: E402

from _ranking_data import build_tables, chembl_records  # noqa: E402
from web_latency import variants  # noqa: E402

from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.report import REPORT_ROW_CAP, ReportContext, write_report  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

CORE = "O=S(=O)(N[*:1])c1ccc(O[*:2])cc1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=REPORT_ROW_CAP)
    parser.add_argument("--keep", type=Path, help="write the report here (default: a temporary folder)")
    parser.add_argument("--browser", action="store_true", help="time opening, sorting and filtering in Chromium")
    args = parser.parse_args()
    print(f"report size bench: {args.n} compounds, cap {REPORT_ROW_CAP}; machine: {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    t = time.perf_counter()
    records = chembl_records(args.n, stride=1)
    seen = {smiles for _, smiles, _ in records}
    with rdBase.BlockLogs():
        extra = [(name, smiles, p, variants(smiles, 3)) for name, smiles, p in list(records)]
    for name, smiles, p, found in extra:
        for i, variant in enumerate(found):
            if len(records) >= args.n:
                break
            if variant not in seen:
                seen.add(variant)
                records.append((f"{name}-v{i}", variant, p))
    tables = build_tables(records[:args.n], measured_every=3, n_simulated=10)
    settings = RankSettings(n_samples=300)
    ranked = rank_candidates(merge_candidate_table(**tables), settings)
    print(f"ranked {len(ranked)} in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        paths = write_report(ranked, args.keep or Path(folder), ReportContext(
            project_name="ChEMBL2321810", run_id="bench", config_hash="0" * 64, code_version="bench",
            created_at=datetime(2026, 12, 2, tzinfo=timezone.utc), core=CORE, settings=settings))
        elapsed = time.perf_counter() - t
        html = paths.html.read_text(encoding="utf-8")
        rows, sar_rows = html.count('class="decision-row"'), html.count('class="sar-row"')
        print(f"report written in {elapsed:.1f} s: {paths.html.stat().st_size / 1e6:.1f} MB HTML, {rows} table rows, "
              f"{sar_rows} SAR rows; CSV {paths.csv.stat().st_size / 1e6:.1f} MB, "
              f"SDF {paths.sdf.stat().st_size / 1e6:.1f} MB")
        if args.browser:
            time_in_browser(paths.html)


def time_in_browser(html: Path) -> None:
    """Open the report in headless Chromium, then sort by a column and filter by text, timing each."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1800",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='moltwin-bench-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        t = time.perf_counter()
        driver.get(html.as_uri())
        print(f"Chromium: page loaded in {time.perf_counter() - t:.1f} s")
        button = driver.find_element(By.XPATH, "//th[button[starts-with(normalize-space(), 'MM/GBSA')]]/button")
        for label in ("sort by MM/GBSA", "sort by MM/GBSA, reversed"):
            t = time.perf_counter()
            button.click()
            driver.execute_script("return document.body.offsetHeight")  # wait for the layout
            print(f"Chromium: {label}: {(time.perf_counter() - t) * 1000:.0f} ms")
        t = time.perf_counter()
        driver.find_element(By.ID, "filter-text").send_keys("-v1")  # the variants: hides most rows
        shown = driver.find_element(By.ID, "table-count").text
        print(f"Chromium: filter by text (3 keystrokes, {shown} rows left): {(time.perf_counter() - t) * 1000:.0f} ms")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
