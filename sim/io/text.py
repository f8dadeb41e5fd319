"""Result files as text: the one float formatter and the one CSV writer of the result tables.

``incidents.csv`` and ``jobs.csv`` round times to six decimal places (:func:`float_text` with
``decimals=6``, in :mod:`sim.io.results`); the sweep, decomposition and sensitivity tables
(``runs.csv``, ``summary.csv``, ...) write every float exactly (:func:`csv_cell`: Python's
shortest round-tripping ``repr``), so that they carry the same values as their Parquet copies.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence

__all__ = ["csv_cell", "csv_text", "float_text"]


def float_text(value: float, decimals: int | None = None) -> str:
    """A float for a CSV cell: to *decimals* places, or exactly (the shortest ``repr`` that reads back the same); NaN is empty."""
    if math.isnan(value):
        return ""
    return repr(float(value)) if decimals is None else repr(round(float(value), decimals))


def csv_cell(value) -> str:
    """A CSV cell: floats exactly (:func:`float_text`), lists and mappings as JSON, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def csv_text(rows: Iterable[dict], columns: Sequence[str]) -> str:
    """Rows as CSV text with the given columns (missing cells empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()
