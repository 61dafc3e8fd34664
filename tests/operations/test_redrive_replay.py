"""Dead-letter redrive and replay on memory, Redis and Kafka, through the bus and real brokers.

Two groups read ``notifications``: ``senders`` (whose handler fails one notification until "the cause is
fixed") and ``auditors`` (which handles everything). A redriven dead letter must be handled once, by
``senders`` alone; a second redrive does nothing; a replay to ``senders`` leaves ``auditors``' position on the
channel where it was. "Seen by no other group" is checked once ``auditors.redrive`` has settled every copy on the
redrive channel (its committed position reached the end), so no copy is still on its way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from hipponot_pubsub.runtime.adapters.base import (
    REDRIVE_COUNT_HEADER,
    REDRIVE_GROUP_HEADER,
    REDRIVEN_FROM_HEADER,
    StartAt,
    dead_letter_channel,
    redrive_channel,
)
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.deadletters import (
    DeadLetterFilter,
    Range,
    list_dead_letters,
    purge,
    redrive,
    replay,
    select_range,
    show_dead_letter,
)
from hipponot_pubsub.runtime.envelope import Envelope

from tests.brokers import notification

CHANNEL = "notifications"
TYPE = "notification.requested"
TIMEOUT = 30.0


async def until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` (a read of broker state, not a timer standing in for one) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Groups:
    """The two groups' handlers and what each handled (notification ids, in order)."""

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.fixed = False
        self.senders: list[str] = []
        self.auditors: list[str] = []

    async def send(self, envelope: Envelope[Any]) -> None:
        number = envelope.data["notification_id"]
        if number == self.poison and not self.fixed:
            raise ValueError("template missing")
        self.senders.append(number)

    async def audit(self, envelope: Envelope[Any]) -> None:
        self.auditors.append(envelope.data["notification_id"])

    async def start(self, bus: Bus) -> None:
        await bus.subscribe(TYPE, self.send, group="senders", start=StartAt.EARLIEST)
        await bus.subscribe(TYPE, self.audit, group="auditors", start=StartAt.EARLIEST)


async def redrive_settled(bus: Bus, group: str) -> bool:
    """``group``'s consumer of the redrive channel has settled every copy appended there."""
    adapter = bus.adapter_for(CHANNEL)
    end = await adapter.last_position(redrive_channel(CHANNEL))
    return end is not None and await adapter.committed_position(redrive_channel(CHANNEL), f"{group}.redrive") == end


async def test_a_redriven_dead_letter_is_handled_once_by_its_group_and_seen_by_no_other(bus: Bus, kind: str) -> None:
    poison, good = notification(1), notification(2)
    groups = Groups(poison["notification_id"])
    await groups.start(bus)
    for data in (poison, good):
        await bus.publish(TYPE, data, key="recipient-1")

    async def dead_lettered() -> bool:
        return len(await list_dead_letters(bus, CHANNEL)) == 1 and len(groups.auditors) == 2
    await until(dead_lettered, "the poison notification's dead letter")
    [letter] = await list_dead_letters(bus, CHANNEL)
    assert letter.group == "senders" and letter.attempts == 4  # retry_limit = 3: 1 + 3 attempts
    assert letter.error == "ValueError: template missing" and letter.type == TYPE
    assert letter.attributes["id"] and letter.dead_lettered_at
    assert (await show_dead_letter(bus, CHANNEL, letter.position)).payload == letter.payload
    auditors_at = await bus.adapter_for(CHANNEL).committed_position(CHANNEL, "auditors")

    groups.fixed = True
    report = await redrive(bus, CHANNEL, [letter.position], by="ops@test")
    assert report.done == [letter.position] and not report.skipped

    async def handled_again() -> bool:
        return poison["notification_id"] in groups.senders
    await until(handled_again, "the redriven notification at its group")
    await until(lambda: redrive_settled(bus, "auditors"), "auditors to settle the redrive channel")
    await until(lambda: redrive_settled(bus, "senders"), "senders to settle the redrive channel")
    assert groups.senders == [good["notification_id"], poison["notification_id"]]
    assert groups.auditors == [poison["notification_id"], good["notification_id"]]  # the originals only
    assert await bus.adapter_for(CHANNEL).committed_position(CHANNEL, "auditors") == auditors_at

    [copy] = await bus.history(redrive_channel(CHANNEL))
    assert json.loads(copy.payload)["id"] == letter.attributes["id"]  # the same event, its id kept
    assert copy.headers[REDRIVE_GROUP_HEADER] == "senders" and copy.headers[REDRIVE_COUNT_HEADER] == "1"
    assert copy.headers[REDRIVEN_FROM_HEADER] == f"{dead_letter_channel(CHANNEL)}@{letter.position}"
    [settled] = await list_dead_letters(bus, CHANNEL, DeadLetterFilter(states=frozenset({"redriven"})))
    assert settled.outcome is not None and settled.outcome["by"] == "ops@test" and settled.outcome["at"]
    assert await list_dead_letters(bus, CHANNEL) == []

    again = await redrive(bus, CHANNEL, [letter.position], by="ops@test")
    assert again.done == [] and again.skipped == [(letter.position, "already redriven")]
    assert await redrive(bus, CHANNEL, None, by="ops@test") == type(again)("redriven")  # --all: nothing left
    assert len(await bus.history(redrive_channel(CHANNEL))) == 1


async def test_a_replay_to_one_group_leaves_the_other_groups_position_unchanged(bus: Bus, kind: str) -> None:
    events = [notification(n) for n in range(10, 15)]
    groups = Groups(poison="none")
    await groups.start(bus)
    results = [await bus.publish(TYPE, data, key="recipient-1") for data in events]
    ids = [e["notification_id"] for e in events]

    async def all_handled() -> bool:
        return len(groups.senders) == len(groups.auditors) == len(events)
    await until(all_handled, "both groups to handle every notification")
    adapter = bus.adapter_for(CHANNEL)
    async def auditors_committed() -> bool:
        return await adapter.committed_position(CHANNEL, "auditors") == results[-1].position
    await until(auditors_committed, "auditors to commit")

    selection = await select_range(bus, CHANNEL, Range(after=results[0].position, to=results[3].position))
    assert [r.position for r in selection] == [r.position for r in results[1:4]]  # the dry-run count: 3
    report = await replay(bus, CHANNEL, selection, by="ops@test", group="senders")
    assert len(report.done) == 3 and not report.skipped

    async def replayed() -> bool:
        return len(groups.senders) == len(events) + 3
    await until(replayed, "the replayed range at senders")
    await until(lambda: redrive_settled(bus, "auditors"), "auditors to settle the redrive channel")
    assert groups.senders == ids + ids[1:4]
    assert groups.auditors == ids
    assert await adapter.committed_position(CHANNEL, "auditors") == results[-1].position


async def test_list_filters_show_purge_and_revalidation(bus: Bus, kind: str) -> None:
    if kind != "memory":
        return  # the selection logic is the adapters' history alone: one backend is enough
    adapter = bus.adapter_for(CHANNEL)
    groups = Groups(poison=notification(20)["notification_id"])
    await groups.start(bus)
    await bus.publish(TYPE, notification(20))
    # a foreign producer's event that breaks the schema: dead-lettered on arrival, and never redriven
    foreign = bus.envelope(TYPE, notification(21)).to_wire()
    foreign["data"] = {"notification_id": 7}
    from hipponot_pubsub.runtime.adapters.base import Message
    await adapter.publish(CHANNEL, Message(json.dumps(foreign).encode()))

    async def both() -> bool:
        return len(await list_dead_letters(bus, CHANNEL)) >= 3  # senders' poison + each group's foreign one
    await until(both, "the dead letters")
    letters = await list_dead_letters(bus, CHANNEL)
    template = await list_dead_letters(bus, CHANNEL, DeadLetterFilter(error="TEMPLATE MISSING"))
    assert [d.group for d in template] == ["senders"]
    invalid = [d for d in letters if d not in template]
    assert invalid and all(d.attempts == 1 for d in invalid)
    assert await list_dead_letters(bus, CHANNEL, DeadLetterFilter(type="no.such.type")) == []
    assert len(await list_dead_letters(bus, CHANNEL, limit=1)) == 1

    report = await redrive(bus, CHANNEL, [d.position for d in invalid], by="ops@test")
    assert report.done == [] and all("not redriven" in reason for _, reason in report.skipped)
    assert await redrive(bus, CHANNEL, ["999999"], by="ops@test") == \
        type(report)("redriven", [], [("999999", "no such dead letter")])

    gone = await purge(bus, CHANNEL, [d.position for d in invalid], by="ops@test")
    assert gone.done == [d.position for d in invalid]
    assert await list_dead_letters(bus, CHANNEL) == template
    skipped = await redrive(bus, CHANNEL, [invalid[0].position], by="ops@test")
    assert skipped.skipped == [(invalid[0].position, "already purged")]
    limited = await redrive(bus, CHANNEL, None, by="ops@test", limit=0)
    assert limited.done == [] and limited.skipped == [(template[0].position, "over the limit of 0 per operation")]
