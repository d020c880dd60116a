"""The run configuration: one pydantic model composed of each stage's settings.

Loaded from YAML (paths relative to the YAML file), overridden by ``key.sub=value``
pairs from the command line, validated strictly (unknown fields are errors), and
saved with every run together with its hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from chem.admet_settings import AdmetSettings
from chem.models.settings import ModelSettings
from chem.settings import FilterSettings, GenerateSettings, StandardizeSettings
from moltwin.errors import ConfigError
from moltwin.provenance import REPO_ROOT, stable_hash
from moltwin.settings_base import StrictModel
from ranking.settings import RankSettings
from simulation.settings import SimulationSettings

DEMO_CONFIG = REPO_ROOT / "configs" / "tyk2-demo.yaml"


class TargetSettings(StrictModel):
    """The biological target and the series' reference structures.

    A project created with only a target name (its first twin trains, predicts and ranks the
    measured compounds) has no protein and no core: MD needs ``protein_pdb`` and generation
    needs ``core_smiles``.
    """

    name: str = Field(..., min_length=1, description="Target name shown in reports, e.g. 'Tyk2'.")
    protein_pdb: Path | None = Field(None, description="Prepared or raw protein PDB file (MD needs it).")
    reference_ligands_sdf: Path | None = Field(
        None, description="Posed reference ligands (3D, with H) for MCS posing; without them ligands are docked.")
    core_smiles: str = Field("", description="Series core with attachment points [*:1], [*:2] ... (generation needs it).")


class ScreenSettings(StrictModel):
    """How many candidates move through the expensive stages of a screen run."""

    simulate_top_n: int = Field(3, ge=0, le=10_000, description="Candidates sent to MD, by predicted activity.")
    simulate_measured_n: int = Field(
        6, ge=0, le=10_000,
        description="Measured compounds simulated first (spread over the measured potency range), so "
                    "that physics can be calibrated against the series (needs rank.calibration."
                    "min_compounds of them). Only in runs that simulate candidates (simulate_top_n > 0); "
                    "runs are cached by content hash, so a rerun reuses them.")
    max_stereoisomers: int = Field(
        4, ge=1, le=32,
        description="A candidate with open stereocentres is simulated as each of its stereoisomers "
                    "when it has at most this many; with more it is refused (undefined_stereo).")
    batch_size: int = Field(500, ge=1, description="Molecules per chemistry task.")


class RunConfig(StrictModel):
    """Everything a run needs; saved as ``config.yaml`` in the run's results directory."""

    project: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                         description="Project (series) name in the twin store.")
    description: str = ""
    target: TargetSettings
    measurements_csv: Path | None = Field(
        None, description="Assay file synced into the twin before screening (optional).")
    results_dir: Path = Field(Path("results"), description="Run outputs go to <results_dir>/<run_id>/.")
    screen: ScreenSettings = ScreenSettings()
    generate: GenerateSettings = GenerateSettings()
    standardize: StandardizeSettings = StandardizeSettings()
    filter: FilterSettings = FilterSettings()
    model: ModelSettings = ModelSettings()
    admet: AdmetSettings = AdmetSettings()
    simulate: SimulationSettings = SimulationSettings()
    rank: RankSettings = RankSettings()

    @field_validator("measurements_csv")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"file not found: {v}")
        return v

    def config_hash(self) -> str:
        return stable_hash(self.model_dump(mode="json"))

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _parse_override(text: str) -> tuple[list[str], Any]:
    import yaml

    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.field=value", field=text)
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def _resolve_paths(data: dict, base: Path) -> None:
    """Make relative file paths in the raw YAML relative to the YAML file's folder."""
    target = data.get("target")
    if isinstance(target, dict):
        for key in ("protein_pdb", "reference_ligands_sdf"):
            if isinstance(target.get(key), str) and not Path(target[key]).is_absolute():
                target[key] = str((base / target[key]).resolve())
    if isinstance(data.get("measurements_csv"), str) and not Path(data["measurements_csv"]).is_absolute():
        data["measurements_csv"] = str((base / data["measurements_csv"]).resolve())


def load_config(path: Path | str | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config; raises :class:`ConfigError` with file and field."""
    import yaml

    path = Path(path) if path else DEMO_CONFIG
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", file=str(path)) from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                          row=mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict):
        raise ConfigError("the config must be a YAML mapping of sections", file=str(path))
    _resolve_paths(data, path.resolve().parent)
    for item in overrides or []:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{k}' is not a section", file=str(path), field=item)
        node[keys[-1]] = value
    for key in ("protein_pdb", "reference_ligands_sdf"):
        value = (data.get("target") or {}).get(key)
        if value and not Path(value).is_file():
            raise ConfigError(f"file not found: {value}", file=str(path), field=f"target.{key}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{first['msg']}{more}", file=str(path), field=field) from exc


def check_screen_config(config: RunConfig, path: Path | str | None = None) -> RunConfig:
    """``config`` when it can drive a screen: a series core to generate from and a protein to simulate
    (a project's first twin without them trains and ranks only); else :class:`ConfigError` naming the field."""
    for field, value in (("target.core_smiles", config.target.core_smiles),
                         ("target.protein_pdb", config.target.protein_pdb)):
        if not value:
            raise ConfigError(f"a screen needs {field} (the series core to generate analogs from, the "
                              "protein to simulate them in)", file=str(path) if path else None, field=field)
    return config


def save_config(config: RunConfig, run_dir: Path) -> Path:
    """Write ``config.yaml`` and ``config.json`` (with its hash) into the run directory."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(config.to_yaml())
    payload = {"config_hash": config.config_hash(), "config": config.model_dump(mode="json")}
    (run_dir / "config.json").write_text(json.dumps(payload, indent=2))
    return run_dir / "config.yaml"
