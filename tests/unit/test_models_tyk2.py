"""The small-data path: the demo trains on the 16 Tyk2 ligands with experimental binding free energies."""

from pathlib import Path

import numpy as np
import pytest

from chem.models import ModelSettings, predict_activity, train_activity_model
from chem.models.example_series import load_tyk2_ligands

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def ligands():
    return load_tyk2_ligands(DATA / "tyk2/ligands.sdf")


def test_tyk2_ligands_convert_free_energy_to_p_activity(ligands):
    assert len(ligands) == 16 and ligands["compound_id"].is_unique
    ejm_31 = ligands.set_index("compound_id").loc["ejm_31"]
    assert ejm_31["p_activity"] == pytest.approx(9.54 / 1.3642, abs=1e-6)
    assert ligands["smiles"].str.contains("Cl").all()


def test_tyk2_model_trains_and_predicts_its_series(ligands):
    model = train_activity_model(ligands, ModelSettings(n_estimators=50, cv_repeats=3))
    assert model.metadata["n_train"] == 16 and model.metadata["cv_folds_used"] == 5
    p = predict_activity(model, ligands)
    assert np.isfinite(p[["pred_p_activity", "lower_90", "upper_90"]].to_numpy()).all()
    assert p["in_domain"].all()
    assert (p["upper_90"] - p["lower_90"]).min() > 0
    assert np.corrcoef(p["pred_p_activity"], ligands["p_activity"])[0, 1] > 0.5
