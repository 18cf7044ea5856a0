"""Idempotency-Key handling for any endpoint: one store per context, one decorator per view method.

What an endpoint uses (``commerce.idempotency.keys``; this package imports nothing, being a Django app)::

    from commerce.idempotency.keys import HEADER_PARAMETER, Claim, IdempotencyKeys

    checkout_keys = IdempotencyKeys(context="orders", retention_hours=..., lock_seconds=...)

    class CheckoutView(APIView):
        @extend_schema(parameters=[HEADER_PARAMETER], ...)
        @checkout_keys.idempotent(scope=lambda request: f"customer:{request.user.pk}")
        def post(self, request, *, idempotency: Claim) -> Response: ...

and a periodic job calling ``checkout_keys.prune()``. The records live in the context's own database
(the table is in every alias, as the event bus's are), so they commit beside the data they protect.
"""
