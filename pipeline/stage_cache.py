"""Content-addressed cache of whole stage outputs, shared by every run of one twin home.

A stage's key is the SHA-256 of what determines its result: the content of the run-folder
tables it reads, the config sections it uses, and its code version (the source files of the
packages it calls plus the versions of the libraries that compute). An entry lives under
``$MOLTWIN_HOME/cache/stages/<stage>/<key>/<variant>/`` and holds copies of the Parquet tables
the stage wrote plus ``result.json`` (the stage's small JSON result) and ``meta.json``. A later
run with the same key copies the tables into its own folder instead of recomputing, with or
without Prefect. Entries are written to a temporary folder and renamed into place, so a run
killed mid-write never leaves half an entry. Parquet and JSON only: nothing is pickled.

``MOLTWIN_STAGE_CACHE=off`` turns lookups and writes off (every stage recomputes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import pandas as pd

from moltwin.paths import cache_dir
from moltwin.provenance import REPO_ROOT, stable_hash

log = logging.getLogger(__name__)

ENV_VAR = "MOLTWIN_STAGE_CACHE"
RESULT_FILE = "result.json"
META_FILE = "meta.json"
#: Columns that record where a row came from, not what it is (upload ids differ between
#: databases holding the same measurements); they never change a stage's result.
PROVENANCE_ONLY_COLUMNS = frozenset({"upload_ids"})


@dataclass(frozen=True, slots=True)
class StageSpec:
    """What a cacheable stage reads, writes and depends on.

    Attributes
    ----------
    name
        Stage name (folder under ``cache/stages/``).
    inputs
        Run-folder tables (Parquet, without suffix) the stage reads; hashed by content.
    outputs
        Run-folder tables the stage writes; copied into and out of the cache entry.
    settings
        The parts of the run config the result depends on (JSON-able via pydantic).
    code
        Repository paths (folders or files) whose source is the stage's code version.
    libraries
        Distributions whose installed versions are part of the code version.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    settings: Callable[[object], dict]
    code: tuple[str, ...] = ("chem", "pipeline/stages.py")
    libraries: tuple[str, ...] = ("rdkit", "numpy", "pandas")


@dataclass(slots=True)
class CacheEntry:
    """One stored stage result: its folder, the stage's JSON result and bookkeeping."""

    path: Path
    result: dict
    meta: dict = field(default_factory=dict)


def cache_enabled() -> bool:
    return os.environ.get(ENV_VAR, "on").strip().lower() not in {"off", "0", "false", "no"}


def stages_dir() -> Path:
    return cache_dir() / "stages"


def table_digest(path: Path) -> str:
    """SHA-256 of a Parquet table's content (columns, dtypes, values), ``"absent"`` if missing.

    Content rather than file bytes: the same rows written by another pandas/pyarrow
    version are the same input.
    """
    if not path.is_file():
        return "absent"
    df = pd.read_parquet(path)
    df = df.drop(columns=[c for c in df.columns if c in PROVENANCE_ONLY_COLUMNS])
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): fall back to their JSON form
        h.update(df.to_json(orient="split", index=False, default_handler=str).encode())
    return h.hexdigest()


def _source_files(rel: str) -> list[Path]:
    root = REPO_ROOT / rel
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


@lru_cache(maxsize=32)
def code_digest(code: tuple[str, ...], libraries: tuple[str, ...]) -> str:
    """Version of a stage's code: its source files' content plus library versions."""
    h = hashlib.sha256(f"python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for rel in code:
        for path in _source_files(rel):
            h.update(str(path.relative_to(REPO_ROOT)).encode())
            h.update(path.read_bytes())
    for name in libraries:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "missing"
        h.update(f"{name}=={version}".encode())
    return h.hexdigest()


def stage_key(spec: StageSpec, run_dir: Path, config: object, extra: dict | None = None) -> str:
    """The content key of ``spec`` for the tables now in ``run_dir`` and ``config``."""
    settings = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v)
                for k, v in spec.settings(config).items()}
    return stable_hash({
        "stage": spec.name,
        "inputs": {name: table_digest(Path(run_dir) / f"{name}.parquet") for name in spec.inputs},
        "settings": settings,
        "code": code_digest(spec.code, spec.libraries),
        "extra": extra or {},
    })


def find_entry(spec: StageSpec, key: str, accept: Callable[[CacheEntry], bool] | None = None
               ) -> CacheEntry | None:
    """The stored entry for ``key`` that ``accept`` agrees to (the first, by variant name)."""
    if not cache_enabled():
        return None
    folder = stages_dir() / spec.name / key
    if not folder.is_dir():
        return None
    for variant in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            entry = CacheEntry(variant, json.loads((variant / RESULT_FILE).read_text()),
                               json.loads((variant / META_FILE).read_text()))
        except (OSError, ValueError) as exc:  # unreadable entry: ignore it, recompute
            log.warning("ignoring unreadable stage cache entry %s: %s", variant, exc)
            continue
        if accept is None or accept(entry):
            return entry
    return None


def _json_default(obj: object) -> object:
    return obj.item() if hasattr(obj, "item") else str(obj)  # numpy scalars -> Python numbers


def save_entry(spec: StageSpec, key: str, run_dir: Path, result: dict, *, variant: str = "_",
               meta: dict | None = None) -> Path | None:
    """Store a finished stage's outputs under its key; returns the entry folder.

    Written to a hidden temporary folder, then renamed: a concurrent writer of the
    same key loses the race harmlessly (both computed the same thing).
    """
    if not cache_enabled():
        return None
    final = stages_dir() / spec.name / key / variant
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{variant}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        stored = []
        for name in spec.outputs:
            src = Path(run_dir) / f"{name}.parquet"
            if src.is_file():
                shutil.copyfile(src, tmp / src.name)
                stored.append(name)
        (tmp / RESULT_FILE).write_text(json.dumps(result, default=_json_default, indent=1))
        (tmp / META_FILE).write_text(json.dumps({**(meta or {}), "stage": spec.name, "key": key,
                                                 "tables": stored}, default=_json_default, indent=1))
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if final.is_dir():
            return final
        raise
    return final


def restore_entry(entry: CacheEntry, run_dir: Path) -> dict:
    """Copy an entry's tables into ``run_dir``; return the stage's result marked as a cache hit.

    Copies, not links: a later in-place rewrite of a run-folder file must not change the cache.
    """
    for name in entry.meta.get("tables", []):
        tmp = Path(run_dir) / f".{name}.parquet.tmp"
        shutil.copyfile(entry.path / f"{name}.parquet", tmp)
        os.replace(tmp, Path(run_dir) / f"{name}.parquet")
    return {**entry.result, "cache": "hit", "cache_key": entry.meta.get("key", "")[:16]}
