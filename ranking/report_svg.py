"""Small inline structure drawings for a report that holds thousands of them.

RDKit writes every bond and atom label with its full ``style='...'`` text (about 250
characters each); a report with 2,000 drawn rows would weigh ~27 MB. :class:`SvgCompactor`
turns each distinct style into one short CSS class shared by the whole page (emitted once by
:meth:`SvgCompactor.css`), drops the per-element ``class='bond-0 atom-1'`` tags, the white
background and the header, joins the bond segments of one style into one ``<path>`` (RDKit
draws no label backgrounds, so the painting order of segments does not matter) and writes
path data without redundant spaces and ``.0``: a drawing shrinks to about a sixth of its size.
The drawing is unchanged: same segments, same text, same colours.

R-group drawings, which repeat across a SAR table, are defined once as ``<symbol>``s and
drawn with ``<use>`` (:meth:`SvgCompactor.symbol`); their styles stay inline.
"""

from __future__ import annotations

import re

_STYLE = re.compile(r"style='([^']*)'")
_ELEMENT_CLASS = re.compile(r" class='(?:bond|atom|note|legend)[^']*'")
_HEADER = re.compile(r"<svg\b[^>]*>", re.DOTALL)
_BACKGROUND = re.compile(r"<rect style='opacity:1\.0;fill:#FFFFFF;stroke:none'[^>]*>\s*</rect>\s*")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
_SIZE = re.compile(r"width='(\d+)(?:px)?' height='(\d+)(?:px)?'")
_PATH = re.compile(r"<path d='([^']*)' class='(\w+)'\s*/>\s*")
_PATH_SPACE = re.compile(r"([MLZ]) | (?=[MLZ])")
_POINT_ZERO = re.compile(r"(\d)\.0(?=[ ,MLZ]|$)")


def _short_path(d: str) -> str:
    return _POINT_ZERO.sub(r"\1", _PATH_SPACE.sub(lambda m: m.group(1) or "", d.strip()))


def _join_paths(body: str) -> str:
    """All ``<path>``s of one class as one path (in first-seen class order), before the rest."""
    joined: dict[str, list[str]] = {}
    for d, name in _PATH.findall(body):
        joined.setdefault(name, []).append(_short_path(d))
    rest = _PATH.sub("", body)
    paths = "".join(f"<path class='{name}' d='{''.join(ds)}'/>" for name, ds in joined.items())
    return paths + rest


class SvgCompactor:
    """Shared CSS classes for the styles of many RDKit drawings on one page."""

    def __init__(self, prefix: str = "m") -> None:
        self.prefix = prefix
        self._classes: dict[str, str] = {}
        self._symbols: dict[str, str] = {}

    def _class_of(self, style: str) -> str:
        if style not in self._classes:
            self._classes[style] = f"{self.prefix}{len(self._classes)}"
        return self._classes[style]

    def _body(self, svg: str) -> str:
        body = _COMMENT.sub("", svg)
        body = _BACKGROUND.sub("", body)
        body = _ELEMENT_CLASS.sub("", body)
        return _STYLE.sub(lambda m: f"class='{self._class_of(m.group(1).strip().rstrip(';'))}'", body)

    def compact(self, svg: str) -> str:
        """The drawing with short shared classes ("" stays "")."""
        if not svg:
            return ""
        size = _SIZE.search(svg)
        width, height = (size.group(1), size.group(2)) if size else ("150", "100")
        inner = _join_paths(_HEADER.sub("", self._body(svg), count=1).replace("</svg>", "").strip())
        return (f"<svg xmlns='http://www.w3.org/2000/svg' class='mol' width='{width}' height='{height}' "
                f"viewBox='0 0 {width} {height}'>{inner}</svg>")

    def symbol(self, key: str, svg: str) -> str:
        """An ``<svg><use></svg>`` drawing of ``svg``, defined once per ``key`` (see :meth:`symbols`)."""
        if not svg:
            return ""
        size = _SIZE.search(svg)
        width, height = (size.group(1), size.group(2)) if size else ("90", "60")
        if key not in self._symbols:  # styles kept inline: a <use> clone is styled as its original
            body = _ELEMENT_CLASS.sub("", _BACKGROUND.sub("", _COMMENT.sub("", svg)))
            inner = _HEADER.sub("", body, count=1).replace("</svg>", "").strip()
            self._symbols[key] = (f"<symbol id='{self.prefix}-sym{len(self._symbols)}' "
                                  f"viewBox='0 0 {width} {height}'>{inner}</symbol>")
        ident = re.search(r"id='([^']+)'", self._symbols[key]).group(1)
        return (f"<svg xmlns='http://www.w3.org/2000/svg' class='mol' width='{width}' height='{height}'>"
                f"<use href='#{ident}'/></svg>")

    def symbols(self) -> str:
        """One hidden ``<svg>`` holding every symbol defined so far."""
        if not self._symbols:
            return ""
        return ("<svg xmlns='http://www.w3.org/2000/svg' width='0' height='0' style='position:absolute' "
                "aria-hidden='true'>" + "".join(self._symbols.values()) + "</svg>")

    def css(self) -> str:
        """The CSS rules of every class handed out (one line each)."""
        return "\n".join(f"svg.mol .{name} {{ {style} }}" for style, name in self._classes.items())
