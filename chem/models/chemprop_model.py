"""Chemprop v2 (D-MPNN) regression for large series: fixed epochs, no early stopping, CPU by default.

Chemprop learns its own molecular representation (directed message passing over
bonds), which pays off from about a thousand compounds; below that the
fingerprint models of :mod:`chem.models.estimators` are as good and much cheaper.
It is therefore *not* a candidate of the nested model choice (fitting it 5 x 4
times per CV repeat would cost an hour on two cores) but a separate row of
:func:`chem.models.evaluate.evaluate_models` (``chemprop_epochs``): trained once
on the training split for a fixed number of epochs, scored on the test split,
with split-conformal intervals from a scaffold-held-out calibration tenth of the
training rows.

Chemprop ships with admet-ai; :func:`chemprop_available` says whether it imports.
"""

from __future__ import annotations

import time

import numpy as np

# Batch size and learning-rate schedule are chemprop's defaults; hidden size 300, depth 3.
_BATCH_SIZE = 64


def chemprop_available() -> bool:
    """Whether chemprop v2 and lightning import."""
    try:
        import chemprop  # noqa: F401
        from lightning import pytorch  # noqa: F401
    except ImportError:
        return False
    return True


class ChempropRegressor:
    """A Chemprop v2 MPNN trained for ``epochs`` epochs on SMILES.

    Parameters
    ----------
    epochs
        Fixed number of training epochs (no validation-based early stopping).
    seed
        Seed for weights and batch order.
    n_threads
        PyTorch intra-op threads. One by default: on the shared 2-core machine an epoch of
        800 molecules took 6 s with one thread and 67 s with PyTorch's default (threads
        fighting the other jobs for the cores).
    """

    def __init__(self, epochs: int = 30, seed: int = 0, n_threads: int = 1) -> None:
        self.epochs = epochs
        self.seed = seed
        self.n_threads = n_threads

    def _dataset(self, smiles: list[str], y: np.ndarray | None):
        from chemprop import data, featurizers

        targets = np.zeros(len(smiles)) if y is None else np.asarray(y, float)
        points = [data.MoleculeDatapoint.from_smi(s, [t]) for s, t in zip(smiles, targets)]
        return data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())

    def fit(self, smiles: list[str], y: np.ndarray) -> "ChempropRegressor":
        import torch
        from chemprop import data, models, nn
        from lightning import pytorch as pl

        torch.set_num_threads(self.n_threads)
        pl.seed_everything(self.seed, workers=True, verbose=False)
        dataset = self._dataset(smiles, y)
        scaler = dataset.normalize_targets()
        loader = data.build_dataloader(dataset, batch_size=_BATCH_SIZE, num_workers=0, seed=self.seed)
        ffn = nn.RegressionFFN(output_transform=nn.UnscaleTransform.from_standard_scaler(scaler))
        self.model_ = models.MPNN(nn.BondMessagePassing(), nn.MeanAggregation(), ffn, batch_norm=True)
        trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, accelerator="cpu", devices=1,
                             max_epochs=self.epochs, deterministic=False)
        start = time.perf_counter()
        with torch.inference_mode(False):
            trainer.fit(self.model_, loader)
        self.seconds_per_epoch_ = (time.perf_counter() - start) / max(self.epochs, 1)
        return self

    def predict(self, smiles: list[str]) -> np.ndarray:
        import torch
        from chemprop import data

        torch.set_num_threads(self.n_threads)
        loader = data.build_dataloader(self._dataset(smiles, None), batch_size=256, num_workers=0,
                                       shuffle=False)
        self.model_.eval()
        out = []
        with torch.no_grad():
            for batch in loader:
                out.append(self.model_(batch.bmg, batch.V_d, batch.X_d).numpy().ravel())
        return np.concatenate(out) if out else np.zeros(0)
