"""RankSettings: defaults, YAML round trip and rejection of bad configs."""

from __future__ import annotations

import pytest

from moltwin.errors import ConfigError
from ranking.settings import DesirabilitySpec, GateCriterion, RankSettings


def test_defaults_cover_the_required_properties_and_stages():
    settings = RankSettings()
    columns = {d.column for d in settings.desirability}
    assert {"activity_p", "qed", "sa_score", "clogp", "mw_da", "tpsa_a2", "n_alerts",
            "frac_frames_within_2A"} <= columns
    # Physics enters through the potency estimate, not as a property of its own.
    assert not {"mmgbsa_kcal_mol", "calibrated_physics_p"} & columns
    assert [s.name for s in settings.stages] == ["hit", "lead", "candidate", "clinical"]
    assert settings.stages[-1].display == "recommend for clinical progression"
    assert settings.target_stage == "lead"


def test_yaml_round_trip_and_partial_override(tmp_path):
    path = tmp_path / "rank.yaml"
    path.write_text(RankSettings().to_yaml(), encoding="utf-8")
    assert RankSettings.from_yaml(path) == RankSettings()
    path.write_text("n_samples: 500\nnext_batch:\n  size: 4\n  acquisition: ei\n", encoding="utf-8")
    loaded = RankSettings.from_yaml(path)
    assert loaded.n_samples == 500 and loaded.next_batch.size == 4
    assert loaded.next_batch.acquisition == "ei" and loaded.stages == RankSettings().stages


@pytest.mark.parametrize("text", ["n_sample: 5\n", "target_stage: preclinical\n", "- 1\n- 2\n",
                                  "seed: [\n"])
def test_bad_yaml_raises_config_error(tmp_path, text):
    path = tmp_path / "rank.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        RankSettings.from_yaml(path)


def test_settings_are_frozen_and_validated():
    settings = RankSettings()
    with pytest.raises(Exception):
        settings.seed = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        DesirabilitySpec(column="x", label="x", kind="higher", low=2, high=1, group="potency")
    with pytest.raises(ValueError):
        GateCriterion(column="activity_p", label="p", op=">=", threshold=7, requires_measured=True)
