"""Events leaving and entering through a broker: the lifted contexts' side of the bus.

In the monolith the outbox owes a lifted context a ``relay:<context>`` delivery per event it
subscribes to (``publishing``). Here:

    amqp       the broker port, implemented for RabbitMQ (AMQP 0-9-1 with py-amqp): connections, the
               topology's names and declaration, the wire format of a message
    relay      claims due ``relay:*`` deliveries (rows locked, skipped by other relays), publishes
               them with confirms, ``mandatory`` and persistence, marks them delivered after the ack
    consumer   the service's side: each message becomes the inbox row plus the handler's writes in
               one transaction on the context's database, acked after the commit

The wire format is the event's JSON as the body (no envelope of any framework: any language reads
it) and its identity, type, version, correlation, causation and trace context in the message's
properties and headers; the routing key is the event type, the consuming context and the
partition (``amqp.routing_key``). Only ``amqp`` knows about RabbitMQ: a
Kafka port would replace it and keep ``relay`` and ``consumer``'s bookkeeping.
"""
