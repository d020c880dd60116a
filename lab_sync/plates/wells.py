"""Well names and plate layouts (96 = 8 x 12, 384 = 16 x 24).

Well names are a row letter and a 1-based column number, with or without a leading zero
(``A1``, ``A01``, ``p24``). Rows and columns here are 0-based indices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WELL_RE = re.compile(r"^\s*([A-Za-z])\s*0*(\d{1,2})\s*$")


@dataclass(frozen=True, slots=True)
class PlateLayout:
    """A plate format: its number of wells, rows and columns."""

    n_wells: int
    n_rows: int
    n_cols: int

    def contains(self, row: int, col: int) -> bool:
        return 0 <= row < self.n_rows and 0 <= col < self.n_cols

    def is_edge(self, row: int, col: int) -> bool:
        """Outer rows and columns (where evaporation and temperature effects show)."""
        return row in (0, self.n_rows - 1) or col in (0, self.n_cols - 1)


PLATE_96 = PlateLayout(96, 8, 12)
PLATE_384 = PlateLayout(384, 16, 24)
LAYOUTS = {96: PLATE_96, 384: PLATE_384}


def parse_well(name: str) -> tuple[int, int]:
    """``"B03"`` -> ``(1, 2)``. Raises ValueError with a plain reason for anything else."""
    m = _WELL_RE.match(name or "")
    if not m or int(m.group(2)) == 0:
        raise ValueError(f"'{name}' is not a well name (a row letter A-P and a column number 1-24, "
                         "e.g. A1 or A01)")
    row, col = ord(m.group(1).upper()) - ord("A"), int(m.group(2)) - 1
    if not PLATE_384.contains(row, col):
        raise ValueError(f"well '{name}' is outside a 384-well plate (rows A-P, columns 1-24)")
    return row, col


def well_name(row: int, col: int, *, pad: bool = True) -> str:
    """``(1, 2)`` -> ``"B03"`` (``"B3"`` with ``pad=False``)."""
    return f"{chr(ord('A') + row)}{col + 1:02d}" if pad else f"{chr(ord('A') + row)}{col + 1}"


def layout_for(positions: list[tuple[int, int]]) -> PlateLayout:
    """The smallest standard layout holding every ``(row, col)``; 384 when none fits 96."""
    if all(PLATE_96.contains(r, c) for r, c in positions):
        return PLATE_96
    return PLATE_384


def layout_for_grid(n_rows: int, n_cols: int) -> PlateLayout | None:
    """The layout of an exported signal grid, or None when it is neither 8 x 12 nor 16 x 24."""
    for layout in LAYOUTS.values():
        if (layout.n_rows, layout.n_cols) == (n_rows, n_cols):
            return layout
    return None
