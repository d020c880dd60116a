"""Chemistry settings from a YAML file: a run config's sections, or bare filter fields.

``moltwin filter --config`` and ``moltwin generate --config`` accept either a whole run
config (``configs/tyk2-demo.yaml``: its ``generate``, ``standardize`` and ``filter``
sections and ``target.core_smiles`` are used, the rest is ignored) or a file holding
only :class:`chem.settings.FilterSettings` fields. Errors name the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from chem.settings import FilterSettings, GenerateSettings, StandardizeSettings
from moltwin.errors import ConfigError

SECTIONS = ("filter", "standardize", "generate", "target")


@dataclass
class ChemSettings:
    """The chemistry sections of a settings file (defaults where a section is absent)."""

    filter: FilterSettings = field(default_factory=FilterSettings)
    standardize: StandardizeSettings = field(default_factory=StandardizeSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    core_smiles: str | None = None


def validate_section(model: type[BaseModel], data: object, *, file: str | None,
                     section: str | None = None) -> BaseModel:
    """Validate one section, raising :class:`ConfigError` with the file and dotted field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"section must be a mapping, got {type(data).__name__}", file=file,
                          field=section)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in ((section,) if section else ()) + tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{first['msg']}{more}", file=file, field=loc or None) from None


def _resolve_generate_paths(section: dict, base: Path) -> dict:
    """Fragment and building-block files relative to the YAML file's folder."""
    section = dict(section)

    def resolve(p: object) -> object:
        return str((base / p).resolve()) if isinstance(p, str) and not Path(p).is_absolute() else p

    if isinstance(section.get("rgroup_files"), dict):
        section["rgroup_files"] = {k: resolve(v) for k, v in section["rgroup_files"].items()}
    if isinstance(section.get("building_block_files"), dict):
        section["building_block_files"] = {
            k: [resolve(v) for v in vs] if isinstance(vs, list) else vs
            for k, vs in section["building_block_files"].items()}
    return section


def load_chem_settings(path: str | Path) -> ChemSettings:
    """Read filter / standardize / generate settings from a YAML file.

    Parameters
    ----------
    path
        A run config, or a mapping of :class:`FilterSettings` fields.

    Raises
    ------
    moltwin.errors.ConfigError
        Unreadable file, invalid YAML, or an unknown / invalid field (named).
    """
    import yaml

    path = Path(path)
    name = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file: {exc.strerror}", file=name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=name,
                          row=mark.line + 1 if mark else None) from None
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError("the settings file must be a YAML mapping", file=name)
    if not any(key in data for key in SECTIONS):
        return ChemSettings(filter=validate_section(FilterSettings, data, file=name))
    target = data.get("target") or {}
    core = target.get("core_smiles") if isinstance(target, dict) else None
    generate = data.get("generate") or {}
    if isinstance(generate, dict):
        generate = _resolve_generate_paths(generate, path.resolve().parent)
    return ChemSettings(
        filter=validate_section(FilterSettings, data.get("filter"), file=name, section="filter"),
        standardize=validate_section(StandardizeSettings, data.get("standardize"), file=name,
                                     section="standardize"),
        generate=validate_section(GenerateSettings, generate, file=name, section="generate"),
        core_smiles=core)
