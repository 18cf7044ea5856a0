"""A lifted service knows the customer from identity's token alone: verified with the public keys identity
publishes (``/.well-known/jwks.json``), never a call to identity per request (``commerce.authentication``).

Real keys throughout: identity's own (through its real JWKS endpoint) and impostors' made here.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from commerce.authentication import PublicKeyAuthentication, public_key_set
from contexts.identity.signing import public_jwk
from tests.topologies.keys import KeyPair, hmac_token_with_public_key, unsigned_token


class WhoAmI(APIView):
    """A service's view: authenticated callers only, answering the id the token names."""

    authentication_classes = [PublicKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"id": request.user.id, "authenticated": request.user.is_authenticated})


def ask(token: str | None = None, *, header: str | None = None):
    headers = {}
    if header is not None:
        headers["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = WhoAmI.as_view()(APIRequestFactory().get("/api/v1/whoami", **headers))
    response.render()
    return response


class KeySetServer:
    """identity's JWKS endpoint as a real HTTP server whose key set a test changes, counting its requests."""

    def __init__(self, *keys: KeyPair, port: int = 0) -> None:
        self.document = {"keys": [k for key in keys for k in key.jwks()["keys"]]}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, *keys: KeyPair) -> None:
        self.document = {"keys": [k for key in keys for k in key.jwks()["keys"]]}

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def identity_key():
    return KeyPair()


@pytest.fixture
def key_set_server(identity_key):
    server = KeySetServer(identity_key)
    yield server
    server.stop()


def assert_refused(response, code="token_not_valid"):
    assert response.status_code == 401, response.content
    body = json.loads(response.content)
    assert body["code"] == code and body["detail"], body
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db(transaction=True)
def test_a_token_identity_issued_is_verified_with_the_keys_identity_publishes(live_server, api_client):
    """The real thing end to end: a customer registers and logs in at identity; the service's check reads
    identity's JWKS over HTTP once and then knows the customer from each token alone."""
    credentials = {"email": "ada@example.com", "password": "correct-horse-battery"}
    registered = api_client.post("/api/v1/auth/register", credentials, format="json")
    assert registered.status_code == 201, registered.content
    access = api_client.post("/api/v1/auth/token", credentials, format="json").json()["access"]

    with override_settings(IDENTITY_JWKS_URL=f"{live_server.url}/.well-known/jwks.json", JWT_PUBLIC_KEYS_FILE=""):
        answers = [ask(access) for _ in range(5)]
        assert [(a.status_code, json.loads(a.content)) for a in answers] == [
            (200, {"id": registered.json()["id"], "authenticated": True})
        ] * 5
        assert public_key_set().fetches == 1


def test_after_the_first_read_no_request_reaches_identity(key_set_server, identity_key):
    with override_settings(IDENTITY_JWKS_URL=key_set_server.url):
        assert ask(identity_key.token(11)).status_code == 200
        key_set_server.stop()  # identity is gone: tokens are still verified
        assert [ask(identity_key.token(11)).status_code for _ in range(3)] == [200] * 3
        assert key_set_server.requests == 1


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda key, impostor: impostor.token(7, kid=key.kid), id="another-key-posing-as-identity"),
        pytest.param(lambda key, impostor: impostor.token(7), id="another-key-its-own-kid"),
        pytest.param(lambda key, impostor: key.token(7, exp=int(time.time()) - 5), id="expired"),
        pytest.param(lambda key, impostor: unsigned_token(7, key.kid), id="alg-none"),
        pytest.param(lambda key, impostor: hmac_token_with_public_key(7, key), id="hs256-with-the-public-key"),
        pytest.param(lambda key, impostor: key.token(7, token_type="refresh"), id="a-refresh-token"),
        pytest.param(lambda key, impostor: key.token(7)[:-4] + "AAAA", id="signature-altered"),
        pytest.param(lambda key, impostor: "not.a.token", id="garbage"),
    ],
)
def test_a_token_identity_did_not_sign_for_access_is_refused_401(forge, key_set_server, identity_key):
    with override_settings(IDENTITY_JWKS_URL=key_set_server.url):
        assert ask(identity_key.token(7)).status_code == 200  # the key set is read and good
        assert_refused(ask(forge(identity_key, KeyPair())))


def test_a_malformed_authorization_header_is_refused_and_none_is_anonymous(key_set_server, identity_key):
    with override_settings(IDENTITY_JWKS_URL=key_set_server.url):
        assert_refused(ask(header="Bearer"))
        assert_refused(ask(header=f"Bearer {identity_key.token(7)} extra"))
        assert_refused(ask(), code="not_authenticated")  # 401 with the scheme to use, not 403
        for blank in (" ", "\t  "):  # no scheme at all: anonymous, as with no header (not a 500)
            assert_refused(ask(header=blank), code="not_authenticated")
        assert key_set_server.requests == 0  # nothing to verify, nothing fetched


@override_settings(JWKS_REFRESH_SECONDS=0.3)
def test_a_rotated_key_is_fetched_once_and_invented_key_ids_do_not_hammer_identity(key_set_server, identity_key):
    with override_settings(IDENTITY_JWKS_URL=key_set_server.url):
        assert ask(identity_key.token(7)).status_code == 200
        rotated = KeyPair()
        key_set_server.serve(identity_key, rotated)
        time.sleep(0.4)
        assert ask(rotated.token(8)).status_code == 200
        assert key_set_server.requests == 2

        impostor = KeyPair()
        refused = [ask(impostor.token(9)).status_code for _ in range(20)]
        assert refused == [401] * 20
        assert key_set_server.requests <= 3  # at most one more read within the refresh interval


@override_settings(JWKS_MAX_AGE_SECONDS=0.3, JWKS_REFRESH_SECONDS=0.1)
def test_a_key_identity_withdrew_stops_being_trusted(key_set_server, identity_key):
    with override_settings(IDENTITY_JWKS_URL=key_set_server.url):
        assert ask(identity_key.token(7)).status_code == 200
        key_set_server.serve(KeyPair())
        time.sleep(0.4)
        assert_refused(ask(identity_key.token(7)))


@override_settings(JWKS_REFRESH_SECONDS=0.1)
def test_keys_that_cannot_be_read_answer_503_until_they_can(identity_key):
    server = KeySetServer(identity_key)
    url = server.url
    server.stop()
    with override_settings(IDENTITY_JWKS_URL=url):
        response = ask(identity_key.token(7))
        assert response.status_code == 503
        assert json.loads(response.content)["code"] == "service_unavailable"


@override_settings(JWKS_REFRESH_SECONDS=60, JWKS_RETRY_SECONDS=0.2)
def test_a_service_started_before_identity_answers_serves_as_soon_as_identity_does(identity_key):
    """While no key was ever read, a failed read is retried after JWKS_RETRY_SECONDS, not the refresh interval:
    a service started before the monolith answers does not refuse every request for a minute."""
    server = KeySetServer(identity_key)
    url = server.url
    server.stop()
    with override_settings(IDENTITY_JWKS_URL=url):
        assert ask(identity_key.token(7)).status_code == 503
        identity = KeySetServer(identity_key, port=server.httpd.server_address[1])  # identity answers now
        try:
            assert ask(identity_key.token(7)).status_code == 503  # within the retry delay: not asked again
            time.sleep(0.3)
            assert ask(identity_key.token(7)).status_code == 200
            assert identity.requests == 1
        finally:
            identity.stop()


def test_a_file_of_pem_public_keys_or_a_jwks_document_works_as_well(tmp_path, identity_key):
    """A PEM key is named by its thumbprint: the very ``kid`` identity writes into its tokens."""
    assert public_jwk(identity_key.public_pem)["kid"] == identity_key.kid
    pem = tmp_path / "identity.pem"
    pem.write_text(KeyPair().public_pem + identity_key.public_pem)
    document = tmp_path / "jwks.json"
    document.write_text(json.dumps(identity_key.jwks()))
    for path in (pem, document):
        with override_settings(IDENTITY_JWKS_URL="", JWT_PUBLIC_KEYS_FILE=str(path)):
            assert ask(identity_key.token(5)).status_code == 200
            assert_refused(ask(KeyPair().token(5)))
