"""Length limits on what an upload stores, so a pasted novel is a row error, not a stored field.

Ids and names (compound, assay, operator, uploader, project): 200 characters. Short coded
fields follow their columns (replicate 100, endpoint 40, test date 40, units 20). Free text
(notes, structures as SMILES): 2,000 characters.
"""

from __future__ import annotations

from moltwin.errors import BadInputError

NAME_LIMIT = 200
NOTE_LIMIT = 2000
#: canonical column -> most characters stored
ROW_LIMITS = {"compound_id": NAME_LIMIT, "assay_id": NAME_LIMIT, "operator": NAME_LIMIT,
              "assay_version": NAME_LIMIT, "replicate": 100, "endpoint": 40, "test_date": 40,
              "units": 20, "qualifier": 20, "smiles": NOTE_LIMIT, "value": 100,
              "test_concentration": 100, "test_concentration_units": 20}


def too_long(column: str, value: str) -> str | None:
    """The row error's reason when ``value`` is longer than ``column`` allows, else None."""
    limit = ROW_LIMITS.get(column)
    if limit is None or len(value) <= limit:
        return None
    return f"{column} is {len(value)} characters long; the limit is {limit}"


def check_text(what: str, value: str, limit: int = NAME_LIMIT) -> str:
    """``value`` unchanged, or :class:`BadInputError` when it is over ``limit`` characters."""
    if len(value) > limit:
        raise BadInputError(f"the {what} is {len(value)} characters long; the limit is {limit} "
                            "characters", field=what)
    return value
