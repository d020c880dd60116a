"""Old project configs load with the current decision model, and say what was upgraded."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.config import RunConfig, load_config
from ranking import config_upgrade
from ranking.settings import DEFAULT_STAGES, RankSettings

OLD = Path(__file__).parents[1] / "data" / "old_project_config.yaml"


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    monkeypatch.setattr(config_upgrade, "_NOTICED", set())


def _criteria(settings: RankSettings) -> list[tuple[str, str]]:
    return [(s.name, c.column) for s in settings.stages for c in s.criteria]


def test_old_config_is_upgraded_with_a_notice(caplog):
    with caplog.at_level(logging.WARNING, logger="ranking.config_upgrade"):
        config = load_config(OLD)
    rank = config.rank
    assert ("candidate", "mmgbsa_kcal_mol") not in _criteria(rank)
    assert all(c.requires_measured for s in rank.stages for c in s.criteria
               if c.column == "activity_p")
    assert {d.column for d in rank.desirability}.isdisjoint({"mmgbsa_kcal_mol",
                                                             "calibrated_physics_p"})
    # After the upgrade the old defaults are the current ones.
    assert _criteria(rank) == [(s.name, c.column) for s in DEFAULT_STAGES for c in s.criteria]
    text = caplog.text
    assert "old project config upgraded: stage 'candidate': the absolute gate MM/GBSA <= -35.0 " \
           "kcal/mol was removed" in text
    assert "stage 'hit': its potency gate now requires a measured value" in text
    assert "desirability: MM/GBSA, calibrated physics removed from the score" in text


def test_upgrade_reaches_configs_saved_in_the_store_and_notices_once(caplog):
    # The store keeps configs as JSON (runs.config_json); the sync re-validates them.
    saved = load_config(OLD).model_dump(mode="json")
    old = json.loads(json.dumps(saved))
    old["rank"]["stages"][2]["criteria"].append(
        {"column": "mmgbsa_kcal_mol", "label": "MM/GBSA", "op": "<=", "threshold": -35.0,
         "unit": "kcal/mol"})
    with caplog.at_level(logging.WARNING, logger="ranking.config_upgrade"):
        first = RunConfig.model_validate(old)
        RunConfig.model_validate(old)
    assert ("candidate", "mmgbsa_kcal_mol") not in _criteria(first.rank)
    assert caplog.text.count("MM/GBSA <= -35.0 kcal/mol was removed") == 1


def test_current_config_is_left_alone(caplog):
    with caplog.at_level(logging.WARNING, logger="ranking.config_upgrade"):
        settings = RankSettings.model_validate(RankSettings().model_dump(mode="json"))
    assert settings == RankSettings() and "upgraded" not in caplog.text
    data = {"stages": [{"name": "hit", "criteria": [{"column": "qed", "label": "QED",
                                                      "op": ">=", "threshold": 0.3}]}],
            "target_stage": "hit"}
    assert config_upgrade.upgrade_rank_data(data) == (data, [])
