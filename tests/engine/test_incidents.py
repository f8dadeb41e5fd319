"""Incident generation: rates, the daily profile and patch weights come out as specified, and every
way of working replays the same incidents (common random numbers).

Counts are checked against exact intervals: a Poisson count (incidents of a type, of an hour of the
day) or a binomial one (incidents of a patch given the total, reports by hotline) must fall in its
central interval of probability ``1 - ALPHA`` (``ALPHA`` split over the cells checked together,
Bonferroni). A correct generator fails with probability below ``ALPHA``; the seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.incidents import TOWN, arrival_times
from sim.engine.model import Simulation
from sim.engine.rng import replication_seed
from sim.engine.territory import build_town
from sim.scenario.governance import modes_of

ALPHA = 1e-6
DAYS = 20
RATES = (300.0, 100.0)
PROFILE = [1] * 6 + [2] * 3 + [4] * 8 + [3] * 4 + [1] * 3  # 24 hourly weights, quiet at night
WEIGHTS = (1.0, 2.0, 5.0)


def town_scenario() -> sim.Scenario:
    """Three patches weighted 1:2:5, two incident types (one with a daily profile), hotline reports
    after a fixed 15 minutes that only come in on weekdays 09:00-17:00, and no patrols."""
    detection = {
        "patrol": {"notice_probability": 0},
        "hotline": {"probability": 0.4, "delay_min": 15, "hours": {"days": "weekdays", "times": ["09:00-17:00"]}},
    }
    return sim.scenario_from_dict(
        {
            "name": "incidents",
            "seed": 5,
            "days": DAYS,
            "warmup_days": 1,
            "territory": {
                "patches": [{"name": f"p{i}", "x_km": i, "y_km": 0, "weight": w} for i, w in enumerate(WEIGHTS)]
            },
            "departments": [{"name": "team", "units": 2, "powers": ["litter", "noise"]}],
            "incident_types": [
                {
                    "name": "litter",
                    "rate_per_day": RATES[0],
                    "profile": PROFILE,
                    "service_min": 10,
                    "detection": detection,
                },
                {
                    "name": "noise",
                    "rate_per_day": RATES[1],
                    "service_min": {"dist": "exponential", "mean": 20},
                    "detection": detection,
                },
            ],
        }
    )


def incidents_of(scenario: sim.Scenario, mode: str, replication: int = 0):
    """The incident set a replication of *mode* starts from (before any way of working acts)."""
    return Simulation(scenario, modes_of(scenario)[mode], replication_seed(scenario.seed, replication)).incidents


def poisson_ok(count: int, mean: float, alpha: float) -> bool:
    low, high = scipy.stats.poisson.interval(1 - alpha, mean)
    return low <= count <= high


def binomial_ok(count: int, n: int, p: float, alpha: float) -> bool:
    low, high = scipy.stats.binom.interval(1 - alpha, n, p)
    return low <= count <= high


@pytest.fixture(scope="module")
def scenario() -> sim.Scenario:
    return town_scenario()


@pytest.fixture(scope="module")
def incidents(scenario):
    return incidents_of(scenario, "joint")


def test_counts_per_type_hour_and_patch_match_rates_profile_and_weights(incidents):
    times, types, patch = incidents.occurred_min, incidents.type_index, incidents.patch
    assert np.all(np.diff(times) >= 0) and times[0] >= 0 and times[-1] < DAYS * 1440
    for k, rate in enumerate(RATES):
        assert poisson_ok(int((types == k).sum()), rate * DAYS, ALPHA / 2), k
    hour = (times[types == 0] // 60 % 24).astype(int)
    share = np.asarray(PROFILE) / sum(PROFILE)
    for h in range(24):
        assert poisson_ok(int((hour == h).sum()), RATES[0] * DAYS * share[h], ALPHA / 24), h
    other = (times[types == 1] // 60 % 24).astype(int)  # no profile: flat
    for h in range(24):
        assert poisson_ok(int((other == h).sum()), RATES[1] * DAYS / 24, ALPHA / 24), h
    n = len(patch)
    for i, w in enumerate(WEIGHTS):
        assert binomial_ok(int((patch == i).sum()), n, w / sum(WEIGHTS), ALPHA / 3), i


def test_hotline_reports_come_with_their_probability_delay_and_hours(incidents):
    """40% are reported; a report comes 15 minutes after the incident, or when the line opens
    (weekdays 09:00-17:00) if that falls outside its hours."""
    hotline = incidents.channel_min[:, 2]
    reported = np.isfinite(hotline)
    assert binomial_ok(int(reported.sum()), len(hotline), 0.4, ALPHA)
    due, at = incidents.occurred_min[reported] + 15, hotline[reported]
    minute_of_day, weekday = at % 1440, (at // 1440) % 7
    assert np.all((minute_of_day >= 540) & (minute_of_day < 1020) & (weekday < 5))
    due_open = ((due % 1440) >= 540) & ((due % 1440) < 1020) & ((due // 1440) % 7 < 5)
    assert np.array_equal(at[due_open], due[due_open])  # open: exactly 15 minutes later
    assert np.all(at[~due_open] > due[~due_open]) and np.all(at[~due_open] % 60 == 0)  # closed: the line opens at 09:00
    assert np.all(np.isinf(incidents.channel_min[:, 0]))  # no patrol ever notices (probability 0)
    assert np.all(incidents.layer == TOWN)  # no grid management: every matter is the town's


def test_every_mode_replays_the_same_incidents(scenario):
    """Common random numbers: the incidents do not depend on the way of working, only on the replication."""
    sets = {mode: incidents_of(scenario, mode) for mode in modes_of(scenario)}
    assert len(sets) == 3
    first = sets["fragmented"]
    fields = ("occurred_min", "type_index", "patch", "channel_min", "finder_u", "leave_u", "layer")
    for mode, other in sets.items():
        for name in fields:
            assert np.array_equal(getattr(first, name), getattr(other, name)), (mode, name)
        assert first.service_min == other.service_min, mode
    again = incidents_of(scenario, "unified", replication=1)
    assert len(again) != len(first) or not np.array_equal(again.occurred_min, first.occurred_min)


def test_a_partial_last_hour_gets_its_share_of_the_rate():
    """2.2 days end 48 minutes into hour 52: over 400 replications of 240 a day (10 an hour), that
    last piece holds Poisson(400 * 10 * 0.8) incidents, all before the horizon."""
    rng = np.random.default_rng(3)
    days, reps = 2.2, 400
    last = [arrival_times(240.0, None, days, rng) for _ in range(reps)]
    assert all(t.size == 0 or t[-1] < days * 1440 for t in last)
    in_last_piece = sum(int((t >= 52 * 60).sum()) for t in last)
    assert poisson_ok(in_last_piece, reps * 10 * 0.8, ALPHA)


@settings(max_examples=100, deadline=None)
@given(
    rate=st.floats(0, 2000),
    days=st.floats(0.01, 10),
    profile=st.one_of(st.none(), st.lists(st.floats(0, 10), min_size=24, max_size=24).filter(lambda p: sum(p) > 0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_arrival_times_are_sorted_within_the_horizon_and_reproducible(rate, days, profile, seed):
    times = arrival_times(rate, profile, days, np.random.default_rng(seed))
    assert np.all(np.diff(times) >= 0) and (times.size == 0 or (times[0] >= 0 and times[-1] < days * 1440))
    assert np.array_equal(times, arrival_times(rate, profile, days, np.random.default_rng(seed)))
    if profile is not None:
        hours = (times // 60 % 24).astype(int)
        assert all(profile[h] > 0 for h in hours)  # nothing happens in an hour of weight 0
    if rate == 0:
        assert times.size == 0


# --------------------------------------------------------------------------- camera locations

CAMERA_LAYOUT = {
    # a 3 x 3 grid of 1 km patches: centres at (0.5, 0.5) ... (2.5, 2.5)
    "grid": {"rows": 3, "cols": 3},
    "cameras": {"view_radius_km": 1.0, "points": [{"x_km": 0.5, "y_km": 2.5}, {"x_km": 2.5, "y_km": 0.0}]},
}
"""A camera on the top-left centre and one on the bottom edge below the right-hand column."""


def camera_scenario(cameras: bool = True) -> sim.Scenario:
    territory = dict(CAMERA_LAYOUT) if cameras else {"grid": CAMERA_LAYOUT["grid"]}
    detection = {"patrol": {"notice_probability": 0}, "hotline": {"probability": 0.3}, "camera": {"probability": 0.6}}
    return sim.scenario_from_dict(
        {
            "name": "cameras",
            "seed": 11,
            "days": 30,
            "territory": territory,
            "departments": [{"name": "team", "units": 2, "powers": ["litter"]}],
            "incident_types": [{"name": "litter", "rate_per_day": 200, "service_min": 10, "detection": detection}],
        }
    )


def test_camera_view_of_each_patch_is_computed_exactly():
    """Within 1 km (centre to camera, straight line, the border included) of (0.5, 2.5) or (2.5, 0)."""
    town = build_town(camera_scenario().territory)
    seen = dict(zip(town.names, town.camera_view.tolist()))
    # row 0 is the top (y = 2.5): r0c0 holds the camera; r0c1 and r1c0 are exactly 1 km away (included);
    # r2c2 is 0.5 km above the second camera; r1c2 is 1.5 km away; r2c1 is hypot(1, 0.5) = 1.118 km away
    assert seen == {
        "r0c0": True,
        "r0c1": True,
        "r0c2": False,
        "r1c0": True,
        "r1c1": False,
        "r1c2": False,
        "r2c0": False,
        "r2c1": False,
        "r2c2": True,
    }
    assert build_town(camera_scenario(cameras=False).territory).camera_view is None


def test_the_camera_channel_reports_in_view_with_its_probability_and_nowhere_else():
    scenario = camera_scenario()
    incidents = incidents_of(scenario, "joint")
    view = build_town(scenario.territory).camera_view[incidents.patch]
    camera = np.isfinite(incidents.channel_min[:, 3])
    assert not camera[~view].any(), "a camera reported a matter in a patch no camera sees"
    assert binomial_ok(int(camera[view].sum()), int(view.sum()), 0.6, ALPHA)
    # the same draws as without camera locations: where a camera sees, the reports are the very same
    free = incidents_of(camera_scenario(cameras=False), "joint")
    assert np.array_equal(incidents.occurred_min, free.occurred_min)
    assert np.array_equal(incidents.channel_min[view], free.channel_min[view])
    assert np.array_equal(incidents.channel_min[~view][:, :3], free.channel_min[~view][:, :3])


def test_cameras_that_see_no_patch_are_a_clear_error():
    data = camera_scenario().model_dump(mode="json", exclude_none=True)
    data["territory"]["cameras"] = {"view_radius_km": 0.2, "points": [{"x_km": 500.0, "y_km": 2500.0}]}
    with pytest.raises(sim.ScenarioError) as err:
        sim.scenario_from_dict(data)
    problem = err.value.problems[0]
    assert problem.path == "territory.cameras" and "no patch centre lies within view_radius_km (0.2 km)" in str(problem)


def test_validate_says_how_many_patches_the_cameras_see(tmp_path, capsys):
    from sim.cli import main

    path = tmp_path / "cameras.yaml"
    path.write_text(camera_scenario().model_dump_json(exclude_none=True), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "  cameras: 2, seeing 4 of 9 patches (centre within 1 km)" in capsys.readouterr().out


def test_service_rows_read_as_tuples_of_floats():
    """On-scene work is kept as one array; a row reads as the tuple of floats it was drawn as."""
    from sim.engine.incidents import ServiceRows

    rows = ServiceRows.of_blocks([np.array([[1.5], [2.5]]), np.array([[3.0, 4.0]])])
    assert list(rows) == [(1.5,), (2.5,), (3.0, 4.0)] and all(type(x) is float for x in rows[2])
    assert rows.take(np.array([2, 0])) == [(3.0, 4.0), (1.5,)]
    assert rows.take(np.array([True, False, True])) + ServiceRows.of_rows([(7.0, 8.0, 9.0)]) == [
        (1.5,), (3.0, 4.0), (7.0, 8.0, 9.0)
    ]  # fmt: skip
    kept = (rows.first, rows.parts, rows.multi, rows.rest)
    assert sum(a.nbytes for a in kept) == 3 * (8 + 1) + 8 + 8  # a row of one part in 9 bytes; more parts kept apart
    assert rows.rows_of(np.array([2, 1, 2])) == [(3.0, 4.0), (2.5,), (3.0, 4.0)]
    assert rows.minutes.tolist() == [[1.5, 0.0], [2.5, 0.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    "windows, days",
    [
        (["08:30-12:00", "14:00-17:30"], range(5)),
        (["22:00-06:00"], range(7)),
        (["00:00-24:00"], [0, 6]),
        (["09:00-09:01"], [3]),
        (["18:00-08:00"], [4, 5, 6]),
    ],
)
def test_next_open_on_whole_arrays_is_the_hours_own_answer_bit_for_bit(windows, days):
    """A report outside its channel's hours waits for the next opening: worked out on the whole array, the
    same number as WeeklyHours.next_open gives one time at a time (at the bounds of windows and weeks too)."""
    from sim.engine.incidents import next_open
    from sim.scenario.schedule import MINUTES_PER_WEEK, WeeklyHours

    hours = WeeklyHours.from_windows(windows, days)
    rng = np.random.default_rng(len(windows) + len(list(days)))
    bounds = np.array([*hours.starts, *hours.ends, 0.0, MINUTES_PER_WEEK])
    weeks = rng.integers(0, 60, size=(bounds.size, 1)) * float(MINUTES_PER_WEEK)
    times = np.concatenate(
        [rng.uniform(0, 60 * MINUTES_PER_WEEK, 5_000), (bounds[:, None] + weeks).ravel(), np.nextafter(bounds, 0)]
    )
    expected = np.array([hours.next_open(t) for t in times.tolist()])
    assert np.array_equal(next_open(hours, times).view(np.int64), expected.view(np.int64))


def test_service_rows_keep_every_row_through_take_and_add():
    """Rows of one to four parts, taken by indices and masks and joined, read back as the tuples they were drawn as."""
    from sim.engine.incidents import ServiceRows

    rng = np.random.default_rng(12)
    for _ in range(60):
        widths = rng.integers(1, 5, rng.integers(1, 5)).tolist()
        blocks = [rng.exponential(30.0, (int(rng.integers(0, 6)), w)) for w in widths]
        expected = [tuple(row.tolist()) for block in blocks for row in block]
        rows = ServiceRows.of_blocks(blocks)
        assert list(rows) == expected and len(rows) == len(expected)
        order = rng.permutation(len(expected))
        taken = rows.take(order)
        assert list(taken) == [expected[i] for i in order]
        mask = rng.random(len(expected)) < 0.5
        extra = [tuple(rng.exponential(5.0, int(rng.integers(1, 4))).tolist()) for _ in range(3)]
        both = taken.take(mask) + ServiceRows.of_rows(extra)
        assert list(both) == [expected[i] for i in order[mask]] + extra
        if len(both):
            numbers = rng.integers(0, len(both), 10)
            assert both.rows_of(numbers) == [both[int(i)] for i in numbers]
    none_and_two = ServiceRows.of_minutes(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0, 2, 1]))
    assert none_and_two.rows_of(np.array([0, 1, 2, 0, 1])) == [(), (3.0, 4.0), (5.0,), (), (3.0, 4.0)]
    none_after_the_last_of_two = ServiceRows.of_minutes(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2, 0]))
    assert none_after_the_last_of_two.rows_of(np.array([1, 0], dtype=np.int32)) == [(), (1.0, 2.0)]
    no_parts = ServiceRows.of_minutes(np.zeros((2, 0)), np.array([0, 0]))
    assert no_parts.rows_of(np.array([0, 1])) == [(), ()]
