"""Checks across the rows of one file: endpoints that differ from their assay, mixed assay versions.

An IC50 row in a Ki assay is almost always a pasting slip; pooling it would mix two different
quantities. Rows whose endpoint family (IC50/pIC50, Ki/pKi, ...) differs from the assay's
dominant one (the stored data's, else this file's strict majority) are row errors. Rows of one
assay with different ``assay_version`` values are row errors unless they are the majority version.
Assay ids that differ only by a version suffix (``TYK2-v1``, ``TYK2-v2``) are separate assays
and are stored as such; each row gets a warning so nobody believes they are pooled.
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from lab_sync import schema
from lab_sync.validate import Measurement, RowError

_VERSION_SUFFIX = re.compile(r"^(.*?)[\s_\-.]*(?:v|ver|version)\s*\.?\s*(\d+)$", re.IGNORECASE)


def endpoint_family(endpoint: str) -> str:
    """``pIC50`` and ``IC50`` are one family (the p-form is the same quantity on the log scale)."""
    return endpoint[1:] if endpoint in {"pIC50", "pKi", "pKd", "pEC50"} else endpoint


def stored_endpoints(conn: Connection, project: str, assays: set[str]) -> dict[str, str]:
    """The dominant endpoint family of each already-stored assay."""
    m = schema.measurements
    counts: dict[str, Counter] = {}
    for r in conn.execute(select(m.c.assay_id, m.c.endpoint, func.count().label("n"))
                          .where((m.c.project == project) & m.c.active
                                 & m.c.assay_id.in_(sorted(assays)))
                          .group_by(m.c.assay_id, m.c.endpoint)):
        counts.setdefault(r.assay_id, Counter())[endpoint_family(r.endpoint)] += r.n
    return {a: c.most_common(1)[0][0] for a, c in counts.items()}


def _majority(counter: Counter) -> str | None:
    top = counter.most_common(2)
    if len(top) == 1 or (top and top[0][1] > top[1][1]):
        return top[0][0]
    return None


def endpoint_errors(valid: list[Measurement], stored: dict[str, str]) -> list[RowError]:
    by_assay: dict[str, Counter] = {}
    for m in valid:
        by_assay.setdefault(m.assay_id, Counter())[endpoint_family(m.endpoint)] += 1
    errors = []
    for m in valid:
        dominant = stored.get(m.assay_id) or _majority(by_assay[m.assay_id])
        if dominant and endpoint_family(m.endpoint) != dominant:
            where = "its stored measurements" if m.assay_id in stored else "the other rows of this file"
            errors.append(RowError(m.source_row, "endpoint", m.endpoint,
                                   f"endpoint {m.endpoint} differs from assay {m.assay_id}, which "
                                   f"measures {dominant} ({where}); fix the endpoint or the assay id"))
    return errors


def version_errors(valid: list[Measurement], versions: dict[int, str]) -> list[RowError]:
    """Rows whose ``assay_version`` is not the majority version of their assay in this file."""
    by_assay: dict[str, Counter] = {}
    for m in valid:
        if versions.get(m.source_row):
            by_assay.setdefault(m.assay_id, Counter())[versions[m.source_row]] += 1
    errors = []
    for m in valid:
        version, counts = versions.get(m.source_row), by_assay.get(m.assay_id)
        if not version or counts is None or len(counts) < 2:
            continue
        main = _majority(counts)
        if version != main:
            listed = ", ".join(f"{v} ({n} rows)" for v, n in counts.most_common())
            errors.append(RowError(m.source_row, "assay_version", version,
                                   f"mixed assay versions for {m.assay_id}: {listed}; upload each "
                                   "version separately or give it its own assay id"))
    return errors


def version_suffix_warnings(valid: list[Measurement]) -> list[RowError]:
    """A warning per row of assay ids that differ only by a version suffix."""
    ids_of_base: dict[str, set[str]] = {}
    for m in valid:
        hit = _VERSION_SUFFIX.match(m.assay_id)
        if hit:
            ids_of_base.setdefault(hit.group(1).lower(), set()).add(m.assay_id)
    mixed = {a: ids for ids in ids_of_base.values() if len(ids) > 1 for a in ids}
    return [RowError(m.source_row, "assay_id", m.assay_id,
                     f"this file mixes assay versions {', '.join(sorted(mixed[m.assay_id]))}: they "
                     "are stored as separate assays and never pooled")
            for m in valid if m.assay_id in mixed]
