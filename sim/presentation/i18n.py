"""Languages: English (the source) and Chinese, from gettext message catalogs.

The catalogs are standard gettext files under ``sim/locale/<lang>/LC_MESSAGES/sim.po``, compiled
to ``sim.mo`` beside them (``python -m sim.presentation.i18n`` compiles them with Babel, which the
``app`` and ``test`` extras install; a test checks that every ``.mo`` matches its ``.po``). At run
time they are read with the standard library's :mod:`gettext` alone, so the core needs no Babel,
and English, the source language, needs no catalog at all.

The current language is a :class:`contextvars.ContextVar` (default ``en``): :func:`use_language`
sets it for a block, so the threads of the app's server and a command's ``--lang`` do not
disturb one another. Text is wrapped in :func:`_` where it is shown; :func:`N_` only marks a
string for the catalog where it is defined (a table of labels) and it is translated where used.

Figures need a font with Chinese glyphs. :func:`figure_text` translates only when one is
installed (Noto Sans CJK from Debian's ``fonts-noto-cjk``, found through matplotlib's font
manager); without one it says so once and keeps the English labels, so a figure never shows
empty boxes.
"""

from __future__ import annotations

import gettext
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "LOCALE_DIR",
    "DOMAIN",
    "_",
    "N_",
    "ngettext",
    "current_language",
    "use_language",
    "set_language",
    "check_language",
    "term",
    "mode_label",
    "cjk_font",
    "figure_text",
    "figure_term",
    "figure_language",
    "display_width",
    "pad",
    "compile_catalogs",
]

LANGUAGES = ("en", "zh")
"""The languages offered: English (the source strings) and Simplified Chinese."""

LANGUAGE_NAMES = {"en": "English", "zh": "中文"}

DOMAIN = "sim"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

_LANGUAGE: ContextVar[str] = ContextVar("sim_language", default="en")

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
"""Fonts with Chinese glyphs, best first (the first one installed is used)."""


def check_language(lang: str) -> str:
    """*lang* if it is offered.

    Raises
    ------
    ValueError
        For any other language, naming those offered.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of: {', '.join(LANGUAGES)}")
    return lang


@cache
def _catalog(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def current_language() -> str:
    """The language text is shown in now (``en`` unless :func:`use_language` says otherwise)."""
    return _LANGUAGE.get()


def set_language(lang: str) -> None:
    """Make *lang* the language of this context (a worker process, a thread) from now on."""
    _LANGUAGE.set(check_language(lang))
    if lang != "en" and "matplotlib" in sys.modules:
        figure_language()


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Show text in *lang* inside the block (``None``: leave the language as it is)."""
    if lang is None:
        yield current_language()
        return
    token = _LANGUAGE.set(check_language(lang))
    if lang != "en" and "matplotlib" in sys.modules:
        figure_language()  # the CJK font before any figure (an axes' title is made with the axes)
    try:
        yield lang
    finally:
        _LANGUAGE.reset(token)


def _(message: str) -> str:
    """*message* in the current language (itself in English, or when the catalog lacks it)."""
    return _catalog(_LANGUAGE.get()).gettext(message)


def N_(message: str) -> str:
    """Mark *message* for the catalog without translating it here (it is translated where shown)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for *n*, in the current language."""
    return _catalog(_LANGUAGE.get()).ngettext(singular, plural, n)


def term(name: str) -> str:
    """A name from a scenario (a mode, department, incident type, channel) for people.

    Known names have a translation in the catalog (``garbage_overflow`` is 垃圾满溢 in Chinese); in
    English, and for names the catalog does not know, underscores become spaces.
    """
    text = _catalog(_LANGUAGE.get()).gettext(name)
    return name.replace("_", " ") if text == name else text


def mode_label(name: str) -> str:
    """A way of working's name for people: ``unified`` is 统一 in Chinese; other names as they are."""
    text = _catalog(_LANGUAGE.get()).gettext(name)
    return name if text == name else text


# --------------------------------------------------------------------------- figures


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs (matplotlib's font list), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


_warned: list[bool] = []
_font_ready: list[str] = []


def figure_language() -> str:
    """The language figures are drawn in now: the current one if its glyphs can be drawn, else ``en``.

    The first time Chinese is asked for and no CJK font is installed, one warning says so (on
    standard error) and figures keep their English labels. When a font is found, it is added to
    matplotlib's fonts as a fallback after the default, so Latin text looks as before.
    """
    lang = _LANGUAGE.get()
    if lang == "en":
        return lang
    font = cjk_font()
    if font is None:
        if not _warned:
            _warned.append(True)
            print(
                "note: no font with Chinese glyphs is installed (e.g. Debian's fonts-noto-cjk); "
                "figures keep their English labels",
                file=sys.stderr,
            )
        return "en"
    if not _font_ready:
        import matplotlib

        families = list(matplotlib.rcParams["font.family"])
        if font not in families:
            first = matplotlib.rcParams["font.sans-serif"][0] if families == ["sans-serif"] else None
            matplotlib.rcParams["font.family"] = ([first] if first else families) + [font]
        _font_ready.append(font)
    return lang


def figure_text(message: str) -> str:
    """*message* for a figure: translated when the figure's language has a font (:func:`figure_language`)."""
    return _catalog(figure_language()).gettext(message)


def figure_term(name: str) -> str:
    """:func:`term` for a figure (English when no CJK font is installed)."""
    lang = figure_language()
    text = _catalog(lang).gettext(name)
    return name.replace("_", " ") if text == name else text


def figure_mode(name: str) -> str:
    """:func:`mode_label` for a figure (the name itself when no CJK font is installed)."""
    text = _catalog(figure_language()).gettext(name)
    return name if text == name else text


# --------------------------------------------------------------------------- terminal tables


def display_width(text: str) -> int:
    """Columns *text* takes in a terminal: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text))


def pad(text: str, width: int, right: bool = False) -> str:
    """*text* padded with spaces to *width* terminal columns (on the left when *right*)."""
    text = str(text)
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


# --------------------------------------------------------------------------- building the catalogs


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``sim.po`` under *locale_dir* to ``sim.mo`` beside it (needs Babel).

    Returns the files written.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(mo)
    return written


if __name__ == "__main__":  # python -m sim.presentation.i18n: compile the catalogs
    for path in compile_catalogs():
        print(f"wrote {path}")
