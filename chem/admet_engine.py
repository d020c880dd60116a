"""Load admet-ai's Chemprop ensembles once per process and run them in batches.

admet-ai ships its model files and its DrugBank-approved reference predictions inside
the package, so nothing is downloaded. Prediction runs the Chemprop networks directly
instead of through ``ADMETModel.predict``: that featurizes every molecule once rather
than once per ensemble member and skips a Lightning trainer per member, with the same
numbers (checked in ``tests/unit/test_admet.py``). RDKit Mols and torch objects stay in
this module and :mod:`chem.admet`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from moltwin.errors import MolTwinError

NOT_PREDICTED = "ADMET not predicted"


class AdmetUnavailableError(MolTwinError):
    """admet-ai cannot run here: not importable, or its model files are missing or unloadable.

    Attributes
    ----------
    reason
        One line saying what is missing, for the report ("ADMET not predicted: <reason>").
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{NOT_PREDICTED}: {reason}")


@dataclass(slots=True)
class AdmetEngine:
    """Loaded admet-ai ensembles and the DrugBank reference, cached per process.

    Attributes
    ----------
    task_lists
        Task ids per ensemble (one ensemble per output head layout).
    model_lists
        Chemprop MPNNs per ensemble, in eval mode on ``device``.
    reference
        Sorted admet-ai predictions for the DrugBank-approved drugs, per task id.
    version
        admet-ai package version.
    device
        ``cuda`` or ``cpu``.
    import_seconds, load_seconds
        Wall time of importing admet-ai (torch, Lightning, Chemprop) and of reading its models.
    """

    task_lists: list[list[str]]
    model_lists: list[list[Any]]
    reference: dict[str, np.ndarray]
    version: str
    device: str
    import_seconds: float
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)


_ENGINES: dict[str, AdmetEngine] = {}
_ENGINES_LOCK = threading.Lock()


def _load_engine(models_dir: Path | None) -> AdmetEngine:
    start = time.perf_counter()
    try:
        import torch
        from admet_ai import ADMETModel
        from admet_ai.constants import DEFAULT_MODELS_DIR
    except Exception as exc:  # ImportError, or OSError from torch's native libraries
        raise AdmetUnavailableError(f"admet-ai cannot be imported ({type(exc).__name__}: {exc})") from exc
    imported = time.perf_counter()
    folder = Path(models_dir) if models_dir else Path(DEFAULT_MODELS_DIR)
    if not folder.is_dir() or not any(folder.glob("*/*.pt")):
        raise AdmetUnavailableError(f"no admet-ai model files (*/*.pt) under {folder}")
    try:
        model = ADMETModel(models_dir=folder, include_physchem=False, num_workers=0)
    except Exception as exc:  # corrupt or incompatible checkpoints
        raise AdmetUnavailableError(f"the admet-ai models in {folder} could not be loaded "
                                    f"({type(exc).__name__}: {exc})") from exc
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for ensemble in model.model_lists:
        for network in ensemble:
            network.eval()
            network.to(device)
    drugbank = model.drugbank_atc_filtered
    tasks = [t for ts in model.task_lists for t in ts]
    reference = {t: np.sort(drugbank[t].to_numpy(dtype=float)) for t in tasks
                 if drugbank is not None and t in drugbank.columns}
    return AdmetEngine(task_lists=model.task_lists, model_lists=model.model_lists, reference=reference,
                       version=importlib_metadata.version("admet_ai"), device=device,
                       import_seconds=imported - start, load_seconds=time.perf_counter() - imported)


def load_admet_engine(models_dir: str | Path | None = None) -> AdmetEngine:
    """Load (once per process and folder) the admet-ai ensembles.

    Raises
    ------
    AdmetUnavailableError
        admet-ai cannot be imported or its model files are missing or unloadable.
    """
    key = str(models_dir or "")
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _load_engine(Path(models_dir) if models_dir else None)
        return _ENGINES[key]


def _predict_batch(engine: AdmetEngine, mols: list, ensembles: list[int]) -> dict[str, np.ndarray]:
    import torch
    from chemprop.data import MoleculeDatapoint, MoleculeDataset, collate_batch

    dataset = MoleculeDataset([MoleculeDatapoint(mol=m) for m in mols])
    bmg, v_d, x_d, *_ = collate_batch(list(dataset))
    bmg.to(engine.device)
    out: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for i in ensembles:
            # admet-ai's own prediction: the plain mean of the ensemble members' outputs.
            mean = torch.stack([net(bmg, v_d, x_d) for net in engine.model_lists[i]]).mean(dim=0)
            values = mean.cpu().numpy()
            out.update({task: values[:, j] for j, task in enumerate(engine.task_lists[i])})
    return out


def run_ensembles(engine: AdmetEngine, mols: list, tasks: list[str],
                  batch_size: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """Raw predictions per task for ``mols`` and an error message per molecule ("" if fine)."""
    ensembles = [i for i, ts in enumerate(engine.task_lists) if set(ts) & set(tasks)]
    values = {t: np.full(len(mols), np.nan) for t in tasks}
    errors = [""] * len(mols)
    for start in range(0, len(mols), batch_size):
        rows = list(range(start, min(start + batch_size, len(mols))))
        try:
            chunks = [(rows, _predict_batch(engine, [mols[r] for r in rows], ensembles))]
        except Exception:  # noqa: BLE001  one odd molecule must not sink its batch: retry one by one
            chunks = []
            for r in rows:
                try:
                    chunks.append(([r], _predict_batch(engine, [mols[r]], ensembles)))
                except Exception as exc:  # noqa: BLE001
                    errors[r] = f"admet-ai failed on this molecule ({type(exc).__name__}: {exc})"
        for chunk_rows, result in chunks:
            for task in tasks:
                values[task][chunk_rows] = result[task]
    return values, errors
