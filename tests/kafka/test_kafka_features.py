"""Kafka-specific behaviour beyond the shared contract: partitions and keys, gap-free resume on several
partitions, atomic batches, CloudEvents binary mode, idempotence, settings."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.adapters.kafka import KafkaAdapter, KafkaSettings
from hipponot_pubsub.runtime.adapters.kafka.headers import binary_to_structured, encode_headers
from hipponot_pubsub.runtime.adapters.kafka.positions import encode_position, parse_position, topic_tag
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.envelope import envelope_from_wire
from hipponot_pubsub.runtime.errors import AdapterError, InvalidPosition

TIMEOUT = 10.0


async def _adapter(settings: KafkaSettings, partitions: int = 3) -> KafkaAdapter:
    adapter = KafkaAdapter([ChannelSpec("multi", "kafka", {"partitions": partitions})], settings=settings)
    await adapter.start()
    return adapter


async def test_one_key_keeps_its_order_on_one_partition(kafka_settings: KafkaSettings) -> None:
    adapter = await _adapter(kafka_settings)
    try:
        positions = [await adapter.publish("multi", Message(b'{"n":%d}' % i, key="order-42")) for i in range(5)]
        partitions = {p.split(":")[1] for p in positions}
        assert len(partitions) == 1
        offsets = [int(parse_position(p, kafka_settings.topic("multi"), 3).offset) for p in positions]
        assert offsets == sorted(offsets)
        history = await adapter.history("multi")
        assert [json.loads(r.payload)["n"] for r in history if r.key == "order-42"] == list(range(5))
    finally:
        await adapter.close()


async def test_a_reader_resumes_after_any_position_without_a_gap_on_several_partitions(
    kafka_settings: KafkaSettings,
) -> None:
    adapter = await _adapter(kafka_settings)
    try:
        messages = [Message(b'{"n":%d}' % i, key=f"k{i}") for i in range(30)]
        await adapter.publish_many("multi", messages)
        reader = await adapter.subscribe("multi", start=StartAt.EARLIEST, max_in_flight=100)
        read = [await asyncio.wait_for(reader.next(), TIMEOUT) for _ in range(30)]
        numbers = [json.loads(d.record.payload)["n"] for d in read if d]
        assert sorted(numbers) == list(range(30))
        for cut in (0, 7, 18, 29):  # an SSE client that saw read[:cut + 1] reconnects with the last id
            last = read[cut]
            assert last is not None
            resumed = await adapter.subscribe("multi", start=StartAt.after(last.record.position), max_in_flight=100)
            rest = [json.loads(d.record.payload)["n"] for d in
                    [await asyncio.wait_for(resumed.next(), TIMEOUT) for _ in range(29 - cut)] if d]
            assert sorted(rest) == sorted(numbers[cut + 1:])  # nothing missed, nothing repeated
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(resumed.next(), 0.1)
            await resumed.close()
            history = await adapter.history("multi", after=last.record.position, limit=100)
            assert sorted(json.loads(r.payload)["n"] for r in history) == sorted(numbers[cut + 1:])
    finally:
        await adapter.close()


async def test_publish_positions_resume_without_a_gap(kafka_settings: KafkaSettings) -> None:
    adapter = await _adapter(kafka_settings)
    try:
        before = await adapter.publish_many("multi", [Message(b'{"n":%d}' % i, key=f"a{i}") for i in range(9)])
        after = await adapter.publish_many("multi", [Message(b'{"n":%d}' % i, key=f"b{i}") for i in range(9, 18)])
        history = await adapter.history("multi", after=before[-1], limit=100)
        assert sorted(json.loads(r.payload)["n"] for r in history) == list(range(9, 18))
        assert len(after) == 9
    finally:
        await adapter.close()


async def test_a_keyless_batch_is_one_atomic_append_on_one_partition(kafka_settings: KafkaSettings) -> None:
    adapter = await _adapter(kafka_settings)
    try:
        positions = await adapter.publish_many("multi", [Message(b'{"n":%d}' % i) for i in range(50)])
        topic = kafka_settings.topic("multi")
        parsed = [parse_position(p, topic, 3) for p in positions]
        assert len({p.partition for p in parsed}) == 1
        assert [p.offset for p in parsed] == list(range(parsed[0].offset, parsed[0].offset + 50))
    finally:
        await adapter.close()


async def test_a_batch_too_big_for_one_atomic_append_is_refused_before_anything_is_sent(
    kafka_settings: KafkaSettings,
) -> None:
    from dataclasses import replace

    adapter = await _adapter(replace(kafka_settings, max_batch_bytes=4096), partitions=1)
    try:
        with pytest.raises(AdapterError, match="nothing was sent"):
            await adapter.publish_many("multi", [Message(b'{"pad":"%s"}' % (b"x" * 500)) for _ in range(20)])
        assert await adapter.history("multi") == []
        assert adapter.metrics().channels["multi"].errors == 1
    finally:
        await adapter.close()


async def test_cloudevents_binary_mode_records_from_other_tools_are_read(kafka_settings: KafkaSettings) -> None:
    adapter = await _adapter(kafka_settings, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    await producer.start()
    try:
        reader = await adapter.subscribe("multi")
        headers = [("ce_specversion", b"1.0"), ("ce_id", b"evt-1"), ("ce_source", b"urn:connect"),
                   ("ce_type", b"user.registered"), ("ce_dataversion", b"1"), ("content-type", b"application/json")]
        await producer.send_and_wait(kafka_settings.topic("multi"), b'{"user_id":"u1"}', key=b"u1", headers=headers)
        delivery = await asyncio.wait_for(reader.next(), TIMEOUT)
        assert delivery is not None
        envelope = envelope_from_wire(json.loads(delivery.record.payload))
        assert (envelope.id, envelope.type, envelope.data_version) == ("evt-1", "user.registered", 1)
        assert envelope.data == {"user_id": "u1"} and envelope.partition_key == "u1"
        assert delivery.record.headers["ce-type"] == "user.registered"
        [record] = await adapter.history("multi")
        assert record.payload == delivery.record.payload
    finally:
        await producer.stop()
        await adapter.close()


async def test_idempotent_producer(kafka_settings: KafkaSettings) -> None:
    from dataclasses import replace

    adapter = KafkaAdapter([ChannelSpec("idem", "kafka")], settings=replace(kafka_settings, idempotence=True,
                                                                             publish_timeout=3.0))
    try:
        try:
            await adapter.start()
            position = await adapter.publish("idem", Message(b"{}"))
        except AdapterError as error:
            pytest.skip(f"the broker lacks InitProducerId (idempotent/transactional producer; tansu 0.6): {error}")
        assert (await adapter.history("idem"))[0].position == position
    finally:
        await adapter.close()


# -- units ------------------------------------------------------------------------------------------------


def test_positions_round_trip_and_refuse_strangers() -> None:
    tag = topic_tag("pubsub.orders")
    text = encode_position(tag, 1, 17, [41, 3, None])
    assert text == f"{tag}:1:41.17."
    parsed = parse_position(text, "pubsub.orders", 3)
    assert (parsed.partition, parsed.offset, parsed.resume_offsets(4)) == (1, 17, [42, 18, None, None])
    assert encode_position(tag, 0, 5, [None]) == f"{tag}:0:5"
    for bad in ("", "5", f"{tag}:1:41.", f"{tag}:3:1.2.3", f"{tag}:0:1.2.3.4", "abcdef:0:1", f"{tag}:0:1 ", "x:y:z"):
        with pytest.raises(InvalidPosition):
            parse_position(bad, "pubsub.orders", 3)


def test_binary_mode_becomes_structured_mode_without_parsing_the_data() -> None:
    headers = {"ce_specversion": "1.0", "ce_id": "1", "ce_type": "t", "ce_source": "s", "content-type": "text/plain"}
    payload, enriched = binary_to_structured(b"hello", None, headers)
    wire = json.loads(payload)
    assert wire["data_base64"] == "aGVsbG8=" and wire["datacontenttype"] == "text/plain"
    assert enriched["ce-id"] == "1"
    payload, _ = binary_to_structured(b"[1, 2]", "k", {**headers, "content-type": "application/json"})
    assert json.loads(payload)["data"] == [1, 2] and json.loads(payload)["partitionkey"] == "k"
    assert encode_headers({"ce-type": "t"})[0][0] == "content-type"


def test_settings_from_the_environment() -> None:
    settings = KafkaSettings.from_env({
        "PUBSUB_KAFKA_BOOTSTRAP_SERVERS": "k1:9093,k2:9093", "PUBSUB_KAFKA_TOPIC_TEMPLATE": "shop.{channel}.v1",
        "PUBSUB_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "PUBSUB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "PUBSUB_KAFKA_SASL_USERNAME": "u", "PUBSUB_KAFKA_SASL_PASSWORD": "s3cret-pw",
        "PUBSUB_KAFKA_IDEMPOTENCE": "true", "PUBSUB_KAFKA_PUBLISH_TIMEOUT": "2.5",
    })
    assert settings.topic("orders") == "shop.orders.v1" and settings.idempotence and settings.publish_timeout == 2.5
    kwargs = settings.client_kwargs()
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512" and kwargs["ssl_context"] is not None
    assert "s3cret-pw" not in repr(settings)
    with pytest.raises(ValueError, match="channel"):
        KafkaSettings(topic_template="fixed")
    with pytest.raises(ValueError, match="SASL_USERNAME"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT")


async def test_positions_after_a_partition_is_dropped_claim_only_what_was_handed_out() -> None:
    """A rebalance takes a partition away while fetched records of it still wait: the positions of the records
    of the other partitions (made when they were buffered) must not claim the dropped ones as passed, or a reader
    resuming from them would skip those. No broker: fetched runs are fed to the subscription directly."""
    from aiokafka.structs import ConsumerRecord
    from hipponot_pubsub.runtime.adapters.kafka.consumer import STRUCTURED_HEADER, KafkaSubscription

    class Stub:  # what the subscription asks of its aiokafka consumer here
        def seek(self, *_: object) -> None:
            return None

    adapter = KafkaAdapter([ChannelSpec("multi", "kafka", {"partitions": 3})],
                           settings=KafkaSettings(bootstrap_servers="127.0.0.1:1"))
    info = adapter._topics["multi"]
    subscription = KafkaSubscription(adapter, info, "g", None, [0, 0, 0], max_in_flight=100)
    subscription.consumer = Stub()
    for partition in range(3):
        subscription._take_partition(partition, 0)

    def run(partition: int, offsets: range) -> list[ConsumerRecord[bytes, bytes]]:
        return [ConsumerRecord(info.name, partition, offset, 0, 0, None, b"{}", None, 0, 2,
                               (STRUCTURED_HEADER,)) for offset in offsets]

    subscription._enqueue(subscription._tracks[0], run(0, range(0, 3)))
    subscription._enqueue(subscription._tracks[1], run(1, range(0, 2)))
    first = subscription.take_ready()
    assert first is not None and parse_position(first.record.position, info.name, 3).frontier == (0, None, None)
    subscription._drop_track(subscription._tracks.pop(0))  # offsets 1 and 2 of partition 0 were never handed out
    rest = [subscription.take_ready() for _ in range(2)]
    assert [parse_position(d.record.position, info.name, 3).frontier for d in rest if d is not None] == [
        (0, 0, None), (0, 1, None)]
    assert subscription.take_ready() is None
