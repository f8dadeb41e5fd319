"""Records as columns: written in one place, frozen when the run ends, iterated as named tuples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine.records import (
    RECORD_FIELDS,
    IncidentRecord,
    JobRecord,
    RecordTable,
    campaign_finds,
    counted,
    incident_table,
    job_table,
)
from tests.conftest import SCENARIOS


def _record(number: int, **changes) -> IncidentRecord:
    base = dict.fromkeys(RECORD_FIELDS, 0)
    base.update(
        incident=number,
        incident_type="garbage",
        patch="r0c0",
        sector="s1",
        occurred_min=float(number),
        detected_min=math.nan,
        channel="",
        finder="",
        reached_min=math.nan,
        dispatched_min=math.nan,
        on_scene_min=math.nan,
        resolved_min=math.nan,
        departments="",
        units="",
        layer="town",
        closed_min=math.nan,
        on_the_spot=False,
        left_by_all=False,
        ended_min=math.nan,
    )
    base.update(changes)
    return IncidentRecord(**base)


def test_a_table_gives_back_the_records_it_was_built_from():
    records = [
        _record(0),
        _record(1, detected_min=3.5, on_scene_min=9.25, units="police-1+police-2", on_the_spot=True, referrals=2),
        _record(2, incident_type="noise", units='a,b "quoted"', finder=None, reopened=3, left_by_all=True),
    ]
    table = incident_table(records)
    assert len(table) == 3
    got = list(table)
    assert [type(r) for r in got] == [IncidentRecord] * 3
    for old, new in zip(records, got):
        for name in RECORD_FIELDS:
            a, b = getattr(old, name), getattr(new, name)
            assert (a == b or (a != a and b != b)) and type(a) is type(b), (name, a, b)
    assert table == records and incident_table([table[1]]) == records[1:2] and table[-1].finder is None
    assert table[1:] == records[1:]
    assert table.categories("incident_type") == ("garbage", "noise")
    assert table.column("units").tolist() == ["", "police-1+police-2", 'a,b "quoted"']
    assert table != records[:2] and table != [*records[:2], _record(2)]


def test_a_run_freezes_its_columns(classroom):
    output = sim.run(classroom, "joint")
    table = output.records
    assert isinstance(table, RecordTable) and len(table) > 50
    for name in RECORD_FIELDS:
        column = table.codes(name) if table.is_text(name) else table.column(name)
        assert not column.flags.writeable, name
        with pytest.raises(ValueError):
            column[0] = column[1]
    assert isinstance(table[0], IncidentRecord)
    with pytest.raises(AttributeError):
        table[0].resolved_min = 0.0  # type: ignore[misc]


def test_columns_hold_what_iteration_shows(classroom):
    table = sim.run(classroom, "fragmented").records
    records = list(table)
    assert np.array_equal(table.column("on_scene_min"), [r.on_scene_min for r in records], equal_nan=True)
    assert table.column("incident").tolist() == [r.incident for r in records] == list(range(len(records)))
    assert table.column("channel").tolist() == [r.channel for r in records]
    picked = table.select(table.column("referrals") > 0)
    assert picked == [r for r in records if r.referrals > 0] and len(picked) > 0


def test_blocks_join_up_across_their_edges(monkeypatch):
    monkeypatch.setattr(RecordTable, "BLOCK", 3)
    records = [_record(i, units=f"u{i % 4}") for i in range(10)]
    table = incident_table(records)
    assert [r.units for r in table] == [r.units for r in records]
    assert incident_table(list(table)) == records


def test_empty_tables():
    empty = incident_table([])
    assert len(empty) == 0 and list(empty) == [] and empty == []
    assert empty.column("occurred_min").dtype == float
    assert len(job_table([])) == 0


def test_job_records_as_columns():
    jobs = [JobRecord(1, "t", "u-1", "police", "s1", "r0c0", "s1", 0.0, 1.0, 2.5, 9.0, False, duplicate=True)]
    assert list(job_table(jobs)) == jobs


def test_selections_of_selections_read_the_right_rows(classroom):
    table = sim.run(classroom, "unified").records
    records = list(table)
    late = table.select(table.column("occurred_min") > 600.0)
    reached = late.select(~np.isnan(late.column("on_scene_min")))
    expected = [r for r in records if r.occurred_min > 600.0 and not math.isnan(r.on_scene_min)]
    assert len(reached) == len(expected) > 10
    assert reached == expected
    assert reached.column("incident").tolist() == [r.incident for r in expected]
    assert len(table[3:9]) == 6 and table[3:9] == records[3:9]
    picked = table.select(np.array([5, 2, 7]))
    assert len(picked) == 3 and [r.incident for r in picked] == [5, 2, 7]
    assert not reached.column("on_scene_min").flags.writeable


def test_tables_travel_between_processes(classroom):
    """Runs in worker processes come back pickled: a table, and a selection of one, arrive whole."""
    import pickle

    output = sim.run(classroom, "fragmented")
    table = output.records
    again = pickle.loads(pickle.dumps(output))
    assert again.records == table and again.jobs == output.jobs
    some = table.select(table.column("referrals") > 0)
    assert pickle.loads(pickle.dumps(some)) == some and len(some) > 0
    for name in ("occurred_min", "referrals", "on_the_spot"):
        assert not again.records.column(name).flags.writeable
        assert not pickle.loads(pickle.dumps(some)).column(name).flags.writeable


def test_rows_written_out_of_order_freeze_as_written_in_order():
    """A run writes a matter's record when its life ends; frozen by ``incident``, the table is the ordered one."""
    from sim.engine.records import ColumnBuffers

    records = [_record(n, units=f"u{n % 3}", incident_type=("garbage", "noise")[n % 2]) for n in range(10)]
    shuffled = ColumnBuffers(IncidentRecord)
    for n in (7, 2, 9, 0, 5, 1, 8, 3, 6, 4):
        shuffled.append(records[n])
    table = shuffled.freeze(sort_by="incident")
    ordered = RecordTable.from_records(IncidentRecord, records)
    assert table == ordered and [r.incident for r in table] == list(range(10))
    for name in ("units", "incident_type"):
        assert table.categories(name) == ordered.categories(name)
        assert (table.codes(name) == ordered.codes(name)).all()


# --------------------------------------------------------------------------- the one "counted" rule


def test_counted_is_after_the_warm_up_and_not_a_campaign_find():
    rows = [
        _record(0, channel="hotline"),  # in the warm-up
        _record(1, channel="campaign"),  # in the warm-up and a find
        _record(5, channel="campaign"),  # a find
        _record(6, channel="patrol"),
        _record(7, channel=""),  # never detected: still counted (censored)
        _record(9, channel="hotline"),
    ]
    table = RecordTable.from_records(IncidentRecord, rows)
    expected = [False, False, False, True, True, True]
    assert counted(table, 2.0).tolist() == expected
    columns = {"occurred_min": [r.occurred_min for r in rows], "channel": [r.channel for r in rows]}
    assert counted(columns, 2.0).tolist() == expected  # the frames' columns: the same rule
    assert counted(table, 2.0, end_min=9.0).tolist() == [False, False, False, True, True, False]
    assert campaign_finds(table).tolist() == [False, True, True, False, False, False]
    without = RecordTable.from_records(IncidentRecord, [r for r in rows if r.channel != "campaign"])
    assert not campaign_finds(without).any()  # a channel that never occurs has no code


def test_summary_frames_and_plugin_metrics_count_the_same_records():
    from sim.stats.metrics import reported, summarise

    campaign = (
        "campaigns=[{name: sweep, schedule: {every: week, days: daily, start: '09:00'}, duration_min: 240, "
        "departments: {sanitation: 1}, finds_per_unit_hour: {garbage_overflow: 2}}]"
    )
    scenario = sim.load_scenario(SCENARIOS / "classroom.yaml", ["days=4", "drain_days=1", campaign])
    out = sim.run(scenario, mode="joint")
    warmup = scenario.warmup_days * 24 * 60
    mask = counted(out.records, warmup)
    assert 0 < mask.sum() < len(mask) and campaign_finds(out.records).any()
    assert [r.incident for r in reported(out.records, warmup)] == [
        r.incident for r, keep in zip(out.records, mask) if keep
    ]
    summary = summarise([out], warmup, scenario.target_min, [t.name for t in scenario.incident_types])
    assert summary["incidents"] == int(mask.sum())


def test_the_counted_rule_is_written_once():
    """Neither the summaries nor the frames compare channels to ``campaign`` themselves."""
    import sim.engine.frames
    import sim.stats.metrics
    import sim.stats.plugins

    for module in (sim.engine.frames, sim.stats.metrics, sim.stats.plugins):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert "CAMPAIGN" not in source and '"campaign")' not in source, module.__name__


def test_columns_packed_a_block_at_a_time_keep_every_value_and_code_strings_in_order_of_appearance(monkeypatch):
    """Rows go into the columns a block at a time (packed with struct): floats bit for bit (nan, inf, -0.0),
    integers, booleans (numpy's too), and strings coded 32-bit in order of first appearance across blocks."""
    from sim.engine.records import ColumnBuffers

    monkeypatch.setattr(ColumnBuffers, "BLOCK", 4)
    floats = [0.1, -0.0, math.inf, math.nan, 1e300, 5e-324, 2.0, 3.5, -7.25, 0.0, 1 / 3]
    records = [
        _record(
            i,
            occurred_min=floats[i],
            units=f"u{(7 * i) % 5}",
            referrals=2**40 + i,
            on_the_spot=np.bool_(i % 3 == 0),
            left_by_all=i % 2 == 1,
        )
        for i in range(len(floats))
    ]
    table = incident_table(records)
    assert table.codes("units").dtype == np.int32
    assert table.categories("units") == tuple(dict.fromkeys(r.units for r in records))
    assert [table.categories("units")[c] for c in table.codes("units").tolist()] == [r.units for r in records]
    assert np.array_equal(table.column("occurred_min").view(np.int64), np.array(floats).view(np.int64))
    assert table.column("referrals").tolist() == [r.referrals for r in records]
    assert table.column("on_the_spot").tolist() == [bool(r.on_the_spot) for r in records]
    assert table.column("left_by_all").tolist() == [r.left_by_all for r in records]


@pytest.mark.parametrize("sort", [False, True])
def test_fields_written_as_indices_into_tables_of_names_freeze_like_the_names_themselves(sort):
    """A run writes type, patch, sector and layer as indices (a sector named once per patch); frozen, the
    table equals the one written with the names, categories in order of first appearance, sorted or not."""
    from sim.engine.records import ColumnBuffers, incident_buffers

    types, patches, sectors = ("garbage", "noise"), ("p0", "p1", "p2", "p3"), ("s1", "s0", "s1", "s0")
    order = (7, 2, 9, 0, 5, 1, 8, 3, 6, 4)
    rows = {n: (n % 2, (3 * n) % 4, n % 3) for n in order}  # type, patch, layer
    by_name, by_index = ColumnBuffers(IncidentRecord), incident_buffers(types, patches, sectors)
    for n in order:
        k, p, layer = rows[n]
        name = ("grid", "town", "city")[layer]
        record = _record(n, incident_type=types[k], patch=patches[p], sector=sectors[p], layer=name)
        by_name.append(record)
        indexed = list(record)
        indexed[1:4], indexed[18] = (k, p, p), layer
        by_index.append(tuple(indexed))
    expected, got = (b.freeze(sort_by="incident" if sort else None) for b in (by_name, by_index))
    assert got == expected
    for name in ("incident_type", "patch", "sector", "layer"):
        assert got.categories(name) == expected.categories(name)
        assert got.codes(name).tolist() == expected.codes(name).tolist()


def test_integer_fields_are_kept_32_bit_where_they_fit_and_read_as_64_bit():
    """Incident numbers, priorities and counts take half the room while they fit in 32 bits (a city year's
    peak memory is at the run's end); ``column`` reads them as the 64-bit integers they always were, and a
    value beyond 32 bits widens its column, keeping every value."""
    small = incident_table([_record(i, referrals=i) for i in range(5)])
    assert small.stored("referrals").dtype == np.int32 and small.stored("incident").dtype == np.int32
    column = small.column("referrals")
    assert column.dtype == np.int64 and column.tolist() == [0, 1, 2, 3, 4] and not column.flags.writeable
    wide = incident_table([_record(0, referrals=3), _record(1, referrals=-(2**40))])
    assert wide.stored("referrals").dtype == np.int64 and wide.column("referrals").tolist() == [3, -(2**40)]
    assert [r.referrals for r in wide] == [3, -(2**40)] and wide.stored("bounces").dtype == np.int32


def test_a_selection_of_one_run_of_rows_reads_views_and_the_same_records():
    """Selecting the rows after the warm-up (one run of rows: records are in order of occurrence) gives the
    same records as any selection, its columns views of the table's instead of copies."""
    table = incident_table([_record(i, referrals=i % 3) for i in range(10)])
    run, scattered = np.arange(10) >= 4, np.arange(10) % 2 == 0
    picked = table.select(run)
    assert picked == table.select(np.arange(4, 10)) and len(picked) == 6
    assert [r.incident for r in picked] == [4, 5, 6, 7, 8, 9] and picked.column("referrals").tolist() == [
        1,
        2,
        0,
        1,
        2,
        0,
    ]
    assert np.shares_memory(picked.column("occurred_min"), table.column("occurred_min"))
    assert table.select(scattered) == table.select(np.arange(0, 10, 2)) and len(table.select(np.zeros(10, bool))) == 0
