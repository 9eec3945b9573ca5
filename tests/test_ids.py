"""Time-ordered ids: strictly increasing, sortable by time, convertible from a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fediverse.ids import id_from_datetime, id_to_datetime, new_id


def test_ids_increase_strictly_even_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(0 < value < 2**63 for value in ids)


def test_id_encodes_its_creation_time() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    value = new_id()
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert before <= id_to_datetime(value) <= after
    assert id_from_datetime(before) < value < id_from_datetime(after)


def test_ids_for_remote_moments_sort_by_time_then_arrival() -> None:
    from fediverse.ids import id_at

    moment = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    same_second = [id_at(moment) for _ in range(100)]
    assert same_second == sorted(same_second)  # arrival order within one instant
    assert id_at(moment + timedelta(milliseconds=1)) > max(same_second)
    future = id_at(datetime.now(UTC) + timedelta(days=365))
    assert id_to_datetime(future) <= datetime.now(UTC)  # clamped to now
