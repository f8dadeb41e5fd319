"""Chinese and English: catalogs complete and compiled, the CLI's --lang, figures with a CJK font or English."""

from __future__ import annotations

import ast
import gettext
import io

import matplotlib
import pytest

import sim
from sim.cli import main
from sim.presentation import i18n
from sim.presentation.i18n import LOCALE_DIR, _, display_width, mode_label, term, use_language
from tests.conftest import ROOT, SCENARIOS


def _marked_strings() -> dict[str, str]:
    """Every literal wrapped in ``_()`` or ``N_()`` anywhere in ``sim/``, with a file it is in."""
    found = {}
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, str(path.relative_to(ROOT)))
    return found


def _po_messages() -> dict[str, str]:
    babel = pytest.importorskip("babel.messages.pofile")
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "sim.po").open("rb") as handle:
        catalog = babel.read_po(handle)
    return {m.id: m.string for m in catalog if m.id}


def test_every_marked_string_has_a_chinese_translation():
    messages = _po_messages()
    marked = _marked_strings()
    assert len(marked) > 150
    missing = {m: where for m, where in marked.items() if not messages.get(m)}
    assert not missing, f"add to sim/locale/zh/LC_MESSAGES/sim.po: {missing}"


def test_translations_keep_their_placeholders():
    import string

    for msgid, msgstr in _po_messages().items():
        fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
        assert fields(msgid) == fields(msgstr), msgid


def test_the_compiled_catalog_matches_its_source(tmp_path):
    """sim.mo is what Babel makes of sim.po now (recompile with python -m sim.presentation.i18n)."""
    import shutil

    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy)
    i18n.compile_catalogs(copy)
    fresh = gettext.GNUTranslations(io.BytesIO((copy / "zh/LC_MESSAGES/sim.mo").read_bytes()))
    shipped = gettext.GNUTranslations(io.BytesIO((LOCALE_DIR / "zh/LC_MESSAGES/sim.mo").read_bytes()))
    assert fresh._catalog == shipped._catalog


def test_terms_match_the_sources():
    with use_language("zh"):
        assert [mode_label(m) for m in ("fragmented", "joint", "unified")] == ["分散", "联合", "统一"]
        assert term("garbage_overflow") == "垃圾满溢"
        assert "吹哨报到" in _("all at once (whistle and report, 吹哨报到)")
        assert "一支队伍管执法" in _("One team holds the pooled powers (一支队伍管执法)")
        assert term("unknown_thing") == "unknown thing"
    assert term("garbage_overflow") == "garbage overflow" and mode_label("unified") == "unified"


def test_the_language_is_per_block_and_unknown_languages_are_refused():
    with use_language("zh"):
        assert _("Figures") == "图表"
    assert _("Figures") == "Figures"
    with pytest.raises(ValueError, match="expected one of: en, zh"), use_language("fr"):
        pass


def test_compare_prints_its_summary_in_chinese_with_aligned_columns(capsys):
    assert main(["compare", str(SCENARIOS / "classroom.yaml"), "--days", "2", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "情景“classroom”" in out and "响应时间中位数，分钟" in out and "分散" in out and "统一" in out
    table = out.split("\n\n")[1].splitlines()
    assert len({display_width(line) for line in table[:3]}) == 1  # header, rule and first row line up


def test_english_stays_the_default(capsys):
    assert main(["run", str(SCENARIOS / "classroom.yaml"), "--days", "2"]) == 0
    assert "response median, min" in capsys.readouterr().out


def test_a_bad_language_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(SCENARIOS / "classroom.yaml"), "--lang", "fr"])
    assert exit_.value.code == 2


@pytest.fixture(scope="module")
def classroom_results():
    from sim.presentation.figures import Results

    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2"])
    return Results.from_comparison(sim.compare(scenario))


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_figures_in_chinese_use_an_installed_cjk_font(classroom_results):
    from sim.presentation import figures

    assert i18n.cjk_font() is not None, "install Debian's fonts-noto-cjk (.ci/run does)"
    with use_language("zh"):
        fig = figures.figure_response_ecdf(classroom_results)
        fig.savefig(io.BytesIO(), format="png")
    text = _texts(fig)
    assert "有权处置的人员多久到场" in text and "分散" in text
    assert i18n.cjk_font() in matplotlib.rcParams["font.family"]


def test_without_a_cjk_font_figures_say_so_once_and_keep_english(classroom_results, monkeypatch, capsys):
    from sim.presentation import figures

    monkeypatch.setattr(i18n, "cjk_font", lambda: None)
    monkeypatch.setattr(i18n, "_warned", [])
    with use_language("zh"):
        first = figures.figure_response_by_type(classroom_results)
        figures.figure_response_by_type(classroom_results)
    assert capsys.readouterr().err.count("no font with Chinese glyphs") == 1
    text = _texts(first)
    assert "Median and 90th-percentile response by incident type" in text
    assert not any("\u4e00" <= c <= "\u9fff" for c in text), "a figure without a CJK font must not draw Chinese"


def test_the_report_in_chinese(tmp_path):
    from sim.io.results import write_comparison
    from sim.presentation.report import build_report

    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2"])
    write_comparison(tmp_path, sim.compare(scenario))
    with use_language("zh"):
        text = build_report(tmp_path, figures={})
    assert (
        '<html lang="zh">' in text and "镇域综合执法模拟：classroom" in text and "概览" in text and "垃圾满溢" in text
    )
