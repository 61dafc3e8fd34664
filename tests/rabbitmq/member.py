"""A group member in its own process, for the kill test: takes ``count`` deliveries of a channel's group, prints
their positions, then waits (holding them unacknowledged) until it is killed.

Usage: python -m tests.rabbitmq.member URL NAME_TEMPLATE CHANNEL GROUP COUNT
"""

from __future__ import annotations

import asyncio
import sys

from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQAdapter, RabbitMQSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec


async def main(url: str, template: str, channel: str, group: str, count: int) -> None:
    adapter = RabbitMQAdapter([ChannelSpec(channel, "rabbitmq")],
                              settings=RabbitMQSettings(url=url, name_template=template))
    await adapter.start()
    member = await adapter.subscribe(channel, group=group, consumer="doomed", max_in_flight=count)
    print("ready", flush=True)
    taken = [await member.next() for _ in range(count)]
    print("took", " ".join(d.record.position for d in taken if d is not None), flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    url, template, channel, group, count = sys.argv[1:6]
    asyncio.run(main(url, template, channel, group, int(count)))
