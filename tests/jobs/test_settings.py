"""The queue's settings: a worker is taken for dead only after two missed heartbeats."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from geotranquil.config import Settings
from geotranquil.jobs import EVENT_PARTITIONS, RETENTION_PURGE, build_app
from geotranquil.jobs.common import retry_strategy


def test_a_worker_is_dead_only_after_two_heartbeats() -> None:
    with pytest.raises(ValidationError, match="at least twice jobs_heartbeat_s"):
        Settings(jobs_heartbeat_s=10, jobs_stalled_after_s=15)
    assert Settings(jobs_heartbeat_s=10, jobs_stalled_after_s=20).jobs_stalled_after_s == 20


def test_retries_wait_exponentially_and_one_attempt_means_none() -> None:
    strategy = retry_strategy(Settings(jobs_max_attempts=5, jobs_backoff_s=5))
    assert not isinstance(strategy, bool)
    assert (strategy.max_attempts, strategy.exponential_wait) == (4, 5)
    assert retry_strategy(Settings(jobs_max_attempts=1)) is False


def test_the_retention_purge_runs_daily_on_its_schedule() -> None:
    app = build_app(Settings(retention_cron="45 1 * * *"))
    [periodic] = [
        p for p in app.periodic_registry.periodic_tasks.values() if p.periodic_id == RETENTION_PURGE
    ]
    assert (periodic.cron, periodic.task.queue) == ("45 1 * * *", "maintenance")


def test_the_coming_months_partitions_are_made_daily_on_their_schedule() -> None:
    app = build_app(Settings(event_partitions_cron="5 0 * * *"))
    [periodic] = [
        p
        for p in app.periodic_registry.periodic_tasks.values()
        if p.periodic_id == EVENT_PARTITIONS
    ]
    assert (periodic.cron, periodic.task.queue) == ("5 0 * * *", "maintenance")
    with pytest.raises(ValidationError, match="event_partitions_cron"):
        Settings(event_partitions_cron="chaque nuit")


def test_a_malformed_schedule_is_refused_with_its_setting_named() -> None:
    with pytest.raises(ValidationError, match="retention_cron"):
        Settings(retention_cron="tous les jours")
