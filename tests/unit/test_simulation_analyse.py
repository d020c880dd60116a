"""Frame summaries: replicas combined with an honest error, and the candidate stability measures."""

import math

import numpy as np
import pandas as pd
import pytest

from simulation.analyse import (STABILITY_HIGHER_IS_STABLE, combine_replicas, stability_measures,
                                summarize_frames)


def _frames(rmsd, contacts, energy):
    return pd.DataFrame({"ligand_rmsd_A": rmsd, "n_contacts": contacts, "mmgbsa_kcal_mol": energy})


def test_replicas_mean_and_the_larger_of_between_and_within_errors():
    rng = np.random.default_rng(0)
    summaries = [summarize_frames(_frames(np.full(40, 0.5), np.full(40, 30),
                                          centre + 0.1 * rng.normal(size=40)))
                 for centre in (-40.0, -42.0, -44.0)]
    out = combine_replicas(summaries)
    assert out["n_replicas"] == 3 and out["n_frames"] == 120
    assert out["mmgbsa_kcal_mol"] == pytest.approx(np.mean([s["mmgbsa_kcal_mol"] for s in summaries]))
    # the replicas disagree by 2 kcal/mol while each is precise: the between-replica error wins
    assert out["mmgbsa_replica_sd_kcal_mol"] == pytest.approx(2.0, abs=0.1)
    assert out["mmgbsa_sem_kcal_mol"] == pytest.approx(2.0 / math.sqrt(3), abs=0.1)
    assert out["mmgbsa_sem_kcal_mol"] > 10 * max(s["mmgbsa_sem_kcal_mol"] for s in summaries)
    # agreeing replicas: the within-replica errors set the floor
    same = combine_replicas([summaries[0]] * 3)
    assert same["mmgbsa_sem_kcal_mol"] == pytest.approx(summaries[0]["mmgbsa_sem_kcal_mol"] / math.sqrt(3))
    one = combine_replicas(summaries[:1])
    assert one["n_replicas"] == 1 and one["mmgbsa_sem_kcal_mol"] == summaries[0]["mmgbsa_sem_kcal_mol"]


def test_stability_measures_tell_a_leaving_ligand_from_a_staying_one():
    t = np.linspace(0, 1, 20)
    staying = stability_measures(_frames(0.6 + 0.1 * t, np.full(20, 40), np.full(20, -40.0)), 25)
    leaving = stability_measures(_frames(0.6 + 3.0 * t, 40 - 30 * t, -40 + 25 * t), 25)
    assert set(STABILITY_HIGHER_IS_STABLE) <= set(staying)
    for measure, higher in STABILITY_HIGHER_IS_STABLE.items():
        if measure in ("contacts_per_heavy_atom", "mmgbsa_per_heavy_atom") or \
                staying[measure] == leaving[measure]:
            continue
        assert (staying[measure] > leaving[measure]) == higher, measure
    assert staying["contacts_retained"] == pytest.approx(1.0) and leaving["contacts_retained"] < 0.6
    assert staying["rmsd_drift_A"] < 0.2 < 1.0 < leaving["rmsd_drift_A"]
    empty = stability_measures(_frames([], [], []))
    assert all(math.isnan(empty[m]) for m in STABILITY_HIGHER_IS_STABLE)
