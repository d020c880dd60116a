"""Activity models for a compound series: calibrated intervals, censored data, applicability domain.

Public entry points::

    from chem.models import ModelSettings, train_activity_model, predict_activity
    model = train_activity_model(table)             # compound_id, smiles, p_activity, qualifier
    predictions = predict_activity(model, smiles)   # pred_p_activity, lower_90, in_domain, ...
"""

from importlib import import_module

# Lazy re-exports (PEP 562): importing ``chem.models.settings`` (as the run config does)
# must not pull in scikit-learn and SciPy, which would slow every CLI command.
_EXPORTS = {
    "evaluate_models": "chem.models.evaluate", "predict_activity": "chem.models.predict",
    "prediction_failures": "chem.models.predict", "attach_out_of_fold": "chem.models.predict",
    "iter_predictions": "chem.models.predict", "list_models": "chem.models.registry",
    "load_model": "chem.models.registry", "save_model": "chem.models.registry",
    "ModelSettings": "chem.models.settings", "split_rows": "chem.models.splits",
    "train_activity_model": "chem.models.train", "TrainedModel": "chem.models.trained_model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'chem.models' has no attribute {name!r}")
