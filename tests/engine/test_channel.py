"""The two channels a report travels by, against times worked out by hand.

The clock counts minutes from Monday 00:00, so Friday 16:30 is ``4 * 1440 + 16 * 60 + 30``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.engine.channel import ReferralChain, SharedChannel, channel_for
from sim.engine.trace import Stage, TraceEvent
from sim.scenario.schema import Governance, InstantSpec, ReferralSpec

DAY, WEEK = 1440, 7 * 1440
MON, TUE, WED, FRI = 0, 1, 2, 4


def at(day: int, hh: int, mm: int = 0, week: int = 0) -> float:
    """Minute of the clock for a day (0 = Monday), hour and minute of a week."""
    return week * WEEK + day * DAY + hh * 60 + mm


def referral(**fields) -> ReferralChain:
    """A chain with fixed 60-minute hand-overs at desks open 08:00-12:00 and 14:00-18:00 on weekdays."""
    data = {
        "desk_hours": {"days": "weekdays", "times": ["08:00-12:00", "14:00-18:00"]},
        "handover_min": 60,
        "steps": {"hotline": 2, "patrol": 3, "grid": 0},
        "misroute_probability": 0,
        **fields,
    }
    return ReferralChain(ReferralSpec.model_validate(data), trace=True)


@pytest.mark.parametrize(
    "now, source, reached, why",
    [
        (at(TUE, 9), "hotline", at(TUE, 11), "two hours of open desk"),
        (at(WED, 11, 30), "camera", at(WED, 14, 30), "30 min before lunch, 30 after (camera: default 1 step)"),
        (at(TUE, 3), "camera", at(TUE, 9), "found at night: the desk opens at 08:00"),
        (at(FRI, 16, 30), "hotline", at(MON, 8, 30, week=1), "17:30 Friday, then 30 min more on Monday"),
        (at(FRI, 17), "patrol", at(MON, 10, week=1), "Friday 18:00, then two more hours on Monday"),
        (at(5, 12), "hotline", at(MON, 10, week=1), "found on Saturday: Monday 08:00 + 2 h"),
    ],
)
def test_referral_with_fixed_handovers_and_office_hours(now, source, reached, why):
    delivery = referral().deliver(now, source, np.random.default_rng(0))
    steps = {"hotline": 2, "patrol": 3}.get(source, 1)
    assert delivery.reached_min == delivery.ready_min == reached, why
    assert (delivery.referrals, delivery.bounces) == (steps, 0)
    assert [e.at_min for e in delivery.stages] == sorted(e.at_min for e in delivery.stages)
    assert delivery.stages[-1] == TraceEvent(reached, Stage.HANDED_OVER, step=steps, steps=steps)


def test_a_channel_with_no_steps_delivers_at_once_and_never_bounces():
    chain = referral(misroute_probability=0.9)
    rng = np.random.default_rng(1)
    for _ in range(100):
        delivery = chain.deliver(at(5, 3), "grid", rng)  # Saturday night: still no wait
        assert (delivery.reached_min, delivery.referrals, delivery.bounces, delivery.stages) == (at(5, 3), 0, 0, ())


def test_each_bounce_adds_two_handovers_and_bounces_are_geometric():
    """A misroute sends the report back and forward again: two more hand-overs per bounce, exactly.

    With misroute probability p the number of bounces is geometric: mean p/(1-p), variance
    p/(1-p)**2; the share with none is 1-p. Both within 5 standard errors over 20,000 reports.
    """
    p, n, steps = 0.3, 20_000, 2
    chain = referral(misroute_probability=p, desk_hours={"days": "daily", "times": ["00:00-24:00"]})
    rng = np.random.default_rng(2024)
    bounces = np.empty(n)
    for i in range(n):
        delivery = chain.deliver(1000.0, "hotline", rng)
        assert delivery.reached_min == 1000.0 + 60 * (steps + 2 * delivery.bounces)
        assert delivery.referrals == steps + 2 * delivery.bounces
        assert len(delivery.stages) == steps + 2 * delivery.bounces
        bounces[i] = delivery.bounces
    mean, var = p / (1 - p), p / (1 - p) ** 2
    assert abs(bounces.mean() - mean) <= 5 * math.sqrt(var / n)
    assert abs((bounces == 0).mean() - (1 - p)) <= 5 * math.sqrt(p * (1 - p) / n)
    assert bounces.max() >= 3  # the loop goes on as long as forwards go wrong


def test_a_bounce_waits_for_the_desk_too():
    """One bounce, at office hours: every one of the four hand-overs takes open minutes only."""
    chain = referral(misroute_probability=0.5)

    class OneBounce:
        """A stream whose first misroute draw goes wrong and second goes right.

        A fixed hand-over draws one uniform too (0.5 here, unused): two hand-overs, the first
        misroute draw, the two hand-overs of the bounce, the second misroute draw.
        """

        def __init__(self):
            self.draws = iter([0.5, 0.5, 0.1, 0.5, 0.5, 0.9])

        def random(self):
            return next(self.draws)

    delivery = chain.deliver(at(FRI, 16), "hotline", OneBounce())
    # 17:00, 18:00 Friday; sent back Monday 09:00, forwarded again 10:00
    assert (delivery.reached_min, delivery.referrals, delivery.bounces) == (at(MON, 10, week=1), 4, 1)
    assert [e.stage for e in delivery.stages][-2:] == [Stage.SENT_BACK, Stage.FORWARDED_AGAIN]
    assert delivery.stages[-2].at_min == at(MON, 9, week=1)


def test_shared_channel_posts_then_the_centre_decides_when_open():
    spec = InstantSpec.model_validate({"report_min": 2, "centre_min": 3, "centre_hours": {"times": ["08:00-20:00"]}})
    channel = SharedChannel(spec, trace=True)
    rng = np.random.default_rng(0)
    day = channel.deliver(at(MON, 10), "patrol", rng)
    assert (day.reached_min, day.ready_min, day.referrals, day.bounces) == (at(MON, 10, 2), at(MON, 10, 5), 0, 0)
    night = channel.deliver(at(MON, 21), "hotline", rng)
    assert (night.reached_min, night.ready_min) == (at(MON, 21, 2), at(TUE, 8, 3))
    assert night.stages == (TraceEvent(at(MON, 21, 2), Stage.POSTED), TraceEvent(at(TUE, 8, 3), Stage.CENTRE_DECIDES))
    assert SharedChannel(spec).deliver(at(MON, 10), "patrol", rng).stages == ()


def test_shared_channel_delay_has_the_mean_of_its_two_steps():
    """Round the clock, the delay is report + decision: lognormal means 2 and 3, cvs 0.5 (the defaults)."""
    channel = SharedChannel(InstantSpec())
    rng = np.random.default_rng(5)
    n = 20_000
    delays = np.array([channel.deliver(500.0, "patrol", rng).ready_min - 500.0 for _ in range(n)])
    sd = math.sqrt((0.5 * 2) ** 2 + (0.5 * 3) ** 2)  # independent steps
    assert abs(delays.mean() - 5.0) <= 5 * sd / math.sqrt(n)
    assert np.all(delays > 0)


def test_a_matters_first_delivery_takes_the_minutes_drawn_ahead_and_a_later_one_draws_in_order():
    spec = InstantSpec.model_validate(
        {"report_min": {"dist": "exponential", "mean": 2}, "centre_min": {"dist": "exponential", "mean": 3}}
    )
    channel = SharedChannel(spec)
    channel.draw_ahead(3, np.random.default_rng(1), np.random.default_rng(2))
    ahead = np.random.default_rng(1)
    posts, decisions = ahead.exponential(2, 3), ahead.exponential(3, 3)
    later = np.random.default_rng(2)
    second = channel.deliver(100.0, "patrol", np.random.default_rng(9), incident=2)
    assert (second.reached_min, second.ready_min) == (100.0 + posts[2], 100.0 + posts[2] + decisions[2])
    again = channel.deliver(200.0, "coordination", np.random.default_rng(9), incident=2)  # a hand-over: later draws
    post = later.exponential(2)
    assert (again.reached_min, again.ready_min) == (200.0 + post, 200.0 + post + later.exponential(3))
    first = channel.deliver(300.0, "hotline", np.random.default_rng(9), incident=0)
    assert first.reached_min == 300.0 + posts[0]


def test_channel_for_picks_by_the_information_lever():
    governance = Governance()
    assert isinstance(channel_for("referral", governance), ReferralChain)
    assert isinstance(channel_for("instant", governance), SharedChannel)
    assert channel_for("instant", governance).spec is governance.instant


def _reference_delivery(chain: ReferralChain, now: float, source: str, rng, to: frozenset[str]):
    """The chain's rule written step by step, as it was before owners were kept per set of departments."""
    steps = chain.spec.steps.get(source, 1)
    owners = list({id(d): d for d in (chain.desks.get(x, chain.desk) for x in sorted(to))}.values()) or [chain.desk]
    t, referrals, bounces, stages = now, 0, 0, []
    for k in range(steps):
        minutes = chain.handover_min(rng)
        if k == steps - 1:
            t = min(desk.add_open_minutes(t, minutes) for desk in owners)
        else:
            t = (chain.hotline if k == 0 and source == "hotline" else chain.desk).add_open_minutes(t, minutes)
        referrals += 1
        stages.append(TraceEvent(t, Stage.HANDED_OVER, step=k + 1, steps=steps))
    while steps and rng.random() < chain.spec.misroute_probability:
        sent_back = chain.desk.add_open_minutes(t, chain.handover_min(rng))
        minutes = chain.handover_min(rng)
        t = min(desk.add_open_minutes(sent_back, minutes) for desk in owners)
        referrals, bounces = referrals + 2, bounces + 1
        stages += [TraceEvent(sent_back, Stage.SENT_BACK), TraceEvent(t, Stage.FORWARDED_AGAIN)]
    return t, referrals, bounces, tuple(stages)


@pytest.mark.parametrize("trace", [True, False])
def test_deliveries_match_the_step_by_step_rule_for_any_set_of_departments(trace):
    """Owners kept per set of departments, and the last step taken apart, change no delivery nor any draw."""
    from sim.scenario.schema import Hours

    spec = ReferralSpec.model_validate(
        {
            "desk_hours": {"days": "weekdays", "times": ["08:00-12:00", "14:00-18:00"]},
            "hotline_hours": {"days": "daily", "times": ["07:00-22:00"]},
            "handover_min": {"dist": "exponential", "mean": 90},
            "steps": {"hotline": 2, "patrol": 3, "grid": 0, "camera": 1},
            "misroute_probability": 0.4,
        }
    )
    desks = {
        "police": Hours(days="daily", times=["00:00-24:00"]).weekly(),
        "market": Hours(days="weekdays", times=["09:00-17:00"]).weekly(),
        "water": Hours(days="weekdays", times=["09:00-17:00"]).weekly(),
    }
    chain = ReferralChain(spec, trace=trace, desks=desks)
    names = ["police", "market", "water", "sanitation"]
    pick = np.random.default_rng(7)
    for i in range(3000):
        to = frozenset(n for n in names if pick.random() < 0.35)
        source = ("hotline", "patrol", "grid", "camera", "coordination")[i % 5]
        now = float(pick.uniform(0, 3 * WEEK))
        ours, theirs = np.random.default_rng(i), np.random.default_rng(i)
        got = chain.deliver(now, source, ours, to)
        t, referrals, bounces, stages = _reference_delivery(chain, now, source, theirs, to)
        assert (got.reached_min, got.ready_min, got.referrals, got.bounces) == (t, t, referrals, bounces)
        assert got.stages == (stages if trace else ())
        assert ours.random() == theirs.random()  # the same number of draws


def _first_posts(out) -> dict[int, tuple[float, float]]:
    """Per incident posted in the shared group: (posted, decided) minutes of its first delivery, from the trace."""
    found: dict[int, tuple[float, float]] = {}
    for number, story in out.trace.items():
        posted = next((e.at_min for e in story if e.stage == Stage.POSTED), None)
        decided = next((e.at_min for e in story if e.stage == Stage.CENTRE_DECIDES), None)
        if posted is not None and decided is not None:
            found[number] = (posted, decided)
    return found


def test_a_matter_is_posted_and_decided_in_the_same_minutes_in_every_mode_that_posts_it():
    """Common random numbers across modes: each matter's first posting and decision are drawn ahead.

    In the Anhai garbage town the unified team may act on matters that the joint way's finder must
    post, so many reports skip the channel in one mode and not the other; drawn in order, each such
    report would shift the minutes of every report after it, and the two modes would not face the
    same postings and decisions.
    """
    from pathlib import Path

    import sim

    scenario = sim.load_scenario(Path(__file__).parents[2] / "scenarios" / "anhai_garbage.yaml", ["days=10"])
    runs = {mode: sim.run(scenario, mode, seed=3, trace=True) for mode in ("joint", "unified")}
    detected = {mode: {r.incident: r.detected_min for r in out.records} for mode, out in runs.items()}
    joint, unified = (_first_posts(runs[mode]) for mode in ("joint", "unified"))
    both = [n for n in joint if n in unified and detected["joint"][n] == detected["unified"][n]]
    assert len(both) > 200
    assert len(joint.keys() ^ unified.keys()) > 50  # matters posted in one mode only
    assert all(joint[n] == unified[n] for n in both)


def test_a_referrals_first_hand_overs_are_drawn_ahead_and_a_later_delivery_draws_in_order():
    """Incident i's first hand-overs are row i % BLOCK of its block's draws, whatever the order of reports; a
    block let go of is drawn again the same; a later delivery draws in order from the later stream."""
    spec = ReferralSpec.model_validate(
        {
            "desk_hours": {"days": "daily", "times": ["00:00-24:00"]},
            "handover_min": {"dist": "exponential", "mean": 90},
            "steps": {"hotline": 2, "patrol": 3, "camera": ReferralChain.ROW + 2},
            "misroute_probability": 0.0,
        }
    )
    chain = ReferralChain(spec)
    block, n = ReferralChain.BLOCK, ReferralChain.BLOCK * (ReferralChain.KEPT + 3)
    chain.draw_ahead(n, lambda b: np.random.default_rng(100 + b), np.random.default_rng(2))

    def rows(b: int) -> np.ndarray:  # a row of ROW hand-overs per incident of block b, whatever the chains
        return np.random.default_rng(100 + b).exponential(90, block * ReferralChain.ROW).reshape(block, -1)

    second = chain.deliver(100.0, "patrol", np.random.default_rng(9), incident=2)
    assert second.reached_min == pytest.approx(100.0 + rows(0)[2, :3].sum(), abs=1e-9)
    assert second.referrals == 3
    first = chain.deliver(100.0, "hotline", np.random.default_rng(9), incident=0)  # two steps: its row's first two
    assert first.reached_min == pytest.approx(100.0 + rows(0)[0, :2].sum(), abs=1e-9)
    for b in range(1, ReferralChain.KEPT + 3):  # later blocks push block 0 out of those kept
        chain.deliver(0.0, "hotline", np.random.default_rng(9), incident=b * block)
    late = chain.deliver(100.0, "patrol", np.random.default_rng(9), incident=5)  # block 0 drawn again
    assert late.reached_min == pytest.approx(100.0 + rows(0)[5, :3].sum(), abs=1e-9)
    later = np.random.default_rng(2)
    again = chain.deliver(500.0, "coordination", np.random.default_rng(9), incident=2)  # a hand-over: later draws
    assert again.reached_min == pytest.approx(500.0 + later.exponential(90), abs=1e-9)
    later.random()  # the later delivery's misrouting test
    long = chain.deliver(100.0, "camera", np.random.default_rng(9), incident=7)  # a row, then two steps in order
    assert long.reached_min == pytest.approx(100.0 + rows(0)[7].sum() + later.exponential(90, 2).sum(), abs=1e-9)
    chain.let_go()
    rng, same = np.random.default_rng(4), np.random.default_rng(4)
    assert chain.deliver(0.0, "coordination", rng, incident=1).reached_min == pytest.approx(
        same.exponential(90), abs=1e-9
    )


def _first_hand_overs(out) -> dict[int, float]:
    """Per incident referred through the desks: the minute its first hand-over was done, from the trace."""
    found: dict[int, float] = {}
    for number, story in out.trace.items():
        handed = next((e.at_min for e in story if e.stage == Stage.HANDED_OVER), None)
        if handed is not None:
            found[number] = handed
    return found


def test_a_matter_goes_through_the_desks_in_the_same_minutes_whatever_other_reports_do():
    """Common random numbers: a matter's first hand-overs are drawn ahead, not in the order reports come.

    Patrols that may not act leave half the matters they pass in the fragmented way (``leave_probability``
    0.5) and none with it at 0: many reports come at other minutes or through other channels in one run, and
    drawn in order each would shift the hand-overs of every report after it. A matter reported at the same
    minute through the same channel in both runs, and found by no patrol (whose department, when it may act on
    one part, works before the next department is sent for), must be handed over in the same minutes.
    """
    from pathlib import Path

    import sim

    path = Path(__file__).parents[2] / "scenarios" / "anhai_garbage.yaml"
    runs = {
        leave: sim.run(
            sim.load_scenario(path, ["days=10", f"governance.modes.fragmented.leave_probability={leave}"]),
            "fragmented",
            seed=3,
            trace=True,
        )
        for leave in (0.5, 0.0)
    }
    seen = {
        leave: {r.incident: (r.detected_min, r.channel, r.finder) for r in out.records} for leave, out in runs.items()
    }
    half, none = (_first_hand_overs(runs[leave]) for leave in (0.5, 0.0))
    both = [n for n in half if n in none and seen[0.5][n] == seen[0.0][n] and not seen[0.5][n][2]]
    assert len(both) > 200
    assert sum(seen[0.5][n] != seen[0.0][n] for n in seen[0.5]) > 50  # reported otherwise in one run
    assert all(half[n] == none[n] for n in both)


def test_first_deliveries_worked_out_ahead_are_the_ones_worked_out_step_by_step():
    """A chain told each incident's report (expect_reports) gives every delivery, and leaves every stream, as a twin
    chain working each step out one by one: reports through channels of every length (longer than a row too, and
    none), a hotline's own hours, several desks at once, misroutes, blocks let go of and drawn again, and deliveries
    that are not the expected report (another minute, channel or set of departments) or not an incident's first."""
    from sim.scenario.schema import Hours

    spec = ReferralSpec.model_validate(
        {
            "desk_hours": {"days": "weekdays", "times": ["08:00-12:00", "14:00-18:00"]},
            "hotline_hours": {"days": "daily", "times": ["07:00-22:00"]},
            "handover_min": {"dist": "lognormal", "mean": 90, "cv": 1.5},
            "steps": {"hotline": 2, "patrol": 3, "grid": 0, "camera": ReferralChain.ROW + 1},
            "misroute_probability": 0.3,
        }
    )
    desks = {
        "police": Hours(days="daily", times=["00:00-24:00"]).weekly(),
        "market": Hours(days="weekdays", times=["09:00-17:00"]).weekly(),
    }
    names = ["hotline", "patrol", "grid", "camera", "coordination"]
    tos = [frozenset(), frozenset({"police"}), frozenset({"market", "sanitation"}), frozenset({"police", "market"})]
    n = 1500
    pick = np.random.default_rng(11)
    minutes = np.sort(pick.uniform(0, 6 * WEEK, n))
    sources, to = pick.integers(0, len(names), n), pick.integers(0, len(tos), n)
    worked = []

    class Watched(ReferralChain):
        def _worked_out(self, *args):
            out = super()._worked_out(*args)
            worked.append(np.count_nonzero(~np.isnan(out[4])))
            return out

    chains = [Watched(spec, desks=desks), ReferralChain(spec, desks=desks)]
    for chain in chains:
        chain.BLOCK, chain.KEPT = 64, 3  # many blocks, let go of and drawn again
        chain.draw_ahead(n, lambda b: np.random.default_rng([5, b]), np.random.default_rng(6))
    chains[0].expect_reports(np.arange(n), minutes, sources, names, to, tos)
    order = np.argsort(minutes + pick.uniform(0, 3 * DAY, n))  # reports a little out of order
    for i in [*order.tolist(), *pick.integers(0, n, 300).tolist()]:  # then some later deliveries
        now, source, k = float(minutes[i]), names[sources[i]], int(to[i])
        roll = pick.random()
        if roll < 0.1:
            now += 1.0
        elif roll < 0.2:
            source = names[(sources[i] + 1) % len(names)]
        elif roll < 0.3:
            k = (k + 1) % len(tos)
        got, want = (chain.deliver(now, source, np.random.default_rng(i), tos[k], int(i)) for chain in chains)
        assert got == want
    assert chains[0]._ahead[3].random() == chains[1]._ahead[3].random()  # the later stream drew as much
    assert sum(worked) > n / 3  # most first deliveries were worked out ahead
