"""The registry (sim/registry.py): one way to name a plug-in of each kind, and the code fingerprint."""

from __future__ import annotations

import hashlib
from importlib.metadata import EntryPoint

import pytest

from sim import registry
from sim.engine import detection, rules
from sim.stats import plugins


def test_the_builtins_are_registered_names_of_their_module():
    assert registry.resolve("dispatch_rules", "nearest").obj is rules.nearest
    assert registry.resolve("dispatch_rules", "least_loaded").obj is rules.least_loaded
    assert registry.resolve("detection_channels", "delayed").obj is detection.delayed
    assert registry.resolve("metrics", "share_over_60").obj is plugins.share_over_60
    for kind, table in registry.BUILTINS.items():
        for name, target in table.items():
            plugin = registry.resolve(kind, name)
            assert plugin.target == target and plugin.module.startswith("sim.")


def test_a_dotted_path_resolves_to_the_same_object_as_the_name():
    assert registry.resolve("dispatch_rules", "sim.engine.rules:own_queue").obj is rules.own_queue


def test_an_entry_point_is_a_registered_name(monkeypatch):
    group = registry.GROUPS["dispatch_rules"]
    points = [EntryPoint("far_away", "tests.experiments.plugins_example:straight_line", group)]

    def entry_points(group=None):
        return points if group == registry.GROUPS["dispatch_rules"] else []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    registry._entry_points.cache_clear()
    try:
        assert "far_away" in registry.names("dispatch_rules")
        plugin = registry.resolve("dispatch_rules", "far_away")
        assert plugin.module == "tests.experiments.plugins_example" and plugin.obj.__name__ == "straight_line"
        assert "did you mean 'far_away'" in registry.unknown_message("dispatch_rules", "far_awy")
    finally:
        registry._entry_points.cache_clear()


@pytest.mark.parametrize(
    "name, words",
    [
        ("nearset", "unknown dispatch rule 'nearset'; did you mean 'nearest'?"),
        ("zzz", "unknown dispatch rule 'zzz'; expected one of: own_queue, nearest, least_loaded"),
        ("sim.engine.rules:", "expected a dotted path 'module:attribute'"),
        ("sim.engine.rules:SMALL", "has no attribute 'SMALL'"),
    ],
)
def test_what_does_not_resolve_says_why(name, words):
    with pytest.raises(registry.PluginError) as caught:
        registry.resolve("dispatch_rules", name)
    assert words in str(caught.value)


def test_the_code_fingerprint_hashes_sources(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "hashed_module.py").write_text("X = 1\n")
    registry._source_hash.cache_clear()
    code = registry.code_fingerprint(["hashed_module", "no_such_module_here"])
    assert code == {
        "hashed_module": hashlib.sha256(b"X = 1\n").hexdigest(),
        "no_such_module_here": "missing",
    }
    assert registry.code_differences(code, {**code, "hashed_module": "0"}) == ["hashed_module"]
    package = registry.code_fingerprint(["sim"])["sim"]
    assert len(package) == 64 and package == registry._source_hash("sim")
    used = [registry.resolve("dispatch_rules", "tests.experiments.plugins_example:straight_line")]
    assert registry.modules_of(used + [registry.resolve("metrics", "share_over_60")]) == [
        "sim",
        "tests.experiments.plugins_example",
    ]


def test_dotted_paths_can_be_refused_for_input_from_others():
    with registry.registered_names_only():
        assert registry.resolve("dispatch_rules", "least_loaded").obj is rules.least_loaded
        with pytest.raises(registry.PluginError, match="a dotted path is not accepted here"):
            registry.resolve("dispatch_rules", "sim.engine.rules:nearest")  # even one already resolved
    assert registry.resolve("dispatch_rules", "sim.engine.rules:nearest").obj is rules.nearest


def test_the_readme_example_plugs_in_as_written(tmp_path, monkeypatch):
    """README's myrules.py, saved as it stands, is a working dispatch rule and metric."""
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("# myrules.py")
    (tmp_path / "readme_rules.py").write_text(readme[start : readme.index("```", start)], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sim
    from sim.stats.plugins import MetricInput, find_metric, plugin_value

    scenario = sim.load_scenario(
        ROOT / "scenarios" / "classroom.yaml", ["days=2", "governance.modes.unified.dispatch=readme_rules:least_recent"]
    )
    output = sim.run(scenario, "unified")
    assert output.records == sim.run(scenario.model_copy(), "unified").records  # a pure rule: reproducible
    plugin, keys = find_metric("readme_rules:share_over_60")  # type: ignore[misc]
    value = plugin_value(plugin, keys, MetricInput(output, scenario.warmup_days * 1440, scenario.target_min))
    assert value is not None and 0 <= value <= 1
