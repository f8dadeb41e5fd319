"""The summary's types describe the summary: every key a type requires is there, no key is left undescribed,
and the values have the types said, recursively through modes, types, channels and paired differences."""

from __future__ import annotations

import types
import typing

import pytest

import sim
from sim.stats.summary_types import ModeSummary, Summary
from tests.conftest import SCENARIOS


def _is_typeddict(kind) -> bool:
    return isinstance(kind, type) and issubclass(kind, dict) and hasattr(kind, "__required_keys__")


def _check(value, kind, path: str, seen: set) -> None:
    origin = typing.get_origin(kind)
    if kind is typing.Any:
        return
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None:
            assert type(None) in options, f"{path} is None"
            return
        kinds = [k for k in options if k is not type(None)]
        errors = []
        for option in kinds:
            try:
                _check(value, option, path, seen)
                return
            except AssertionError as err:
                errors.append(str(err))
        raise AssertionError("; ".join(errors))
    if _is_typeddict(kind):
        assert isinstance(value, dict), path
        hints = typing.get_type_hints(kind)
        missing = set(kind.__required_keys__) - set(value)
        unknown = set(value) - set(hints)
        assert not missing and not unknown, f"{path}: missing {sorted(missing)}, not described {sorted(unknown)}"
        seen.add(kind.__name__)
        for key, item in value.items():
            _check(item, hints[key], f"{path}.{key}", seen)
        return
    if origin is dict:
        assert isinstance(value, dict), path
        _, item_kind = typing.get_args(kind)
        for key, item in value.items():
            _check(item, item_kind, f"{path}.{key}", seen)
        return
    if kind is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path} = {value!r}"
        return
    assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), f"{path} = {value!r}"


@pytest.fixture(scope="module")
def summary():
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2", "warmup_days=0.5", "drain_days=0.3"])
    return sim.compare(scenario, replications=5, seed=2).summary


def test_a_comparison_summary_has_the_shape_its_types_say(summary):
    seen: set[str] = set()
    _check(summary, Summary, "summary", seen)
    assert {"Summary", "ModeSummary", "GroupStats", "TimeStats", "ChannelStats", "PairedReport"} <= seen
    assert "paired" in summary  # five replications, three modes


def test_a_summary_with_one_replication_has_the_shape_too():
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=1", "warmup_days=0.2", "drain_days=0.2"])
    one = sim.compare(scenario, seed=1).summary
    _check(one, Summary, "summary", set())
    _check(next(iter(one["modes"].values())), ModeSummary, "mode", set())


def test_the_checker_catches_a_key_the_types_do_not_describe(summary):
    mode = dict(next(iter(summary["modes"].values())))
    mode["something_new"] = 1
    with pytest.raises(AssertionError, match="something_new"):
        _check(mode, ModeSummary, "mode", set())


def test_a_summary_with_campaigns_has_the_shape_too():
    campaign = (
        "campaigns=[{name: sweep, schedule: {every: week, days: [1], start: '10:00'}, duration_min: 120, "
        "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 1}}]"
    )
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=2", "warmup_days=0", campaign])
    one = sim.compare(scenario, seed=1, modes=["joint"]).summary
    seen: set[str] = set()
    _check(one, Summary, "summary", seen)
    assert "CampaignStats" in seen
