"""The clock's timed calls keep the order of events SimPy gives the timeouts they stand for."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.clock import Clock

# A plan: what each action does when it runs, as (kind, delay) pairs; kind "call" schedules a callback
# after the delay, "event" a SimPy event (succeeded now, or a timeout when the delay is positive), "process"
# a process that waits the delay; "task" a generator that waits the delay, an event succeeded now and a
# failed one it handles, then ends (run as a task of the clock, or as a SimPy process whose end acts), and
# "quiet task" the same with nothing waiting for its end. Each action that runs may schedule the next actions.
_ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["call", "event", "process", "task", "quiet task"]),
        st.sampled_from([0.0, 0.0, 0.5, 1.0, 1.5, 2.0]),
    ),
    min_size=1,
    max_size=40,
)


def _play(env: simpy.Environment, plan: list[tuple[str, float]], timed_calls: bool, until: float) -> list:
    """Run *plan* on *env*, every action scheduling the next two; return the order (and minutes) actions ran.

    With *timed_calls*, a "call" is a timed call of the clock and a task the clock's; else a SimPy timeout
    with a callback and a SimPy process, which the clock's call and task stand for.
    """
    ran: list[tuple[int, float]] = []
    todo = iter(range(len(plan)))

    def schedule_next() -> None:
        for _ in range(2):
            n = next(todo, None)
            if n is None:
                return
            kind, delay = plan[n]
            if kind == "call":
                if timed_calls:
                    env.call_in(delay, lambda _, n=n: act(n))  # type: ignore[attr-defined]
                else:
                    env.timeout(delay).callbacks.append(lambda _, n=n: act(n))
            elif kind == "event":
                event = env.timeout(delay) if delay > 0 else env.event().succeed()
                event.callbacks.append(lambda _, n=n: act(n))
            elif kind == "process":
                env.process(waiter(n, delay))
            else:
                end = (lambda _, n=n: act(n)) if kind == "task" else None
                if timed_calls:
                    env.start(task(n, delay), end)  # type: ignore[attr-defined]
                else:
                    process = env.process(task(n, delay))
                    if end is not None:
                        process.callbacks.append(end)

    def waiter(n: int, delay: float):
        yield env.timeout(delay)
        act(n)

    def task(n: int, delay: float):
        ran.append((-n, env.now))  # its start
        yield env.timeout(delay)
        got = yield env.event().succeed("now")
        ran.append((-n, got))
        failed = env.event()
        failed.fail(KeyError("handled"))
        try:
            yield failed
        except KeyError:
            ran.append((-n, env.now))
        ready = env.timeout(0.0)
        yield env.timeout(0.0)
        yield ready  # processed by now: its value comes at once
        ran.append((-n, env.now))

    def act(n: int) -> None:
        ran.append((n, env.now))
        schedule_next()

    schedule_next()
    env.run(until=until)
    return ran


@settings(max_examples=200, deadline=None)
@given(plan=_ACTIONS, until=st.sampled_from([1.0, 2.0, 3.0, 100.0]))
def test_timed_calls_run_in_the_order_and_at_the_minutes_of_the_timeouts_they_stand_for(plan, until):
    simpy_order = _play(simpy.Environment(), plan, timed_calls=False, until=until)
    clock_order = _play(Clock(), plan, timed_calls=True, until=until)
    assert clock_order == simpy_order


def test_a_run_stops_before_the_normal_events_of_its_last_minute_and_resumes_with_them():
    env = Clock()
    ran: list[str] = []
    env.call_in(2.0, lambda _: ran.append("call at 2"))
    env.timeout(2.0).callbacks.append(lambda _: ran.append("timeout at 2"))
    env.call_in(1.0, lambda _: ran.append("call at 1"))
    env.run(until=2.0)
    assert (ran, env.now) == (["call at 1"], 2.0)
    env.run(until=3.0)
    assert ran == ["call at 1", "call at 2", "timeout at 2"]


def test_call_at_a_passed_minute_runs_now_as_a_timeout_of_no_delay():
    env = Clock()
    env.run(until=5.0)
    seen: list[float] = []
    env.call_at(4.0, lambda _: seen.append(env.now))
    env.call_at(7.5, lambda _: seen.append(env.now))
    env.run(until=10.0)
    assert seen == [5.0, 7.5]


def test_a_failed_event_nobody_defused_stops_the_run_as_in_simpy():
    env = Clock()

    def fails():
        yield env.timeout(1.0)
        raise KeyError("lost")

    env.process(fails())
    with pytest.raises(KeyError, match="lost"):
        env.run(until=5.0)


def test_running_until_an_event_or_to_the_end_steps_through_timed_calls():
    env = Clock()
    seen: list[float] = []
    env.call_in(1.0, lambda _: seen.append(env.now))
    done = env.timeout(2.0, value="done")
    assert env.run(until=done) == "done"
    env.call_in(1.0, lambda _: seen.append(env.now))
    env.run()
    assert seen == [1.0, 3.0]


def test_until_must_lie_ahead():
    env = Clock()
    env.run(until=1.0)
    with pytest.raises(ValueError, match="greater than the current"):
        env.run(until=1.0)


def test_a_negative_delay_is_refused_as_by_a_timeout():
    env = Clock()
    env.run(until=5.0)
    with pytest.raises(ValueError, match="Negative delay"):
        env.timeout(-1.0)
    with pytest.raises(ValueError, match="Negative delay"):
        env.call_in(-1.0, lambda _: None)


def test_a_driven_generator_goes_on_at_once_as_yield_from_in_a_process():
    """:meth:`Clock.drive` is ``yield from`` within a process: the generator starts at once, ``then()`` runs at
    its return, and every event keeps its place among others due at the same minutes."""

    def play(env: simpy.Environment, driven: bool) -> list:
        seen: list = []

        def inner():
            seen.append(("inner starts", env.now))
            yield env.timeout(0.5)
            seen.append(("inner waited", env.now))
            yield env.timeout(0.0)
            seen.append(("inner ends", env.now))
            other("due as it ends", 0.0)  # comes after what follows the return at once

        def other(name: str, delay: float) -> None:
            env.timeout(delay).callbacks.append(lambda _: seen.append((name, env.now)))

        other("before at 1", 1.0)
        if driven:

            def step(_) -> None:
                seen.append(("outer", env.now))
                env.drive(inner(), lambda: seen.append(("after", env.now)))  # type: ignore[attr-defined]

            env.call_first(lambda _: env.call_in(1.0, step))  # type: ignore[attr-defined]
        else:

            def outer():
                yield env.timeout(1.0)
                seen.append(("outer", env.now))
                yield from inner()
                seen.append(("after", env.now))

            env.process(outer())
        other("after at 1", 1.0)
        other("at 1.5", 1.5)
        env.run(until=5.0)
        return seen

    assert play(Clock(), driven=True) == play(simpy.Environment(), driven=False)
