"""The relay tests' helpers: the broker's queues read directly, and relay/consumer processes."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import amqp
from django.conf import settings
from django.db import connections

from commerce.eventbus.remote import amqp as port

ROOT = Path(__file__).resolve().parents[3]


def drain(queue: str, *, idle: float = 0.5) -> list[amqp.Message]:
    """Every message now in ``queue``, taken off it in order (a consumer: a quorum queue with a single
    active consumer refuses ``basic.get``); done when none came for ``idle`` seconds."""
    connection = port.connect()
    try:
        channel = connection.channel()
        channel.basic_qos(0, 1000, False)
        taken: list[amqp.Message] = []
        channel.basic_consume(queue, callback=taken.append)
        while True:
            try:
                connection.drain_events(timeout=idle)
            except TimeoutError:
                break
        if taken:
            channel.basic_ack(taken[-1].delivery_tag, multiple=True)
        return taken
    finally:
        connection.close()


def drain_all(context: str, *, idle: float = 0.3) -> list[amqp.Message]:
    """Every message now in ``context``'s partition queues, taken off them queue after queue (in the
    order of each queue: an aggregate's events are all in one of them)."""
    return [message for queue in port.names().partition_queues(context) for message in drain(queue, idle=idle)]


def depth_all(context: str) -> int:
    """The messages ready in all of ``context``'s partition queues."""
    return sum(depth(queue) for queue in port.names().partition_queues(context))


def raw_routing_key(event_type: str, context: str, partition_key: str = "") -> str:
    """The routing key the relay would give an event of ``event_type`` in the stream ``partition_key``."""
    return port.routing_key(event_type, context, port.partition_of(event_type, partition_key))


def depth(queue: str) -> int:
    connection = port.connect()
    try:
        return connection.channel().queue_declare(queue, passive=True).message_count
    finally:
        connection.close()


def publish_raw(routing_key: str, body: bytes, *, exchange: str | None = None, **properties) -> None:
    """A message put on the events exchange (or ``exchange``) as any publisher could (confirmed)."""
    connection = port.connect()
    try:
        channel = connection.channel()
        channel.confirm_select()
        channel.basic_publish_confirm(
            amqp.Message(body, **properties), exchange=exchange or port.names().exchange, routing_key=routing_key
        )
    finally:
        connection.close()


def payload(message: amqp.Message) -> dict:
    return json.loads(message.body)


@contextmanager
def process(*command: str, log: Path, **env: str) -> Iterator[subprocess.Popen]:
    """``run.py COMMAND`` in a process of its own, on the test databases and this test's topology."""
    for alias in connections:
        connections[alias].close()
    environment = {
        **os.environ,
        "COMMERCE_USE_TEST_DATABASES": "1",
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "EVENTS_TOPOLOGY_PREFIX": settings.EVENTS_TOPOLOGY_PREFIX,
        "EVENTS_BROKER_URL": settings.EVENTS_BROKER_URL,
        **env,
    }
    environment.pop("LIFTED", None)
    with open(log, "w") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.eventbus.relay.run", *command],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def wait_for(predicate, *, timeout: float = 60.0, what: str = "the condition", log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} did not happen within {timeout}s\n{tail}")
        time.sleep(0.05)
