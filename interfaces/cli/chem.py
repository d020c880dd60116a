"""moltwin generate / moltwin filter: candidate generation and standardize -> filter on files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import JsonOpt, app, emit, fail

METHODS = ("rgroup", "reaction", "brics", "mutation")


def _parse_site_files(items: list[str]) -> dict[int, list[str]]:
    """``SITE=FILE`` options -> site -> files (a site may be given several times)."""
    from moltwin.errors import BadInputError

    out: dict[int, list[str]] = {}
    for item in items:
        site, sep, path = item.partition("=")
        if not sep or not site.strip().isdigit() or not path.strip():
            raise BadInputError(f"'{item}' must look like SITE=FILE, e.g. 1=acyl.smi",
                                field="--rgroups")
        if not Path(path).is_file():
            raise BadInputError("file not found", file=path, field="--rgroups")
        out.setdefault(int(site), []).append(path)
    return out


def _generate_settings(config: Optional[Path], core: Optional[str], rgroups: list[str],
                       reaction: Optional[str], building_blocks: list[Path], methods: list[str],
                       max_candidates: Optional[int], seed: Optional[int],
                       shipped: Optional[bool], has_series: bool):
    """GenerateSettings from a config's ``generate`` section overridden by the options."""
    from chem.generate import read_fragment_file
    from chem.settings import GenerateSettings
    from chem.settings_file import load_chem_settings, validate_section
    from moltwin.errors import BadInputError

    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise BadInputError(f"unknown method {bad[0]} (use {', '.join(METHODS)})", field="--method")
    data: dict = {}
    if config is not None:
        loaded = load_chem_settings(config)
        data = loaded.generate.model_dump()
        if data.get("core_smiles") is None and loaded.core_smiles:
            data["core_smiles"] = loaded.core_smiles
    if core is not None:
        data["core_smiles"] = core
    extra_rgroups = dict(data.get("rgroups") or {})
    for site, files in _parse_site_files(rgroups).items():
        for path in files:
            extra_rgroups.setdefault(site, []).extend(read_fragment_file(path))
    data["rgroups"] = extra_rgroups
    if reaction is not None:
        missing = [str(p) for p in building_blocks if not Path(p).is_file()]
        if not building_blocks or missing:
            raise BadInputError("file not found" if missing else "--reaction needs one "
                                "--building-blocks FILE per reactant", file=(missing or [None])[0],
                                field="--building-blocks")
        data["reactions"] = [reaction]
        data["building_block_files"] = {reaction: [str(p) for p in building_blocks]}
    if methods:  # an explicit method list switches the others off
        if "rgroup" not in methods:
            data["core_smiles"] = None
        if "reaction" not in methods:
            data["reactions"] = []
        data["analog_methods"] = [m for m in methods if m in ("brics", "mutation")]
    for key, value in (("max_candidates", max_candidates), ("seed", seed),
                       ("use_shipped_substituents", shipped)):
        if value is not None:
            data[key] = value
    if not has_series:
        data["use_series_rgroups"] = False
    settings = validate_section(GenerateSettings, data, file=str(config) if config else None)
    if "rgroup" in methods and not settings.core_smiles:
        raise BadInputError("method rgroup needs --core (or target.core_smiles in --config)",
                            field="--core")
    if settings.analog_methods and not has_series:
        raise BadInputError(f"method {settings.analog_methods[0]} needs --series (the seeds)",
                            field="--series")
    if not (settings.core_smiles or settings.reactions or settings.analog_methods):
        raise BadInputError("nothing to generate: give --core, --reaction with "
                            "--building-blocks, or --method brics|mutation with --series",
                            field="--method")
    return settings


@app.command()
def generate(core: Optional[str] = typer.Option(None, "--core", help="Core SMILES with [*:1], [*:2] ... sites."),
             rgroups: list[str] = typer.Option([], "--rgroups", help="SITE=FILE: fragments (.smi/.yaml, one [*] each) for a site; repeatable."),
             series: Optional[Path] = typer.Option(None, "--series", help="Seed compounds (.smi/.sdf/.csv/.parquet): R groups to recombine, seeds of BRICS/mutation analogs, excluded from the output."),
             reaction: Optional[str] = typer.Option(None, "--reaction", help="Reaction name from chem/data/reactions.yaml (or a reaction SMARTS)."),
             building_blocks: list[Path] = typer.Option([], "--building-blocks", help="Building-block file, one per reactant in order; repeatable."),
             method: list[str] = typer.Option([], "--method", help="rgroup|reaction|brics|mutation; repeatable (default: whatever the options enable)."),
             max_candidates: Optional[int] = typer.Option(None, "--max", min=1, help="Cap per generator (seeded sample when larger)."),
             seed: Optional[int] = typer.Option(None, "--seed", help="Seed of every random choice."),
             shipped: Optional[bool] = typer.Option(None, "--shipped-substituents/--no-shipped-substituents", help="Add chem/data/substituents.yaml fragments (R-group method)."),
             config: Optional[Path] = typer.Option(None, "--config", help="YAML run config: its generate section and target.core_smiles are the defaults."),
             out: Path = typer.Option(..., "--out", help="Candidates: .parquet, .csv, .sdf or .smi."),
             failures: Optional[Path] = typer.Option(None, "--failures", help="Failure rows (bad fragments, unsanitizable products)."),
             as_json: bool = JsonOpt) -> None:
    """Generate candidates around a series: R-group enumeration, reactions, BRICS or mutations."""
    try:
        import pandas as pd

        from chem.generate import generate_candidates
        from chem.io import read_all_molecules
        from chem.sinks import TableSink, write_frame

        for path in (out, failures):
            if path is not None:
                TableSink(path)  # an unknown output type fails before any work
        seeds = read_all_molecules(series) if series is not None else \
            pd.DataFrame(columns=["compound_id", "smiles"])
        settings = _generate_settings(config, core, rgroups, reaction, building_blocks, method,
                                      max_candidates, seed, shipped, series is not None)
        result = generate_candidates(settings, seeds[["compound_id", "smiles"]])
        write_frame(result.candidates, out)
        if failures is not None:
            write_frame(result.failures, failures)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    cands, fails = result.candidates, result.failures
    summary = {"n_candidates": int(len(cands)),
               "by_origin": {str(k): int(v) for k, v in cands["origin"].value_counts().items()},
               "n_failures": int(len(fails)),
               "failure_counts": {str(k): int(v) for k, v in fails["reason_code"].value_counts().items()},
               "n_seeds": int(len(seeds)), "out": str(out),
               "settings": settings.model_dump(mode="json")}
    origins = ", ".join(f"{k} {v}" for k, v in summary["by_origin"].items()) or "none"
    emit(summary, as_json, f"{len(cands)} candidates ({origins}); {len(fails)} failures; "
         f"written to {out}")
    if len(cands) == 0:
        raise typer.Exit(1)


def _funnel_text(summary: dict) -> str:
    lines = [f"{'step':<16}{'in':>9}{'rejected':>10}{'out':>9}"]
    lines += [f"{r['step']:<16}{r['n_in']:>9}{r['n_rejected']:>10}{r['n_out']:>9}"
              for r in summary["funnel"]]
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary["failure_counts"].items()))
    lines.append(f"{summary['n_input']} molecules: {summary['n_kept']} kept, "
                 f"{summary['n_rejected']} rejected by filters, {summary['n_failed']} failed "
                 f"({reasons or 'none'}); {summary['molecules_per_s']} mol/s on "
                 f"{summary['processes']} process(es)")
    for row in summary["first_failures"][:5]:
        lines.append(f"  line {row['input_line']}: {row['compound_id']}: {row['reason_code']}: "
                     f"{row['message']}")
    lines.append("outputs: " + ", ".join(f"{k} {v}" for k, v in summary["outputs"].items()))
    return "\n".join(lines)


@app.command("filter")
def filter_cmd(in_path: Path = typer.Option(..., "--in", help="Molecules: .smi, .sdf, .csv/.tsv or .parquet (gzip ok)."),
               out: Path = typer.Option(..., "--out", help="Kept molecules: .parquet, .csv, .sdf or .smi."),
               rejected: Optional[Path] = typer.Option(None, "--rejected", help="Molecules rejected by a filter, with rejected_by and reasons."),
               failures: Optional[Path] = typer.Option(None, "--failures", help="Standardization and duplicate failures, with input line numbers."),
               funnel: Optional[Path] = typer.Option(None, "--funnel", help="Funnel table (step, n_in, n_rejected, n_out)."),
               config: Optional[Path] = typer.Option(None, "--config", help="YAML with filter:/standardize: sections (a run config works) or bare FilterSettings fields."),
               known: Optional[Path] = typer.Option(None, "--known", help="Known compounds for novelty (max_tanimoto_known; filter.novelty_max_tanimoto rejects)."),
               processes: int = typer.Option(1, "--processes", min=0, help="Worker processes (0: one per CPU core)."),
               chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="Molecules per chunk."),
               fingerprints: bool = typer.Option(False, "--fingerprints", help="Add morgan_fp (packed Morgan-2, 2048 bits) to kept rows."),
               smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="SMILES column of a CSV/Parquet input (default smiles)."),
               id_column: Optional[str] = typer.Option(None, "--id-column", help="Id column of a CSV/Parquet input, or SD tag of an SD file."),
               as_json: bool = JsonOpt) -> None:
    """Standardize, deduplicate and filter a molecule file; every molecule not kept says why."""
    try:
        import os

        from chem.io import read_all_molecules, reader_options
        from chem.pipeline import filter_file
        from chem.settings_file import ChemSettings, load_chem_settings

        loaded = load_chem_settings(config) if config is not None else ChemSettings()
        options = reader_options(in_path, smiles_column=smiles_column, id_column=id_column)
        known_smiles = None
        if known is not None:
            table = read_all_molecules(known)
            known_smiles = dict(zip(table["compound_id"].astype(str), table["smiles"]))
        show = sys.stderr.isatty() and not as_json
        seen = [0]

        def progress(n: int) -> None:
            seen[0] += n
            typer.echo(f"\r{seen[0]} molecules", err=True, nl=False)

        summary = filter_file(in_path, out, loaded.filter, loaded.standardize, rejected_path=rejected,
                              failures_path=failures, funnel_path=funnel, known_smiles=known_smiles,
                              processes=processes or os.cpu_count() or 1, chunk_size=chunk_size,
                              fingerprint=(2, 2048) if fingerprints else None,
                              read_options=options, progress=progress if show else None)
        if show:
            typer.echo("", err=True)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(summary, as_json, _funnel_text(summary))
