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


@pytest.fixture
def saved_figures(monkeypatch):
    """The words of every figure a command saves, by file name (PNG only)."""
    from sim.presentation import files

    seen: dict[str, str] = {}
    save = files.save_figures

    def keep(figures, folder, formats=files.FORMATS, **options):
        paths = save(figures, folder, formats, **options)
        if "png" in formats:
            seen.update({f"{stem}.png": _texts(fig) for stem, fig in figures.items()})
        return paths

    monkeypatch.setattr(files, "save_figures", keep)
    return seen


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def test_sweep_curves_in_chinese_from_the_plot_command(tmp_path, saved_figures, capsys):
    import csv

    from tests.presentation.test_figures import SWEEP_ROWS

    assert i18n.cjk_font() is not None, "install Debian's fonts-noto-cjk (.ci/run does)"
    with (tmp_path / "summary.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SWEEP_ROWS[0]))
        writer.writeheader()
        writer.writerows(SWEEP_ROWS)
    assert main(["plot", str(tmp_path), "--lang", "zh"]) == 0
    median = saved_figures["sweep_response_min_median_mean_vs_departments_sanitation_units.png"]
    assert "响应时间中位数随departments.sanitation.units的变化" in median  # the title
    assert "响应时间中位数（分钟，对数刻度）" in median  # the y axis: metric, unit, log scale
    assert "工作方式（阴影：95%置信区间）" in median and "分散" in median and "统一" in median  # the legend
    share = saved_figures["sweep_within_target_vs_departments_sanitation_units.png"]
    assert "目标时间内到场比例（比例，0-1）" in share
    assert main(["plot", str(tmp_path)]) == 0  # English stays the default
    english = saved_figures["sweep_response_min_median_mean_vs_departments_sanitation_units.png"]
    assert "median response time against departments.sanitation.units" in english and not _has_chinese(english)


def test_sensitivity_bars_in_chinese_from_the_sensitivity_command(tmp_path, saved_figures, capsys):
    import yaml

    assert i18n.cjk_font() is not None, "install Debian's fonts-noto-cjk (.ci/run does)"
    sweep = {
        "name": "classroom_sensitivity",
        "scenario": str(SCENARIOS / "classroom.yaml"),
        "set": ["days=2"],
        "parameters": {
            "departments.sanitation.units": {"low": 1, "high": 4, "integer": True},
            "departments.sanitation.crew": {"low": 1, "high": 6, "integer": True},
        },
        "design": "sobol",
        "samples": 4,
        "seed": 3,
        "modes": ["joint"],
        "metrics": ["utilisation.sanitation"],
    }
    path = tmp_path / "sensitivity.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    argv = ["sensitivity", str(path), "--method", "morris", "--backend", "serial", "--out", str(tmp_path / "out")]
    argv += ["--lang", "zh"]
    assert main(argv) == 0
    text = saved_figures["sensitivity_utilisation_sanitation.png"]
    assert "classroom_sensitivity：哪些参数影响" in text and "利用率（morris）" in text  # the title
    assert "工作方式：联合" in text  # the panel's title
    assert "Morris 基本效应（指标的单位）" in text and "mu*（95%区间）" in text and "恰为 0" in text
    assert "Morris elementary effect" not in text


_STAT = {"mean": 600.0, "ci_low": 550.0, "ci_high": 650.0}


def _waterfall_data() -> dict:
    shares = [
        {
            "lever": lever,
            "shapley": {"mean": -100.0, "ci_low": -120.0, "ci_high": -80.0},
            "alone": {"mean": -90.0},
            "last": {"mean": -110.0},
        }
        for lever in ("authority", "information", "dispatch", "coordination")
    ]
    table = {
        "metric": "response_min.median",
        "low": "fragmented",
        "high": "unified",
        "from": _STAT,
        "to": {"mean": 200.0, "ci_low": 180.0, "ci_high": 220.0},
        "shares": shares,
        "confidence": 0.95,
    }
    return {
        "scenario": "classroom",
        "from": "fragmented",
        "replications": 5,
        "confidence": 0.95,
        "metrics": {"response_min.median": table},
    }


def _staffing_data() -> dict:
    target = {"metric": "response_min.median", "value": 30.0, "text": "median response <= 30 min"}
    trials = [{"units": u, "mean": 60.0 / u, "ci_low": 50.0 / u, "ci_high": 70.0 / u} for u in (1, 2, 3)]
    result = {"mode": "joint", "trials": trials, "answer": 3, "answer_people": 6, "target": target, "searched": [1, 3]}
    return {"scenario": "classroom", "target": target, "results": [{**result, "departments": ["sanitation"]}]}


def test_waterfall_and_staffing_figures_in_chinese():
    """The decomposition's waterfall and the staffing curve speak Chinese too, lever names included."""
    from sim.presentation import figures
    from sim.presentation.i18n import use_language

    assert i18n.cjk_font() is not None, "install Debian's fonts-noto-cjk (.ci/run does)"
    with use_language("zh"):
        waterfall = _texts(figures.figure_waterfall(_waterfall_data()))
        staffing = _texts(figures.figure_staffing(_staffing_data()))
    assert "各改革杠杆各贡献多少" in waterfall and "逐项改革杠杆" in waterfall
    assert "执法权限" in waterfall and "信息渠道" in waterfall and "分散" in waterfall and "统一" in waterfall
    assert "只在分散上单独切换该杠杆" in waterfall and "95% 区间" in waterfall
    assert "lever" not in waterfall
    assert (
        "需要多少组" in staffing
        and "队伍的组数" in staffing
        and "目标：" in staffing
        and "联合：3 组 = 6 人" in staffing
    )
    assert "units" not in staffing
    english = _texts(figures.figure_waterfall(_waterfall_data()))
    assert "which lever buys how much" in english and not _has_chinese(english)
