"""Test dates: impossible dates are row errors, ambiguous day/month orders follow the project.

Accepted: ISO ``YYYY-MM-DD`` (also ``YYYY/MM/DD``, ``YYYY.MM.DD``), a bare year (ChEMBL's
document year), an ISO date-time (the date part is kept), and ``DD/MM/YYYY`` or ``MM/DD/YYYY``
(``/``, ``.`` or ``-``). A day-first or month-first date is read in the order the project set
(:data:`DATE_ORDERS`; ISO by default, where only orders that cannot be misread are accepted:
``13/02/2026`` is day-first whatever the setting). Dates are stored as ISO text.
"""

from __future__ import annotations

import re
from datetime import date, datetime

#: project setting -> how a ``NN/NN/YYYY`` date is read ("ymd": not at all unless unambiguous)
DATE_ORDERS = {"ymd": "ISO YYYY-MM-DD", "dmy": "day/month/year", "mdy": "month/day/year"}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][0-9:.+\-Z]*)?$")
_YEAR = re.compile(r"^(\d{4})$")
_NAMED_MONTH = ("%d-%b-%Y", "%d %b %Y", "%d-%B-%Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y",
                "%b %d %Y", "%B %d %Y")
_OTHER = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def _iso(year: int, month: int, day: int, text: str) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(f"impossible date '{text}' (there is no day {day} in month {month} "
                         f"of {year})") from None


def normalize_date(text: str, order: str = "ymd") -> str:
    """The date as ISO text (a bare year stays a year); raises ValueError with a plain reason."""
    raw = text.strip()
    if not raw:
        return ""
    if _YEAR.match(raw):
        return raw
    if m := _ISO.match(raw):
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    m = _OTHER.match(raw)
    if not m:
        for fmt in _NAMED_MONTH:  # 01-Oct-2026, 1 October 2026, Oct 1, 2026: never ambiguous
            try:
                return datetime.strptime(raw, fmt).date().isoformat()
            except ValueError:
                continue
        raise ValueError(f"'{raw}' is not a date (write YYYY-MM-DD)")
    first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if order == "dmy" or (first > 12 and order != "mdy"):
        return _iso(year, second, first, raw)
    if order == "mdy" or second > 12:
        return _iso(year, first, second, raw)
    raise ValueError(f"ambiguous date '{raw}': day/month or month/day? Write YYYY-MM-DD, or set the "
                     "project's date order (moltwin assays date-order --project P dmy|mdy)")
