"""Vouchers: a code goes into the cart only when pricing would apply it to the cart now."""

from dataclasses import replace

from contexts.cart import domain, selectors
from contexts.cart.exceptions import InvalidCartInput, VoucherInvalid
from contexts.cart.selectors import CartState
from contexts.cart.services._writes import Change, commit, ensure_open


def clean_code(code: object) -> str:
    if message := domain.voucher_code_error(code):
        raise InvalidCartInput({"code": [message]})
    return domain.normalize_voucher_code(code)


def add_voucher(*, cart_id: object, customer_id: int | None, code: object) -> domain.Cart:
    """Apply a voucher; applying one already in the cart changes nothing.

    :raises VoucherInvalid: pricing would not apply it (reason from pricing).
    """
    code = clean_code(code)
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    if code in state.voucher_codes:
        return selectors.priced(state)
    view = selectors.priced(replace(state, voucher_codes=(*state.voucher_codes, code)))
    refused = next((r for r in view.refused_vouchers if r.code == code), None)
    if refused is not None:
        raise VoucherInvalid(reason=refused.reason, voucher_code=code, detail=refused.detail)

    def fields(current: CartState) -> dict[str, object]:
        codes = list(current.voucher_codes)
        if code not in codes:
            codes.append(code)
        return {"voucher_codes": codes}

    return commit(state, Change(fields=fields), view)


def remove_voucher(*, cart_id: object, customer_id: int | None, code: object) -> domain.Cart:
    """Take a voucher out of the cart; removing one that is not there changes nothing."""
    code = domain.normalize_voucher_code(code)
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    if code not in state.voucher_codes:
        return selectors.priced(state)
    view = selectors.priced(replace(state, voucher_codes=tuple(c for c in state.voucher_codes if c != code)))

    def fields(current: CartState) -> dict[str, object]:
        return {"voucher_codes": [c for c in current.voucher_codes if c != code]}

    return commit(state, Change(fields=fields), view)
