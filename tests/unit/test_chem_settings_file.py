"""Tests of chem.settings_file: chemistry settings from a run config or bare filter fields."""

import pytest

from chem.settings_file import load_chem_settings
from moltwin.errors import ConfigError


def test_settings_from_bare_filter_fields(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("qed_min: 0.5\nalert_catalogs: [PAINS_A]\nmw_da: {min: 250, max: 450}\n")
    settings = load_chem_settings(path)
    assert settings.filter.qed_min == 0.5 and settings.filter.mw_da.max == 450
    assert settings.standardize.max_heavy_atoms == 100


def test_settings_from_a_run_config_resolve_paths(tmp_path):
    (tmp_path / "acyl.smi").write_text("[*]C(=O)C\n")
    path = tmp_path / "run.yaml"
    path.write_text("project: x\ntarget: {core_smiles: 'O=C([*:1])N[*:2]'}\n"
                    "generate: {seed: 3, rgroup_files: {1: acyl.smi}}\n"
                    "filter: {novelty_max_tanimoto: 0.9}\nstandardize: {max_heavy_atoms: 60}\n")
    settings = load_chem_settings(path)
    assert settings.core_smiles == "O=C([*:1])N[*:2]" and settings.generate.seed == 3
    assert settings.generate.rgroup_files[1] == tmp_path / "acyl.smi"
    assert settings.filter.novelty_max_tanimoto == 0.9
    assert settings.standardize.max_heavy_atoms == 60


@pytest.mark.parametrize("text, field", [("qed_min: 2\n", "qed_min"),
                                         ("filter: {mw_da: {min: 5, max: 1}}\n", "filter.mw_da"),
                                         ("filter: {frobnicate: 1}\n", "filter.frobnicate")])
def test_settings_errors_name_file_and_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_chem_settings(path)
    assert err.value.field == field and err.value.file == str(path)


def test_settings_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("qed_min: 0.3\nmw_da: [1, 2\n")
    with pytest.raises(ConfigError) as err:
        load_chem_settings(path)
    assert err.value.row is not None
