import pytest

from pipeline.config import DEMO_CONFIG, load_config, save_config
from moltwin.errors import ConfigError


def test_demo_config_loads_with_resolved_paths():
    cfg = load_config(DEMO_CONFIG)
    assert cfg.project == "tyk2-demo"
    assert cfg.target.protein_pdb.is_absolute() and cfg.target.protein_pdb.is_file()
    assert cfg.measurements_csv is not None and cfg.measurements_csv.is_file()


def test_overrides_apply_and_change_the_hash():
    base = load_config(DEMO_CONFIG)
    cfg = load_config(DEMO_CONFIG, ["screen.simulate_top_n=0", "generate.max_candidates=50"])
    assert cfg.screen.simulate_top_n == 0 and cfg.generate.max_candidates == 50
    assert cfg.config_hash() != base.config_hash()


def test_unknown_field_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = DEMO_CONFIG.read_text().replace("../data", str(DEMO_CONFIG.parent.parent / "data"))
    bad.write_text(text.replace("  simulate_top_n: 3", "  simulate_top_n: 3\n  turbo: true"))
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "bad.yaml" in str(info.value) and "screen.turbo" in str(info.value)
    assert info.value.exit_code == 2


def test_malformed_yaml_reports_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("project: x\ntarget: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_config(bad)


def test_missing_config_file_and_missing_input_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="target.protein_pdb"):
        load_config(DEMO_CONFIG, ["target.protein_pdb=/no/such/file.pdb"])


def test_bad_override_value_is_rejected():
    with pytest.raises(ConfigError, match="screen.simulate_top_n"):
        load_config(DEMO_CONFIG, ["screen.simulate_top_n=-4"])
    with pytest.raises(ConfigError):
        load_config(DEMO_CONFIG, ["no_equals_sign"])


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(DEMO_CONFIG)
    path = save_config(cfg, tmp_path / "run")
    again = load_config(path)
    assert again.config_hash() == cfg.config_hash()
