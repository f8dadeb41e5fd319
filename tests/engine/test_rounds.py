"""A department's own rounds: fixed routes that pass each patch at a fixed period.

Known answers: with a route period P, rounds round the clock and every pass noticing, the wait
from occurrence to detection is the residual of a uniform phase, mean P / 2 (variance P^2 / 12,
so the tolerance is computed from the number of matters); with notice probability q the wait
grows by P (1 - q) / q (geometric passes). With office-hour rounds a matter occurring at night
waits for the first round of the morning, at a minute computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.engine.model import Simulation
from sim.engine.rng import STREAMS, replication_seed
from sim.engine.rounds import first_round_min, passes_needed
from sim.errors import ScenarioError
from sim.scenario.governance import modes_of
from sim.scenario.schedule import MINUTES_PER_DAY, MINUTES_PER_WEEK, WeeklyHours

DAY = MINUTES_PER_DAY
OFFICE = WeeklyHours.from_windows(["08:00-17:00"], range(5))


def _town(
    rounds: dict | None, patches: int = 1, days: float = 28.0, rate: float = 48.0, shift: str = "24h", **extra
) -> sim.Scenario:
    """A town where only the sanitation department's rounds can find the bins (no patrol, no hotline)."""
    sanitation = {"name": "sanitation", "units": 50, "setoff_min": 0, "shift": shift, "powers": ["bins"]}
    if rounds is not None:
        sanitation["rounds"] = rounds
    data = {
        "name": "rounds",
        "seed": 7,
        "days": days,
        "warmup_days": 0,
        "drain_days": 3,
        "territory": {"patches": [{"name": f"p{k}", "x_km": k, "y_km": 0} for k in range(patches)]},
        "departments": [
            sanitation,
            {"name": "enforcement", "units": 2, "patrols": True, "powers": ["vending"]},
        ],
        "incident_types": [
            {
                "name": "bins",
                "rate_per_day": rate,
                "service_min": 10,
                "detection": {"patrol": {"notice_probability": 0}, "hotline": {"probability": 0}},
            },
            {"name": "vending", "rate_per_day": 5, "service_min": 10},
        ],
    }
    data.update(extra)
    return sim.scenario_from_dict(data)


def _waits(scenario: sim.Scenario, mode: str = "fragmented") -> np.ndarray:
    records = [r for r in sim.run(scenario, mode).records if r.incident_type == "bins"]
    assert all(r.channel == "rounds" for r in records)
    return np.array([r.detected_min - r.occurred_min for r in records])


# --------------------------------------------------------------------------- the route, exactly


@pytest.mark.parametrize(
    ("t", "passes", "expected"),
    [
        (0.0, 1, 30.0),  # phase 30, period 240: passes at 30, 270, 510, ...
        (30.0, 1, 30.0),  # a pass at the very minute
        (31.0, 1, 270.0),
        (31.0, 3, 750.0),
        (DAY + 1.0, 1, DAY + 30.0),  # 1470 = 30 + 6 x 240: the lattice meets the day again
    ],
)
def test_round_the_clock_a_route_passes_on_a_lattice(t, passes, expected):
    lattice = [30.0 + k * 240.0 for k in range(200)]
    assert (
        first_round_min(t, passes, 30.0, 240.0, WeeklyHours.always())
        == [x for x in lattice if x >= t][passes - 1]
        == expected
    )


@pytest.mark.parametrize(
    ("t", "passes", "expected"),
    [
        (1 * DAY + 2 * 60, 1, 1 * DAY + 8 * 60 + 30),  # Tuesday 02:00: the first round of the morning, 08:30
        (1 * DAY + 8 * 60 + 31, 1, 1 * DAY + 12 * 60 + 30),  # just missed: the next pass, 12:30
        (1 * DAY + 16 * 60 + 31, 1, 2 * DAY + 8 * 60 + 30),  # after the last pass (16:30): Wednesday 08:30
        (1 * DAY + 16 * 60 + 31, 2, 2 * DAY + 12 * 60 + 30),
        (4 * DAY + 18 * 60, 1, MINUTES_PER_WEEK + 8 * 60 + 30),  # Friday evening: Monday 08:30
        (5 * DAY + 12 * 60, 4, MINUTES_PER_WEEK + DAY + 8 * 60 + 30),  # passes Mon 08:30, 12:30, 16:30, Tue 08:30
    ],
)
def test_office_hour_rounds_start_the_route_afresh_each_morning(t, passes, expected):
    """Weekdays 08:00-17:00, the patch 30 minutes into a 240-minute route: passes 08:30, 12:30, 16:30."""
    assert first_round_min(t, passes, 30.0, 240.0, OFFICE) == expected


def test_a_route_longer_than_every_window_never_reaches_a_patch_placed_beyond_them():
    assert math.isinf(first_round_min(0.0, 1, 600.0, 700.0, OFFICE))  # windows last 540 minutes


def test_a_window_over_midnight_at_the_end_of_the_week_is_one_round():
    """Rounds 20:00-08:00 every night: Sunday 20:00 to Monday 08:00 is one route, not two."""
    nights = WeeklyHours.from_windows(["20:00-08:00"], range(7))
    sunday_night = 6 * DAY + 20 * 60
    # Passes at Sunday 21:40, 01:00 (Monday, minute 10140), 04:20, ...
    assert first_round_min(MINUTES_PER_WEEK + 61.0, 1, 100.0, 200.0, nights) == sunday_night + 100.0 + 2 * 200.0


def test_passes_needed_are_geometric():
    """Mean 1 / q, and P(N = 1) = q, within binomial and standard-error bounds."""
    q, n = 0.3, 200_000
    draws = passes_needed(1.0 - np.random.default_rng(1).random(n), q)
    assert draws.min() == 1
    assert abs(draws.mean() - 1 / q) < 4 * math.sqrt((1 - q) / q**2 / n)
    assert abs((draws == 1).mean() - q) < 4 * math.sqrt(q * (1 - q) / n)
    assert (passes_needed(np.ones(3), 0.0) == 0).all() and (passes_needed(np.ones(3), 1.0) == 1).all()


# --------------------------------------------------------------------------- through the engine


@pytest.mark.parametrize("period", [60.0, 240.0])
def test_round_the_clock_rounds_wait_half_a_period_on_average(period):
    """The uniform residual: mean P / 2, standard error P / sqrt(12 n); over five patches with their own phases."""
    waits = _waits(_town({"period_min": period, "hours": {"times": ["00:00-24:00"]}}, patches=5))
    n = len(waits)
    assert n > 1000
    assert waits.min() >= 0 and waits.max() < period
    assert abs(waits.mean() - period / 2) < 4 * period / math.sqrt(12 * n)


def test_with_a_notice_probability_the_wait_grows_by_the_missed_passes():
    """With notice probability q = 0.4: mean P / 2 + P (1 - q) / q; variance P^2 / 12 + P^2 (1 - q) / q^2."""
    period, q = 120.0, 0.4
    waits = _waits(
        _town({"period_min": period, "hours": {"times": ["00:00-24:00"]}, "notice_probability": q}, patches=3)
    )
    n = len(waits)
    sd = period * math.sqrt(1 / 12 + (1 - q) / q**2)
    assert abs(waits.mean() - (period / 2 + period * (1 - q) / q)) < 4 * sd / math.sqrt(n)


def test_with_office_hour_rounds_a_matter_at_night_waits_for_the_first_round():
    """One patch, one pass a day at 08:00 + phase (the period is longer than the window)."""
    scenario = _town({"period_min": 600.0, "hours": {"days": "weekdays", "times": ["08:00-17:00"]}}, days=14)
    records = [r for r in sim.run(scenario, "fragmented").records if r.incident_type == "bins"]
    offsets = {round(r.detected_min % DAY, 6) for r in records}
    assert len(offsets) == 1  # one patch, one phase: every find at the same minute of the day
    (offset,) = offsets
    assert 8 * 60 <= offset < 17 * 60
    for r in records:
        day = r.occurred_min // DAY
        next_day = day if r.occurred_min % DAY <= offset else day + 1
        while next_day % 7 >= 5:  # no rounds at the weekend
            next_day += 1
        assert r.detected_min == pytest.approx(next_day * DAY + offset, abs=1e-6)


def test_a_find_on_rounds_is_handled_by_the_finder_on_the_spot():
    records = [r for r in sim.run(_town({"period_min": 240.0}), "fragmented").records if r.incident_type == "bins"]
    reached = [r for r in records if r.on_scene_min == r.on_scene_min]
    assert reached and all(r.finder == "sanitation" and r.referrals == 0 for r in reached)
    assert all(r.on_the_spot and r.on_scene_min == r.detected_min for r in reached)


def test_rounds_default_to_the_departments_shift_hours():
    """An office-hours department's rounds run in office hours: no find outside them."""
    scenario = _town({"period_min": 120.0}, patches=3, shift="office_hours")
    office = scenario.departments[0].rounds_hours()
    assert office == WeeklyHours.from_windows(["08:30-12:00", "14:00-17:30"], range(5))
    records = [r for r in sim.run(scenario, "fragmented").records if r.incident_type == "bins" and r.channel]
    assert records and all(office.is_open(r.detected_min) for r in records)


def test_rounds_only_see_the_types_they_are_given_and_only_patches_on_the_route():
    scenario = _town({"period_min": 60.0, "sees": ["bins"], "patches": ["p0"]}, patches=2)
    records = [r for r in sim.run(scenario, "fragmented").records if r.incident_type == "bins"]
    assert {r.channel for r in records if r.patch == "p0"} == {"rounds"}
    assert {r.channel for r in records if r.patch == "p1"} == {""}


def test_rounds_of_a_department_that_may_not_act_report_nothing():
    """Sanitation's rounds told to see vending (enforcement's): not in fragmented; in a mode pooling both, yes."""
    modes = {"fragmented": {}, "team": {"based_on": "unified", "authority": {"pooled": ["sanitation", "enforcement"]}}}
    scenario = _town({"period_min": 60.0, "sees": ["vending"]}, governance={"modes": modes})
    fragmented = sim.run(scenario, "fragmented").records
    team = sim.run(scenario, "team").records
    assert not any(r.channel == "rounds" for r in fragmented)
    assert any(r.channel == "rounds" and r.incident_type == "vending" for r in team)


def test_rounds_leave_every_other_draw_unchanged():
    """Common random numbers: the new stream comes last; arrivals and channels are the same with and without rounds."""
    # appended after the streams that existed before it; streams added later come after it
    assert STREAMS.index("rounds") == STREAMS.index("loop") + 1
    without, with_rounds = _town(None, patches=4, days=3), _town({"period_min": 90.0}, patches=4, days=3)
    a, b = (Simulation(s, modes_of(s)["fragmented"], replication_seed(3, 0)).incidents for s in (without, with_rounds))
    np.testing.assert_array_equal(a.occurred_min, b.occurred_min)
    np.testing.assert_array_equal(a.channel_min, b.channel_min)
    np.testing.assert_array_equal(a.finder_u, b.finder_u)
    assert a.rounds_by == () and b.rounds_by == ("sanitation",)


@pytest.mark.parametrize(
    ("rounds", "path", "words"),
    [
        ("{period_min: 0}", "departments.sanitation.rounds.period_min", "expected a number greater than 0; got 0"),
        (
            "{period_min: 60, notice_probability: 1.5}",
            "departments.sanitation.rounds.notice_probability",
            "expected a number of 1 or less",
        ),
        ("{period_min: 60, sees: [binz]}", "departments.sanitation.rounds.sees.0", "did you mean 'bins'"),
        ("{period_min: 60, patches: [p9]}", "departments.sanitation.rounds.patches.0", "unknown patch 'p9'"),
        ("{period_min: 60, route: 3}", "departments.sanitation.rounds.route", "unknown key 'route'"),
    ],
)
def test_a_bad_rounds_entry_is_an_error_with_file_line_and_key_path(tmp_path, rounds, path, words):
    text = f"""name: t
territory:
  patches: [{{name: p0, x_km: 0, y_km: 0}}]
departments:
  - name: sanitation
    units: 1
    powers: [bins]
    rounds: {rounds}
incident_types:
  - {{name: bins, rate_per_day: 1}}
"""
    path_file = tmp_path / "t.yaml"
    path_file.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario(path_file)
    message = str(caught.value)
    assert f"{path_file}:8: " in message and path in message and words in message, message
