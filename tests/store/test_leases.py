"""The store's share of the work between instances, on SQLite and PostgreSQL: source
leases, delivery claims, conflict-safe queueing, the outbox wake-up, rule versions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app import ALWAYS_DUE
from monitor.config import Config, RuleConfig
from monitor.errors import ConfigError
from monitor.preflight import load_checked
from monitor.records import CacheValidators
from monitor.schedule.polling import Answered, Failed, Health, advance
from monitor.store import HealthWrite, Store

from support import Clock, loopback_sources, service, write
from support.servers import SmtpServer

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


async def test_a_source_is_leased_to_one_instance_until_its_lease_lapses(store: Store) -> None:
    ids = ["s0", "s1", "s2"]
    first = await store.claim_sources(ids, "a", NOW, NOW + LEASE, limit=2)
    assert [c.source_id for c in first] == ["s0", "s1"]
    second = await store.claim_sources(ids, "b", NOW, NOW + LEASE)
    assert [(c.source_id, c.taken_from) for c in second] == [("s2", None)]
    assert await store.claim_sources(ids, "c", NOW, NOW + LEASE) == []
    # "a" renews its leases; "b" gives its one back, and a third instance takes it.
    later = NOW + LEASE / 2
    assert await store.renew_sources(ids, "a", later + LEASE) == ["s0", "s1"]
    await store.release_sources(ids, "b")
    assert [c.source_id for c in await store.claim_sources(ids, "c", later, later + LEASE)] == [
        "s2"
    ]
    # "a" dies: once its renewed leases lapse, they are taken over, said, and not limited.
    lapsed = later + LEASE + timedelta(seconds=1)
    assert await store.claim_sources(ids, "b", lapsed - timedelta(seconds=2), lapsed) == []
    taken = await store.claim_sources(ids, "b", lapsed, lapsed + LEASE, limit=0)
    assert [(c.source_id, c.taken_from) for c in taken] == [("s0", "a"), ("s1", "a"), ("s2", "c")]
    # A late release by the dead instance frees nothing it no longer holds.
    await store.release_sources(ids, "a")
    assert await store.renew_sources(ids, "b", lapsed + LEASE) == ids


async def test_only_due_sources_are_claimed_when_asked(store: Store) -> None:
    later = Health(next_check_at=NOW + timedelta(minutes=10), last_attempt_at=NOW)
    await store.record_health([HealthWrite("s1", later, 0, "{}")])
    due = dict.fromkeys(["s0", "s1", "s2"], NOW)
    claimed = await store.claim_sources(list(due), "a", NOW, NOW + LEASE, due)
    assert [c.source_id for c in claimed] == ["s0", "s2"]  # never polled: due at once
    # Its own time per source: s1 is due when its next check is at or before it.
    for when, found in ((NOW + timedelta(minutes=9), []), (NOW + timedelta(minutes=10), ["s1"])):
        claimed = await store.claim_sources(["s1"], "b", NOW, NOW + LEASE, {"s1": when})
        assert [c.source_id for c in claimed] == found
    await store.release_sources(["s1"], "b")
    # A reloaded service's first polls: due whenever the next check is.
    claimed = await store.claim_sources(["s1"], "c", NOW, NOW + LEASE, {"s1": ALWAYS_DUE})
    assert [c.source_id for c in claimed] == ["s1"]


async def test_the_polls_of_a_pass_are_recorded_together(store: Store) -> None:
    """One write for many sources: answers reset the failures and count the items; a
    failure keeps the validators, and a failure notice queued meanwhile (by this
    instance's dispatcher or another's) is not undone."""
    interval = timedelta(minutes=5)
    answered = advance(Health(), Answered(CacheValidators('"e1"', None)), NOW, interval)
    await store.record_health([HealthWrite(s, answered, 2, "{}") for s in ("s0", "s1")])
    down = Failed("http", "HTTP 500")
    failing = advance(answered, down, NOW + interval, interval)
    await store.record_health([HealthWrite("s0", failing, 0, '{"hold": null}')])
    await store.raise_failure_notices(NOW + interval, ["m"], NOW + interval)
    again = advance(failing, down, NOW + 2 * interval, interval)
    await store.record_health(
        [HealthWrite("s0", again, 0, "{}"), HealthWrite("s1", answered, 3, "{}")]
    )
    s0, s1, s2 = await store.source_states()
    assert (s0.consecutive_failures, s0.last_error) == (2, "HTTP 500")
    assert s0.failing_since == NOW + interval
    assert s0.validators.etag == '"e1"' and s0.items_seen == 2
    assert s0.notice_sent_at == NOW + interval  # still sent: one notice per failing streak
    assert s0.next_check_at == NOW + 2 * interval + 2 * interval  # backing off
    assert (s1.consecutive_failures, s1.items_seen, s1.state) == (0, 5, "{}")
    assert s1.next_check_at == NOW + interval and s1.last_success_at == NOW
    assert s2.last_attempt_at is None  # not polled, not written


async def test_a_delivery_is_claimed_once_and_comes_back_when_the_claim_lapses(
    store: Store,
) -> None:
    run = await store.create_digest_run("matin", NOW - timedelta(days=1), NOW, 0, ["m", "s"], NOW)
    assert run is not None
    # The same period again, as a second instance would: nothing added, no error.
    assert await store.create_digest_run("matin", NOW, NOW, 0, ["m"], NOW) is None
    first = await store.claim_delivery(NOW, NOW + LEASE)
    second = await store.claim_delivery(NOW, NOW + LEASE)
    assert first is not None and second is not None and first.id != second.id
    assert await store.claim_delivery(NOW, NOW + LEASE) is None  # both are taken
    await store.record_attempt(second.id, NOW, ok=True, error=None, retry_at=None)
    # The instance that took the first died while sending: it comes back, same Message-ID.
    lapsed = NOW + LEASE + timedelta(seconds=1)
    again = await store.claim_delivery(lapsed, lapsed + LEASE)
    assert again is not None and (again.id, again.message_id) == (first.id, first.message_id)
    assert await store.claim_delivery(lapsed + 2 * LEASE, lapsed + 3 * LEASE) is not None
    await store.record_attempt(first.id, lapsed, ok=True, error=None, retry_at=None)
    assert await store.claim_delivery(lapsed + 4 * LEASE, lapsed + 5 * LEASE) is None


async def test_on_sqlite_every_claim_is_given_back_at_start(store: Store, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only: its one service may take back what a killed one held")
    await store.claim_sources(["s0"], "dead", NOW, NOW + LEASE)
    await store.create_digest_run("matin", NOW - timedelta(days=1), NOW, 0, ["m"], NOW)
    assert await store.claim_delivery(NOW, NOW + LEASE) is not None
    await store.release_all()
    assert [c.source_id for c in await store.claim_sources(["s0"], "new", NOW, NOW + LEASE)] == [
        "s0"
    ]
    assert await store.claim_delivery(NOW, NOW + LEASE) is not None


async def test_a_queued_delivery_wakes_the_dispatchers(store: Store, db_url: str) -> None:
    """In this process at commit; on PostgreSQL, other instances too (LISTEN/NOTIFY)."""
    other = Store.open(db_url)
    listening = asyncio.create_task(other.listen_outbox())
    try:
        if db_url.startswith("postgresql"):
            await asyncio.wait_for(other.queued.wait(), 10)  # set once it listens
        other.queued.clear()
        store.queued.clear()
        started = time.monotonic()
        await store.create_digest_run("matin", NOW - timedelta(days=1), NOW, 0, ["m"], NOW)
        assert store.queued.is_set()
        if db_url.startswith("postgresql"):
            await asyncio.wait_for(other.queued.wait(), 1)
            print(f"\nNOTIFY reached the other store in {time.monotonic() - started:.3f}s")
        # Nothing queued, nobody woken.
        other.queued.clear()
        store.queued.clear()
        assert await store.create_digest_run("matin", NOW, NOW, 0, ["m"], NOW) is None
        await asyncio.sleep(0.3)
        assert not store.queued.is_set() and not other.queued.is_set()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await other.close()


def test_a_rule_version_follows_its_table_not_its_spelling() -> None:
    rule = RuleConfig(id="r", title="R", query="Microsoft")
    assert len(rule.version) == 12
    # A default written out changes nothing; the query or a title does.
    assert RuleConfig(id="r", title="R", query="Microsoft", severity="normal").version == (
        rule.version
    )
    assert RuleConfig(id="r", title="R", query="Microsoft OR Azure").version != rule.version
    assert RuleConfig(id="r", title="R2", query="Microsoft").version != rule.version


def test_the_lease_is_read_from_monitor_toml_and_checked(tmp_path: Path, config: Config) -> None:
    assert config.service.service.lease == LEASE  # the default: two minutes
    write(tmp_path / "monitor.toml", '[service]\nlease = "45s"\n')
    assert load_checked(tmp_path, {}).service.service.lease == timedelta(seconds=45)
    write(tmp_path / "monitor.toml", '[service]\nlease = "1s"\n')
    with pytest.raises(ConfigError) as caught:
        load_checked(tmp_path, {})
    (problem,) = (str(p) for p in caught.value.problems)
    assert problem.startswith("monitor.toml:2:") and "lease must be at least 2s" in problem


async def test_two_instances_send_a_digest_period_once(
    tmp_path: Path, db_url: str, pool: Any, smtp_server: SmtpServer
) -> None:
    root = tmp_path / "config"
    write(root / "sources.toml", loopback_sources({"s0": "http://127.0.0.1:9/feed.xml"}))
    write(root / "alerts" / "rules.toml", "[[rule]]\nid = 'r'\ntitle = 'R'\nquery = 'x'\n")
    write(root / "alerts" / "channels.toml", f'[channels.mail]\nurl = "{smtp_server.url()}"\n')
    write(
        root / "alerts" / "digests.toml",
        '[digests.matin]\nchannels = ["mail"]\ncron = "30 7 * * *"\nsend_empty = true\n',
    )
    clock = Clock(NOW)  # 10:00 in Paris: this morning's digest is due
    first = service(tmp_path / "a", root, pool, db_url, clock)
    second = service(tmp_path / "b", root, pool, db_url, clock)
    async with first, second:
        sent = await asyncio.gather(first.deliver(), second.deliver())
        again = await asyncio.gather(first.deliver(), second.deliver())
        run = await first.store.last_digest_run("matin")
    assert [s.sent for s in sent] in ([1, 0], [0, 1]) and [s.sent for s in again] == [0, 0]
    assert run is not None and len(smtp_server.messages) == 1


async def test_a_take_over_is_logged_and_counted_in_the_metrics(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from monitor.observe.metrics import Metrics
    from monitor.schedule.leases import SourceLeases

    metrics = Metrics()
    dead = SourceLeases(store, "dead", LEASE, Clock(NOW))
    assert await dead.claim(["s0", "s1"]) == ["s0", "s1"]
    clock = Clock(NOW + LEASE + timedelta(seconds=1))
    heir = SourceLeases(store, "heir", LEASE, clock, metrics)
    assert await heir.claim(["s0", "s1", "s2"]) == ["s0", "s1", "s2"]

    def handoffs() -> float:
        text = metrics.exposition().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "monitor_lease_handoffs_total":
                    return sample.value
        raise AssertionError("no monitor_lease_handoffs_total in the metrics")

    assert handoffs() == 2  # s0 and s1 were taken over; s2 was free
    assert "source s0: taken over from dead, whose lease lapsed" in caplog.text
