import math

import pytest

from lab_sync import units


@pytest.mark.parametrize("text,expected", [
    ("12.5", ("=", 12.5)), (">10", (">", 10.0)), ("<= 0.3", ("<=", 0.3)), ("~5", ("~", 5.0)),
    ("=<7", ("<=", 7.0)), ("1e-3", ("=", 0.001)),
])
def test_parse_value_accepts_embedded_qualifiers(text, expected):
    assert units.parse_value(text) == expected


def test_parse_value_comma_decimal_only_when_asked():
    with pytest.raises(ValueError, match="decimal comma"):
        units.parse_value("12,5")
    assert units.parse_value("12,5", comma_decimal=True) == ("=", 12.5)


@pytest.mark.parametrize("bad", ["", "abc", "10 nM", ">>3"])
def test_parse_value_rejects_non_numbers(bad):
    with pytest.raises(ValueError):
        units.parse_value(bad)


@pytest.mark.parametrize("unit,factor", [("M", 1e9), ("mM", 1e6), ("µM", 1e3), ("μM", 1e3), ("uM", 1e3),
                                          ("nM", 1.0), ("pM", 1e-3)])
def test_to_nm_units(unit, factor):
    assert units.to_nm(2.0, unit) == pytest.approx(2.0 * factor)


def test_unknown_unit_is_an_error():
    with pytest.raises(ValueError, match="unknown concentration unit"):
        units.to_nm(1.0, "furlongs")


def test_p_scale_and_qualifier_flip():
    assert units.p_from_nm(10_000) == pytest.approx(5.0)
    assert units.p_from_nm(1.0) == pytest.approx(9.0)
    assert units.p_qualifier("IC50", ">") == "<"
    assert units.p_qualifier("pIC50", ">") == ">"
    assert units.p_qualifier("Ki", "~") == "="


@pytest.mark.parametrize("text,canon", [("IC50", "IC50"), ("ki", "Ki"), ("pIC50", "pIC50"), ("PKI", "pKi"),
                                         ("% inhibition", "pct_inhibition"), ("pct_inhibition", "pct_inhibition")])
def test_canonical_endpoint(text, canon):
    assert units.canonical_endpoint(text) == canon


def test_canonical_endpoint_unknown():
    assert units.canonical_endpoint("LD50") is None
    assert math.isclose(units.p_from_nm(units.to_nm(10, "uM")), 5.0)
