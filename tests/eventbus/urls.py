"""The shop's URLs plus a probe endpoint that publishes, for the tests of delivery after the response."""

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from commerce.database import atomic_in
from commerce.eventbus import publish
from commerce.urls import urlpatterns as shop_urlpatterns
from tests.probe_sink.events import Pinged


def _publish(request: HttpRequest) -> str:
    key = request.GET["key"]
    with atomic_in("probe"):
        publish(Pinged(key=key, fail_times=int(request.GET.get("fail", "0"))))
    return key


@csrf_exempt
def ping(request: HttpRequest) -> JsonResponse:
    """Publish ``Pinged(key=?key)`` (its handlers fail ``?fail`` times) and answer 201."""
    return JsonResponse({"published": _publish(request)}, status=201)


@csrf_exempt
def ping_streaming(request: HttpRequest) -> StreamingHttpResponse:
    key = _publish(request)
    return StreamingHttpResponse((part for part in (b"published ", key.encode())), status=201)


urlpatterns = [
    path("probe/ping", ping),
    path("probe/ping-streaming", ping_streaming),
    *shop_urlpatterns,
]
