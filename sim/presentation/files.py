"""Figures to files: every figure of a results folder saved as PNG and SVG, atomically.

This is the only place that saves figures. Each file is written to a temporary name beside the
target and renamed into place, with no creation date inside, so the same results give the same
bytes and an interrupted write never leaves half a picture.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import matplotlib

from sim.io.results import save_atomic

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")  # figures are bare Figure objects; never open a window

__all__ = ["FORMATS", "write_plots", "save_figures", "png_bytes", "DPI"]

FORMATS = ("png", "svg")
DPI = 110
"""Resolution of the saved PNG files (and of the report's embedded copies, which are the same bytes)."""


def write_plots(out_dir: str | os.PathLike, figures_dir: str | os.PathLike | None = None, story=None) -> list[Path]:
    """Write every figure of a results folder as PNG and SVG; returns the files written.

    A comparison folder (``summary.json`` with ``modes``) gives the response, map, load and
    timeline figures; a sweep folder (``summary.csv``) gives sweep curves; a folder with both
    gives both.

    Parameters
    ----------
    out_dir:
        The results folder.
    figures_dir:
        Where to write (default ``out_dir/figures``).
    story:
        A :class:`sim.presentation.figures.Story` to draw the timeline from (default: chosen and rerun here).

    Raises
    ------
    FileNotFoundError
        If the folder holds neither kind of results.
    """
    from sim.presentation.report import figures_of

    out_dir = Path(out_dir)
    target = Path(figures_dir) if figures_dir else out_dir / "figures"
    figures = figures_of(out_dir, story=story)
    return save_figures({stem: fig for stem, (_, fig) in figures.items()}, target)


def save_figures(
    figures: dict, folder: Path, formats=FORMATS, dpi: int = DPI, images: dict | None = None
) -> list[Path]:
    """Save figures (stem -> Figure) in each format, atomically; returns the paths.

    Parameters
    ----------
    images:
        If given, filled with stem -> the PNG bytes written, so that the report embeds the same
        picture without drawing the figure again (drawing is most of the time a figure takes).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures.items():
        for fmt in formats:
            path = folder / f"{stem}.{fmt}"
            if fmt == "png":
                data = png_bytes(fig, dpi)
                if images is not None:
                    images[stem] = data
                save_atomic(path, _bytes_writer(data))
            else:
                _save_atomic(fig, path, fmt, dpi)
            paths.append(path)
    return paths


def _bytes_writer(data: bytes):
    """A writer for :func:`save_atomic` that puts *data* in the temporary file."""

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(data)

    return write


def png_bytes(fig, dpi: int = DPI) -> bytes:
    """A figure drawn once as PNG bytes (no date inside, so the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _save_atomic(fig, path: Path, fmt: str, dpi: int) -> None:
    """Save to a temporary file and rename it into place."""

    def save(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=dpi, metadata=_metadata(fmt))

    save_atomic(path, save)


def _metadata(fmt: str) -> dict:
    """No creation date in the files, so that the same results give the same bytes."""
    return {"Date": None} if fmt == "svg" else {}
