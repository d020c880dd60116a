"""Tests of chem.settings: defaults, strictness, validation."""

import pytest
from pydantic import ValidationError

from chem.settings import FilterSettings, GenerateSettings, StandardizeSettings, Window


def test_filter_defaults_are_medchem_limits():
    s = FilterSettings()
    assert s.mw_da.max == 550 and s.hbd.max == 5 and s.hba.max == 10
    assert s.lipinski_max_violations == 1 and s.veber
    assert set(s.alert_catalogs) == {"PAINS_A", "PAINS_B", "PAINS_C", "BRENK"}
    assert s.novelty_max_tanimoto is None


def test_settings_are_strict_and_frozen():
    with pytest.raises(ValidationError):
        FilterSettings(mw_max=500)  # unknown field
    s = FilterSettings()
    with pytest.raises(ValidationError):
        s.qed_min = 0.1  # frozen
    with pytest.raises(ValidationError):
        FilterSettings(alert_catalogs=["PAINS_Z"])


def test_window_order_and_yaml_style_input():
    assert FilterSettings(mw_da={"min": 100, "max": 400}).mw_da == Window(min=100, max=400)
    with pytest.raises(ValidationError, match="larger than max"):
        Window(min=5, max=1)


def test_user_smarts_are_validated():
    FilterSettings(user_alerts_smarts={"acyl_halide": "C(=O)[Cl,Br]"})
    with pytest.raises(ValidationError, match="broken"):
        FilterSettings(user_alerts_smarts={"broken": "C(=O"})


def test_generate_core_needs_numbered_sites():
    assert GenerateSettings(core_smiles="c1ccccc1[*:1]").core_smiles
    with pytest.raises(ValidationError, match="attachment"):
        GenerateSettings(core_smiles="c1ccccc1*")
    assert StandardizeSettings().max_heavy_atoms == 100
