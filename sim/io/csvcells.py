"""CSV text of numpy columns, a block of rows at a time, formatted with numpy instead of a call per cell.

A city year's ``incidents.csv`` and ``jobs.csv`` hold about 40 million cells; formatting them one by one
in Python (an f-string and a ``str.join`` per cell) took about five CPU seconds. Here each column of a
block becomes a matrix of bytes, one row per record (:class:`Cells`: the characters and which of them
are kept), and a block's rows are the kept bytes of the columns side by side, separated by commas: one
boolean selection of numpy per block. The text is exactly the one of :func:`sim.io.text.float_text`
(six places) for floats, ``str`` for integers and booleans, and given texts for strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["Cells", "Column", "text_cells", "picked", "int_cells", "float_cells", "csv_rows"]

_DIGIT, _MINUS, _DOT, _COMMA, _NEWLINE = ord("0"), ord("-"), ord("."), ord(","), ord("\n")

_PLACES = 6
"""Decimal places of the float cells (as ``float_text(value, decimals=6)``)."""


class Cells(NamedTuple):
    """The cells of a column as bytes: row *i*'s text is ``chars[i][keep[i]]`` (UTF-8).

    Both are 2-D (rows × width); a single row stands for every row (a column of one value, broadcast).
    """

    chars: np.ndarray
    keep: np.ndarray


Column = Cells | tuple[Cells, ...]
"""A column's cells, or pieces of them side by side (sign, digits, point, ...): one cell per row."""


def text_cells(texts: Sequence[str]) -> Cells:
    """Cells of *texts*, one row each, each text already as it must appear in the file.

    A string field's categories are laid out once, then gathered by the field's codes (:func:`picked`).
    """
    encoded = [text.encode("utf-8") for text in texts]
    width = max(1, max(map(len, encoded), default=0))
    chars = np.array(encoded, dtype=f"S{width}").view(np.uint8).reshape(len(encoded), width)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return Cells(chars, np.arange(width) < lengths[:, None])


def picked(cells: Cells, codes: np.ndarray) -> Cells:
    """The rows *codes* of *cells* (a string field's cells from its categories' cells)."""
    return Cells(cells.chars[codes], cells.keep[codes])


def int_cells(values: np.ndarray) -> Column:
    """Integers (or booleans) as ``str`` writes them."""
    values = np.asarray(values)
    if values.dtype == np.bool_:
        return picked(_BOOLEANS, values.astype(np.int8))
    values = values.astype(np.int64)
    if len(values) and not -(10**18) < values.min() <= values.max() < 10**18:  # 19 digits and more: by hand
        return text_cells([str(v) for v in values.tolist()])
    return _sign(values < 0), _digits(np.abs(values))


def float_cells(values: np.ndarray) -> Column:
    """Floats to six decimal places, trailing zeros dropped (one kept), empty where NaN: ``float_text(v, 6)``.

    For 1e-4 <= |v| < 1e9 that text is the decimal ``round(|v| * 10**6)`` (the exact product correctly
    rounded) with a point six places from the right: the product is computed in floating point, which is
    within half a unit in its last place of the exact one, so rounding it gives the same integer unless
    it lies within a few units of a half (then, and for zeros' signs, NaN and values out of that range,
    a cell is formatted one by one as before, :func:`_one_by_one`).
    """
    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values)
    scaled = np.where((size >= 1e-4) & (size < 1e9), size, 0.0) * 10.0**_PLACES
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 4 * np.spacing(scaled)
    exact = (size == 0.0) | ((size >= 1e-4) & (size < 1e9) & ~near_half)
    whole = np.rint(scaled).astype(np.int64)
    unit = 10**_PLACES
    integer, fraction = _digits(whole // unit), _fraction(whole % unit)
    integer.keep[~exact] = False  # NaN (a stage that did not happen) is an empty cell; the rest one by one
    fraction.keep[~exact] = False
    pieces = (_sign(np.signbit(values) & exact), integer, Cells(_POINT, exact[:, None]), fraction)
    slow = np.flatnonzero(~exact & ~np.isnan(values))
    if len(slow) == 0:
        return pieces
    by_hand = text_cells([_one_by_one(v) for v in values[slow].tolist()])
    chars = np.zeros((len(values), by_hand.chars.shape[1]), np.uint8)
    keep = np.zeros((len(values), by_hand.chars.shape[1]), bool)
    chars[slow], keep[slow] = by_hand.chars, by_hand.keep
    return (*pieces, Cells(chars, keep))


def _one_by_one(value: float) -> str:
    """One float cell as :func:`float_cells` writes it (six places, as :func:`sim.io.text.float_text`)."""
    if value != value:
        return ""
    if 1e-4 <= abs(value) < 1e9:  # the shortest repr of the rounded value: f"{v:.6f}" without trailing zeros
        text = f"{value:.6f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(value, _PLACES))


def _digits(values: np.ndarray) -> Cells:
    """Non-negative integers in decimal: digits right-aligned, leading zeros not kept (a zero is ``0``)."""
    width = max(1, len(str(int(values.max(initial=0)))))
    keep = np.empty((len(values), width), bool)
    for k in range(width - 1):  # the digit of 10**(width - 1 - k) is kept from the first non-zero digit on
        np.greater_equal(values, 10 ** (width - 1 - k), out=keep[:, k])
    keep[:, -1] = True
    return Cells(_decimal(values, width), keep)


def _fraction(values: np.ndarray) -> Cells:
    """Millionths (0 to 999,999) as six decimals, trailing zeros not kept (at least one digit)."""
    chars = _decimal(values, _PLACES)
    keep = np.empty((len(values), _PLACES), bool)
    later = np.zeros(len(values), bool)  # a non-zero digit at this place or after it
    for k in range(_PLACES - 1, 0, -1):
        later |= chars[:, k] != _DIGIT
        keep[:, k] = later
    keep[:, 0] = True
    return Cells(chars, keep)


def _decimal(values: np.ndarray, width: int) -> np.ndarray:
    """The *width* last decimal digits of non-negative integers, as characters (one column per digit)."""
    chars = np.empty((len(values), width), np.uint8)
    rest = values.astype(np.int32) if width < 10 else values  # 32-bit division is quicker
    for k in range(width - 1, -1, -1):  # a scalar divisor: numpy divides fast
        rest, digit = np.divmod(rest, 10)
        chars[:, k] = digit
    chars += _DIGIT
    return chars


_BOOLEANS = text_cells(["False", "True"])
"""The cells of booleans, as ``str`` writes them."""

_POINT = np.full((1, 1), _DOT, np.uint8)
"""The decimal point of every float cell."""


def _sign(negative: np.ndarray) -> Cells:
    """A minus sign where *negative*."""
    return Cells(np.full((1, 1), _MINUS, np.uint8), negative[:, None])


def csv_rows(columns: Sequence[Column], rows: int) -> bytes:
    """*rows* CSV lines of the *columns*' cells, comma-separated, each ended by a newline (UTF-8 bytes)."""
    laid = [(column,) if isinstance(column, Cells) else column for column in columns]
    width = sum(cells.chars.shape[1] for pieces in laid for cells in pieces) + len(laid)  # and a comma after each
    chars = np.empty((rows, width), np.uint8)
    keep = np.empty((rows, width), bool)
    at = 0
    for pieces in laid:
        for cells in pieces:
            step = cells.chars.shape[1]
            chars[:, at : at + step], keep[:, at : at + step] = cells.chars, cells.keep
            at += step
        chars[:, at], keep[:, at] = _COMMA, True
        at += 1
    chars[:, -1] = _NEWLINE
    return chars[keep].tobytes()
