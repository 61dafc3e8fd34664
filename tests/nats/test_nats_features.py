"""NATS-specific behaviour beyond the shared contract: CloudEvents binary mode, batches that are not atomic,
positions, groups kept on the server, consumers made again, stream options, settings."""

from __future__ import annotations

import asyncio
import json
import ssl

import nats
import pytest
from hipponot_pubsub.runtime.adapters.base import Message, StartAt, dead_letter_channel
from hipponot_pubsub.runtime.adapters.nats import NatsAdapter, NatsSettings, PartialPublish
from hipponot_pubsub.runtime.adapters.nats.headers import STRUCTURED_CONTENT_TYPE, binary_to_structured
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.envelope import envelope_from_json
from hipponot_pubsub.runtime.errors import AdapterError, InvalidPosition, UnknownChannel
from nats.js import api

from .conftest import drop_streams

TIMEOUT = 10.0


async def _started(settings: NatsSettings, channel: str, **options: object) -> NatsAdapter:
    adapter = NatsAdapter([ChannelSpec(channel, "nats", options)], settings=settings)
    await adapter.start()
    return adapter


async def test_binary_mode_messages_are_read_as_structured_envelopes(nats_settings: NatsSettings,
                                                                      channel: str) -> None:
    adapter = await _started(nats_settings, channel)
    try:
        reader = await adapter.subscribe(channel, start=StartAt.EARLIEST)
        nc = await nats.connect(nats_settings.url)
        try:  # as the CloudEvents Go SDK writes them: attributes in ce- headers, percent-encoded
            await nc.jetstream().publish(nats_settings.subject(channel), b'{"order_id":"o-1"}', headers={
                "ce-specversion": "1.0", "ce-id": "e%201", "ce-type": "shop.order.placed",
                "ce-source": "/tests", "ce-dataversion": "1", "Content-Type": "application/json",
                "pubsub-key": "customer-9",
            })
        finally:
            await nc.close()
        delivery = await asyncio.wait_for(reader.next(), TIMEOUT)
        assert delivery is not None
        [stored] = await adapter.history(channel)
        for record in (delivery.record, stored):
            wire = json.loads(record.payload)
            assert wire["specversion"] == "1.0" and wire["id"] == "e 1" and wire["type"] == "shop.order.placed"
            assert wire["datacontenttype"] == "application/json" and wire["data"] == {"order_id": "o-1"}
            assert wire["partitionkey"] == "customer-9" and record.key == "customer-9"
            assert record.headers["ce-id"] == "e 1"
            envelope = envelope_from_json(record.payload)
            assert envelope.id == "e 1" and envelope.data == {"order_id": "o-1"}
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


def test_binary_data_that_is_not_json_becomes_data_base64() -> None:
    payload, _ = binary_to_structured(b"\x00\x01", {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t",
                                                   "ce-source": "/s", "ce-datacontenttype": "image/png"})
    wire = json.loads(payload)
    assert wire["data_base64"] == "AAE=" and wire["datacontenttype"] == "image/png" and "data" not in wire


async def test_written_messages_are_structured_mode_with_routing_headers(nats_settings: NatsSettings,
                                                                         channel: str) -> None:
    adapter = await _started(nats_settings, channel)
    try:
        position = await adapter.publish(channel, Message(b'{"specversion":"1.0"}', "k", {"ce-type": "t"}))
        nc = await nats.connect(nats_settings.url)
        try:
            raw = await nc.jsm().get_msg(nats_settings.stream(channel), int(position.split(":")[1]))
        finally:
            await nc.close()
        assert raw.headers is not None
        assert raw.headers["Content-Type"] == STRUCTURED_CONTENT_TYPE
        assert raw.headers["ce-type"] == "t" and raw.headers["pubsub-key"] == "k"
        assert "ce-specversion" not in raw.headers  # so it never reads as binary mode
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


async def test_a_batch_that_fails_part_way_says_what_was_stored(nats_settings: NatsSettings, channel: str) -> None:
    """JetStream 2.9 has no atomic batch: a stream that refuses new messages once full stores a prefix."""
    nc = await nats.connect(nats_settings.url)
    try:
        await nc.jsm().add_stream(api.StreamConfig(
            name=nats_settings.stream(channel), subjects=[nats_settings.subject(channel)], max_msgs=3,
            discard=api.DiscardPolicy.NEW, storage=api.StorageType.MEMORY))
    finally:
        await nc.close()
    adapter = await _started(nats_settings, channel)
    try:
        assert adapter.capabilities.atomic_batches is False
        started = asyncio.get_running_loop().time()
        with pytest.raises(PartialPublish, match=r"refused it: maximum messages exceeded \(3 of 5 stored") as raised:
            await adapter.publish_many(channel, [Message(b'{"n":%d}' % i) for i in range(5)])
        assert asyncio.get_running_loop().time() - started < nats_settings.publish_timeout / 2  # not a timeout
        stored = raised.value.stored
        assert stored[3:] == [None, None] and all(stored[:3])
        assert [r.position for r in await adapter.history(channel)] == stored[:3]
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


async def test_positions_of_another_channel_are_refused(nats_settings: NatsSettings, channel: str) -> None:
    other = channel + "-other"
    adapter = NatsAdapter([ChannelSpec(channel, "nats"), ChannelSpec(other, "nats")], settings=nats_settings)
    await adapter.start()
    try:
        foreign = await adapter.publish(other, Message(b"{}"))
        with pytest.raises(InvalidPosition, match="another stream"):
            await adapter.history(channel, after=foreign)
        for bad in ("abcdef:0", "abcdef:-1", "abcdef:1:2", "zz:1", ""):
            with pytest.raises(InvalidPosition):
                await adapter.subscribe(channel, start=StartAt.after(bad))
        with pytest.raises(UnknownChannel):
            await adapter.publish("nobody", Message(b"{}"))
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel, other])


async def test_a_group_lives_on_the_server_across_processes(nats_settings: NatsSettings, channel: str) -> None:
    """The committed position is the durable consumer's ack floor: a second adapter (another process) reads it
    and resumes there, attempts counted by the server."""
    first = await _started(nats_settings, channel)
    try:
        positions = await first.publish_many(channel, [Message(b'{"n":%d}' % i) for i in range(4)])
        member = await first.subscribe(channel, group="g", start=StartAt.EARLIEST, max_in_flight=3)
        taken = [await asyncio.wait_for(member.next(), TIMEOUT) for _ in range(3)]
        assert all(taken)
        await taken[0].ack()  # type: ignore[union-attr]
        await taken[1].nack(0)  # type: ignore[union-attr]
        assert await first.committed_position(channel, "g") == positions[0]
    finally:
        await first.close()  # naks what it held
    second = await _started(nats_settings, channel)
    try:
        assert await second.committed_position(channel, "g") == positions[0]
        resumed = await second.subscribe(channel, group="g", start=StartAt.LATEST, max_in_flight=10)
        got = [await asyncio.wait_for(resumed.next(), TIMEOUT) for _ in range(3)]
        attempts = dict(sorted((d.record.position, d.attempt) for d in got if d))
        assert list(attempts) == positions[1:]
        # nacked (3 if the first member had pulled it again before it left); held by a member that left; 2 if
        # the first member had pulled it already (JetStream counts what it delivered)
        assert attempts[positions[1]] in (2, 3) and attempts[positions[2]] == 2 and attempts[positions[3]] in (1, 2)
    finally:
        await second.close()
        await drop_streams(nats_settings, [channel])


async def test_a_fan_out_consumer_deleted_on_the_server_is_made_again(nats_settings: NatsSettings,
                                                                        channel: str) -> None:
    adapter = await _started(nats_settings, channel, ack_wait=5)
    try:
        reader = await adapter.subscribe(channel, max_in_flight=5)
        first = await adapter.publish(channel, Message(b'{"n":1}'))
        delivery = await asyncio.wait_for(reader.next(), TIMEOUT)
        assert delivery is not None and delivery.record.position == first
        await delivery.ack()
        nc = await nats.connect(nats_settings.url)
        try:
            await nc.jsm().delete_consumer(nats_settings.stream(channel), reader.consumer)  # type: ignore[attr-defined]
        finally:
            await nc.close()
        second = await adapter.publish(channel, Message(b'{"n":2}'))
        again = await asyncio.wait_for(reader.next(), TIMEOUT)
        assert again is not None and again.record.position == second  # after the last one received, no repeat
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


async def test_stream_options_reach_the_stream(nats_settings: NatsSettings, channel: str) -> None:
    adapter = await _started(nats_settings, channel, history=5, max_age=3600, storage="memory", ack_wait=7)
    try:
        nc = await nats.connect(nats_settings.url)
        try:
            info = await nc.jsm().stream_info(nats_settings.stream(channel))
            dead = await nc.jsm().stream_info(nats_settings.stream(dead_letter_channel(channel)))
        finally:
            await nc.close()
        assert info.config.max_msgs == 5 and info.config.max_age == 3600
        assert info.config.storage == api.StorageType.MEMORY
        assert dead.config.subjects == [nats_settings.subject(dead_letter_channel(channel))]
        await adapter.publish_many(channel, [Message(b'{"n":%d}' % i) for i in range(8)])
        assert len(await adapter.history(channel)) == 5  # the oldest went first
        member = await adapter.subscribe(channel, group="g", start=StartAt.EARLIEST)
        nc = await nats.connect(nats_settings.url)
        try:
            consumer = await nc.jsm().consumer_info(nats_settings.stream(channel), nats_settings.durable("g"))
        finally:
            await nc.close()
        assert consumer.config.ack_wait == 7
        await member.close()
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


async def test_dead_letter_false_drops_dead_letters(nats_settings: NatsSettings, channel: str) -> None:
    adapter = await _started(nats_settings, channel, dead_letter=False)
    try:
        member = await adapter.subscribe(channel, group="g")
        position = await adapter.publish(channel, Message(b"{}"))
        delivery = await asyncio.wait_for(member.next(), TIMEOUT)
        assert delivery is not None
        await delivery.dead_letter("boom")
        assert await adapter.history(dead_letter_channel(channel)) == []
        assert adapter.metrics().channels[channel].dead_lettered == 1
        assert await adapter.committed_position(channel, "g") == position
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


async def test_an_existing_stream_without_the_channel_subject_is_refused(nats_settings: NatsSettings,
                                                                          channel: str) -> None:
    nc = await nats.connect(nats_settings.url)
    try:
        await nc.jsm().add_stream(api.StreamConfig(
            name=nats_settings.stream(channel), subjects=[f"elsewhere.{channel}"], storage=api.StorageType.MEMORY))
    finally:
        await nc.close()
    adapter = NatsAdapter([ChannelSpec(channel, "nats")], settings=nats_settings)
    try:
        with pytest.raises(AdapterError, match="without subject"):
            await adapter.start()
    finally:
        await adapter.close()
        await drop_streams(nats_settings, [channel])


def test_settings_from_the_environment() -> None:
    settings = NatsSettings.from_env({
        "PUBSUB_NATS_URL": "tls://a.example:4443, nats://b.example", "PUBSUB_NATS_USER": "svc",
        "PUBSUB_NATS_PASSWORD": "s3cret", "PUBSUB_NATS_ACK_WAIT": "12.5", "PUBSUB_NATS_READAHEAD": "8",
        "PUBSUB_NATS_CREATE_STREAMS": "off", "PUBSUB_NATS_STREAM_TEMPLATE": "shop.{channel}",
    })
    assert settings.servers == ["tls://a.example:4443", "nats://b.example"]
    assert settings.ack_wait == 12.5 and settings.readahead == 8 and settings.create_streams is False
    assert settings.stream("orders.v1") == "shop_orders_v1"  # stream names hold no dots
    kwargs = settings.connect_kwargs()
    assert kwargs["user"] == "svc" and kwargs["password"] == "s3cret"
    assert isinstance(kwargs["tls"], ssl.SSLContext)  # a tls:// server asks for TLS
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.where()
    assert NatsSettings.from_env({}).connect_kwargs().get("tls") is None
    assert "svc" not in NatsSettings(url="nats://svc:pw@host:4222").where()
    for bad in ({"PUBSUB_NATS_STORAGE": "disk"}, {"PUBSUB_NATS_GROUP_TEMPLATE": "x"},
                {"PUBSUB_NATS_TLS": "maybe"}, {"PUBSUB_NATS_ACK_WAIT": "0"}):
        with pytest.raises(ValueError):
            NatsSettings.from_env(bad)
