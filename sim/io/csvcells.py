"""CSV text of numpy columns, a block of rows at a time, formatted with numpy instead of a call per cell.

A city year's ``incidents.csv`` and ``jobs.csv`` hold about 40 million cells; formatting them one by one
in Python (an f-string and a ``str.join`` per cell) took about five CPU seconds. Here a block's rows are
laid out side by side in one matrix of bytes (:func:`csv_block`), each cell in a fixed room of whole
4-byte slots, and the room a cell leaves unused is filled with :data:`SKIP`, a byte that never occurs in
UTF-8 text; the block's text is the matrix with those bytes dropped (one ``bytes.translate`` per block).

A cell is written as pieces (:data:`Piece`), each a column of slots taken from a small table: a string
field's categories laid out once (:func:`text_table`, gathered by the field's codes), and numbers as
groups of three or four digits looked up by value (:func:`int_columns`, :func:`float_columns`: one table
look-up per group of digits instead of a division per digit). The text is exactly the one of
:func:`sim.io.text.float_text` (six places) for floats, ``str`` for integers and booleans, and given
texts for strings; each cell ends with its column's separator (a comma, or a newline for the last).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

__all__ = ["SKIP", "Piece", "text_table", "text_column", "int_columns", "float_columns", "csv_block"]

SKIP = 0xFF
"""The byte that fills the room a cell leaves unused: it never occurs in UTF-8 text, so it is dropped safely."""

_SKIPPED = bytes([SKIP])

_PLACES = 6
"""Decimal places of the float cells (as ``float_text(value, decimals=6)``)."""

Piece = np.ndarray
"""Part of a column of cells: one row per record (or one row for every record) of a dtype of whole 4-byte
slots (``uint32``, or a ``void`` of a multiple of 4 bytes), :data:`SKIP` where nothing is written."""


# --------------------------------------------------------------------------- tables of slots


def _slots(texts: Sequence[bytes], width: int | None = None) -> np.ndarray:
    """*texts* as rows of *width* bytes (a multiple of 4, by default the least that holds them), SKIP-padded in front."""
    width = width or max(4, -(-max(map(len, texts), default=0) // 4) * 4)
    padded = b"".join(text.rjust(width, _SKIPPED) for text in texts)
    return np.frombuffer(padded, np.uint8).reshape(len(texts), width).copy()


def text_table(texts: Sequence[str], end: str) -> np.ndarray:
    """The cells of *texts* (each as it must appear in the file) followed by *end*: one ``void`` per text.

    A string field's categories are laid out once, then gathered by the field's codes (:func:`text_column`).
    """
    matrix = _slots([(text + end).encode("utf-8") for text in texts])
    return matrix.view(f"V{matrix.shape[1]}").reshape(len(texts))


def text_column(table: np.ndarray, codes: np.ndarray) -> list[Piece]:
    """The cells of a string field: its categories' cells (:func:`text_table`) picked by its *codes*."""
    return [table.take(codes)]


@cache
def _digit_table(digits: int, strip: str, head: str = "", tail: str = "") -> np.ndarray:
    """Every group of *digits* digits (0 to 10**digits - 1, zero-padded) between *head* and *tail*, as 4-byte slots.

    *strip* drops leading zeros (``lead``, keeping one digit: ``lead1``) or trailing ones (``trail``,
    ``trail1``); ``full`` keeps them. A group that drops every digit leaves *head* and *tail* only.
    Built once per process (the tables of both separators share those without one).
    """
    out = []
    for value in range(10**digits):
        text = f"{value:0{digits}d}"
        if strip.startswith("lead"):
            text = text.lstrip("0")
        elif strip.startswith("trail"):
            text = text.rstrip("0")
        if strip.endswith("1") and not text:
            text = "0"
        out.append((head + text + tail).encode("ascii"))
    return _slots(out, 4).view(np.uint32).reshape(-1)


@cache
def _tables(end: str) -> dict[str, np.ndarray]:
    """The digit tables of a column ended by *end*, each as ``[variant 0 | variant 1 | empty]`` (built once).

    ``low``: an integer's last three digits and *end* (all of them | leading zeros dropped, one kept |
    empty); ``high``: four more digits (all | leading zeros dropped, none kept); ``int4``: the last four
    digits of a float's whole part (all | leading zeros dropped, one kept | 10**4 empty); ``point``: the
    point and the first three decimals (all | trailing zeros dropped, one kept | 2000 empty); ``frac``: the
    last three decimals and *end* (trailing zeros dropped); ``sign``: nothing or a minus sign.
    """
    empty = _slots([b""], 4).view(np.uint32).reshape(-1)
    ended = _slots([end.encode("ascii")], 4).view(np.uint32).reshape(-1)
    return {
        "low": np.concatenate([_digit_table(3, "full", tail=end), _digit_table(3, "lead1", tail=end), ended]),
        "high": np.concatenate([_digit_table(4, "full"), _digit_table(4, "lead")]),
        "int4": np.concatenate([_digit_table(4, "full"), _digit_table(4, "lead1"), np.repeat(empty, 10**4)]),
        "point": np.concatenate(
            [_digit_table(3, "full", head="."), _digit_table(3, "trail1", head="."), np.repeat(empty, 2000)]
        ),
        "frac": _digit_table(3, "trail", tail=end),
        "sign": np.concatenate([empty, _slots([b"-"], 4).view(np.uint32).reshape(-1)]),
    }


# --------------------------------------------------------------------------- numbers


def _lead(groups: np.ndarray, before: np.ndarray, size: int) -> np.ndarray:
    """Indices into a table ``[all digits | leading zeros dropped | empty]`` of groups of *size* values.

    A group is written with all its digits when a group *before* it is not zero, without its leading
    zeros when every one before is zero, and empty where *before* is -1 (a cell without digits).
    """
    return groups + size * (1 - np.minimum(before, 1))


def _high_groups(whole: np.ndarray, top: int, scale: int, high: np.ndarray) -> list[Piece]:
    """The groups of four digits of non-negative *whole* before its last digits (below *scale*), leading zeros dropped.

    As many groups as the largest value *top* needs, each from *high* (all digits | none kept).
    """
    pieces = []
    rest = whole // scale
    while top >= scale:
        scale *= 10**4
        before = rest // 10**4
        pieces.append(high.take(_lead(rest - before * 10**4, before, 10**4)))
        rest = before
    return pieces[::-1]


def int_columns(values: np.ndarray, ends: Sequence[str]) -> list[list[Piece]]:
    """Integer columns (*values*: columns × rows) as ``str`` writes them, column *j* followed by ``ends[j]``."""
    if values.dtype != np.int32 or (values.size and values.min() == -(2**31)):  # 32-bit where it holds: quicker
        values = values.astype(np.int64)
    if values.size and not -(10**18) < values.min() <= values.max() < 10**18:  # 19 digits and more: by hand
        return [[text_table([str(v) for v in column.tolist()], end)] for column, end in zip(values, ends)]
    columns = []
    for column, end in zip(values, ends):
        tables = _tables(end)
        size = np.abs(column)
        top = int(size.max(initial=0))
        if top < 1000:
            pieces = [tables["low"].take(size + 1000)]
        else:
            before = size // 1000
            pieces = [
                *_high_groups(size, top, 1000, tables["high"]),
                tables["low"].take(_lead(size - before * 1000, before, 1000)),
            ]
        if column.min(initial=0) < 0:
            pieces.insert(0, tables["sign"].take((column < 0).view(np.int8)))
        columns.append(pieces)
    return columns


def float_columns(values: np.ndarray, ends: Sequence[str]) -> list[list[Piece]]:
    """Float columns (*values*: columns × rows) to six places, trailing zeros dropped (one kept), empty where NaN.

    Each cell is ``float_text(v, 6)``. For 1e-4 <= |v| < 1e9 that text is the decimal ``round(|v| * 10**6)``
    (the exact product correctly rounded) with a point six places from the right: the product is computed
    in floating point, within half a unit in its last place of the exact one, so rounding it gives the
    same integer unless it lies within a few units of a half (tested against the block's largest product,
    which only sends more cells the slow way: a few in a thousand). For those cells the integer is read
    from Python's own formatting (:func:`_rounded_by_hand`); zeros keep their sign, as ``float_text`` does,
    and values out of that range (and infinities) are formatted one by one (:func:`_one_by_one`).
    """
    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = size * 10.0**_PLACES
        rounded = np.rint(scaled)
        fast = size < 1e9  # NaN and infinities too are not
        tiny = size < 1e-4
        if tiny.any():
            fast &= ~tiny | (size == 0)
    np.copyto(rounded, -1e6, where=~fast)  # a cell without digits: whole part -1, no decimals
    tolerance = 0.5 - float(rounded.max(initial=0.0)) * 2.0**-49  # >= 4 ulp of every product
    with np.errstate(invalid="ignore"):
        near = np.abs(scaled - rounded) >= tolerance
    near &= fast
    if near.any():
        rounded[near] = _rounded_by_hand(size[near].tolist())
    whole = np.floor(rounded / 1e6)  # exact: rounded is an integer below 2**53
    fraction = (rounded - whole * 1e6).astype(np.int32)
    units = whole.astype(np.int32)
    digits = _whole_digits(units)
    first = fraction // 1000
    last = fraction - first * 1000
    variant = 1 - np.minimum(last, 1) + 2 * (units < 0).view(np.int8)  # all decimals | trailing zeros dropped | none
    digits.append(_tables(",")["point"].take(first + 1000 * variant))
    ended = _tables(",")["frac"].take(last)
    slow = ~(fast | np.isnan(values))
    tops = units.max(axis=1, initial=-1)
    signed = np.signbit(values).any(axis=1)
    columns = []
    for j, end in enumerate(ends):
        needed = (tops[j] >= 10**8, tops[j] >= 10**4, tops[j] >= 0, tops[j] >= 0)
        pieces = [piece[j] for piece, need in zip(digits, needed) if need]
        if signed[j]:
            pieces.insert(0, _tables(end)["sign"].take((np.signbit(values[j]) & fast[j]).view(np.int8)))
        rows = np.flatnonzero(slow[j])
        if len(rows):
            pieces.append(_by_hand(values[j, rows].tolist(), rows, values.shape[1]))
        pieces.append(ended[j] if end == "," else _tables(end)["frac"].take(last[j]))
        columns.append(pieces)
    return columns


def _whole_digits(units: np.ndarray) -> list[np.ndarray]:
    """The whole parts *units* (below 1e9; -1 for a cell without digits) as slots of four digits, leading zeros dropped.

    The groups of 10**8 and 10**4, then the last four digits (a group no cell of the block needs is not
    computed: the next one stands in for it, and is left out by :func:`float_columns`).
    """
    tables = _tables(",")
    high = units // 10**4
    low = units - high * 10**4
    groups = [tables["int4"].take(_lead(low, high, 10**4))]  # -1: the empty third of the table
    top = int(units.max(initial=0))
    if top >= 10**8:
        highest = np.maximum(high, 0) // 10**4
        middle = np.maximum(high, 0) - highest * 10**4
        groups.insert(0, tables["high"].take(_lead(middle, highest, 10**4)))
        groups.insert(0, tables["high"].take(highest + 10**4))
    elif top >= 10**4:
        groups.insert(0, tables["high"].take(np.maximum(high, 0) + 10**4))
    return [groups[0]] * (3 - len(groups)) + groups


def _rounded_by_hand(sizes: list[float]) -> list[int]:
    """``round(v * 10**6)`` of each non-negative *v* below 1e9, the exact product correctly rounded (by ``str.format``)."""
    return [int(f"{v:.6f}".replace(".", "")) for v in sizes]


def _by_hand(values: list[float], rows: np.ndarray, count: int) -> Piece:
    """The cells of *values* (at *rows* of *count*) formatted one by one; nothing elsewhere."""
    texts = text_table([_one_by_one(v) for v in values] + [""], "")
    codes = np.full(count, len(values), np.int64)
    codes[rows] = np.arange(len(values))
    return texts.take(codes)


def _one_by_one(value: float) -> str:
    """One float cell as :func:`float_columns` writes it (six places, as :func:`sim.io.text.float_text`)."""
    if value != value:
        return ""
    if 1e-4 <= abs(value) < 1e9:  # the shortest repr of the rounded value: f"{v:.6f}" without trailing zeros
        text = f"{value:.6f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(value, _PLACES))


# --------------------------------------------------------------------------- a block of rows


def csv_block(columns: Sequence[Sequence[Piece]], rows: int) -> bytes:
    """*rows* CSV lines of the *columns*' pieces, side by side (UTF-8 bytes; each cell carries its separator).

    Each piece is copied into its room of one matrix of bytes (a strided copy of whole slots, one per
    piece), and the matrix is read row by row without the :data:`SKIP` bytes (``bytes.translate``).
    """
    pieces = [piece for column in columns for piece in column]
    width = sum(piece.dtype.itemsize for piece in pieces)
    matrix = np.empty((rows, width), np.uint8)
    at = 0
    for piece in pieces:
        room = np.ndarray((rows,), dtype=piece.dtype, buffer=matrix, offset=at, strides=(width,))
        room[...] = piece
        at += piece.dtype.itemsize
    return matrix.tobytes().translate(None, _SKIPPED)  # a third quicker than selecting with a mask
