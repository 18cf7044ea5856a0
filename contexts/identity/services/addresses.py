"""A customer's address book: every write is scoped to its owner, another's address is not found."""

from dataclasses import dataclass, fields

from commerce.database import atomic_in
from contexts.identity.exceptions import AddressNotFound
from contexts.identity.models import Address

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postal_code", "country", "phone")


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressChanges:
    """Fields to set; ``None`` leaves a field as it is."""

    full_name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None

    def given(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


def _owned(user_id: int, address_id: int) -> Address:
    if not 0 < address_id <= 2**63 - 1:  # an id no row can have: not found, before any query
        raise AddressNotFound()
    address = Address.objects.select_for_update().filter(pk=address_id, user_id=user_id).first()
    if address is None:
        raise AddressNotFound()
    return address


def add_address(*, user_id: int, changes: AddressChanges) -> Address:
    with atomic_in("identity"):
        address = Address(user_id=user_id, **changes.given())
        address.save()
    return address


def change_address(*, user_id: int, address_id: int, changes: AddressChanges) -> Address:
    """:raises AddressNotFound: no address with this id belongs to this user."""
    with atomic_in("identity"):
        address = _owned(user_id, address_id)
        for name, value in changes.given().items():
            setattr(address, name, value)
        address.save()
    return address


def delete_address(*, user_id: int, address_id: int) -> None:
    """:raises AddressNotFound: no address with this id belongs to this user."""
    with atomic_in("identity"):
        _owned(user_id, address_id).delete()
