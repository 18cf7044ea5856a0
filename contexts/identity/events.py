"""Events published by the identity context."""

from dataclasses import dataclass

from commerce.eventbus import Event, domain_event


@domain_event("identity.CustomerRegistered", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRegistered(Event):
    customer_id: int
    email: str
