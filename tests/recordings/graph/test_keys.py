import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from recordings.graph import (
    GraphNetworkError,
    GraphResponseError,
    GraphServiceError,
    NotificationKeys,
    SigningKeysUnavailable,
    UnknownSigningKey,
)
from tests.support.graph import RecordingLogs, connection_reset
from tests.support.hosts import Host, hanging

CONFIG_URL = "https://keys.test/.well-known/OpenIdConfiguration"
JWKS_URL = "https://keys.test/jwks"


def rsa_jwk(kid, **extra):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, **extra}


@pytest.fixture(scope="module")
def first_key():
    return rsa_jwk("key-1", use="sig")


@pytest.fixture(scope="module")
def second_key():
    return rsa_jwk("key-2")


@pytest.fixture
def keys(session, clock):
    return NotificationKeys(
        CONFIG_URL, timeout=4.0, refetch_interval=30, session=session, clock=clock
    )


@pytest.fixture
def key_endpoint(mock_http):
    mock_http.get(CONFIG_URL, json={"issuer": "https://api.botframework.com", "jwks_uri": JWKS_URL})
    return mock_http


def jwks_fetches(mock_http):
    return sum(1 for call in mock_http.calls if call.request.url == JWKS_URL)


def test_each_key_request_goes_to_a_fresh_log_of_its_own(session, key_endpoint, first_key):
    key_endpoint.get(JWKS_URL, json={"keys": [first_key]})
    logs = RecordingLogs()
    keys = NotificationKeys(CONFIG_URL, session=session, log_factory=logs)

    keys.signing_key("key-1")

    assert logs.actions() == ["notification keys", "notification keys"]
    assert [log.events[0][3] for log in logs.made] == [CONFIG_URL, JWKS_URL]


def test_it_fetches_the_key_named_in_the_openid_configuration(keys, key_endpoint, first_key):
    key_endpoint.get(JWKS_URL, json={"keys": [first_key]})

    key = keys.signing_key("key-1")

    assert isinstance(key, jwt.PyJWK)
    assert key.key_id == "key-1"
    assert key.algorithm_name == "RS256"
    assert [c.request.url for c in key_endpoint.calls] == [CONFIG_URL, JWKS_URL]
    assert all(c.request.req_kwargs["timeout"] == 4.0 for c in key_endpoint.calls)


def test_it_never_waits_more_than_five_seconds_for_the_keys(session):
    assert NotificationKeys(CONFIG_URL, timeout=30.0, session=session).timeout == 5.0


def test_it_answers_known_keys_from_its_cache(keys, key_endpoint, first_key, second_key, clock):
    key_endpoint.get(JWKS_URL, json={"keys": [first_key, second_key]})
    keys.signing_key("key-1")
    clock.now += 3600
    keys.signing_key("key-2")
    keys.signing_key("key-1")
    assert jwks_fetches(key_endpoint) == 1


def test_it_refetches_for_an_unknown_kid_at_most_once_per_interval(
    keys, key_endpoint, first_key, second_key, clock
):
    key_endpoint.get(JWKS_URL, json={"keys": [first_key]})
    key_endpoint.get(JWKS_URL, json={"keys": [first_key, second_key]})
    keys.signing_key("key-1")

    # Within the interval an unknown kid costs no request.
    clock.now += 29
    with pytest.raises(UnknownSigningKey, match="at most every 30 s"):
        keys.signing_key("key-2")
    assert jwks_fetches(key_endpoint) == 1

    # Past it, one refetch finds the rotated key.
    clock.now += 1
    assert keys.signing_key("key-2").key_id == "key-2"
    assert jwks_fetches(key_endpoint) == 2


def test_a_kid_missing_after_the_refetch_is_unknown(keys, key_endpoint, first_key, clock):
    key_endpoint.get(JWKS_URL, json={"keys": [first_key]})
    keys.signing_key("key-1")
    clock.now += 31
    with pytest.raises(UnknownSigningKey, match="among the published keys"):
        keys.signing_key("made-up")
    with pytest.raises(UnknownSigningKey):
        keys.signing_key("made-up-again")
    assert jwks_fetches(key_endpoint) == 2


def test_it_uses_only_rsa_signing_keys(keys, key_endpoint, first_key):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec"}
    key_endpoint.get(
        JWKS_URL,
        json={
            "keys": [
                ec_jwk,
                {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                {**first_key, "kid": "for-encryption", "use": "enc"},
                {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
                {**first_key, "kid": None},
                "not a key",
                first_key,
            ]
        },
    )

    assert keys.signing_key("key-1").key_id == "key-1"
    for kid in ("ec", "hmac", "for-encryption", "broken"):
        with pytest.raises(UnknownSigningKey):
            keys.signing_key(kid)


def test_a_configuration_without_a_jwks_uri_is_a_response_error(keys, mock_http):
    mock_http.get(CONFIG_URL, json={"issuer": "x"})
    with pytest.raises(GraphResponseError, match="no jwks_uri"):
        keys.signing_key("key-1")


def test_a_key_set_without_keys_is_a_response_error(keys, key_endpoint):
    key_endpoint.get(JWKS_URL, json={"keys": "none"})
    with pytest.raises(GraphResponseError, match="no keys list"):
        keys.signing_key("key-1")


def test_a_failing_key_endpoint_is_not_retried_within_the_request(keys, mock_http, sleeps):
    mock_http.get(CONFIG_URL, status=503)
    with pytest.raises(GraphServiceError):
        keys.signing_key("key-1")
    assert len(mock_http.calls) == 1
    assert sleeps == []


def test_until_the_first_fetch_succeeds_it_is_tried_again_a_few_seconds_after_each_failure(
    keys, mock_http, first_key, clock
):
    mock_http.get(CONFIG_URL, body=connection_reset())
    with pytest.raises(GraphNetworkError):
        keys.signing_key("key-1")
    mock_http.replace("GET", CONFIG_URL, json={"jwks_uri": JWKS_URL})
    mock_http.get(JWKS_URL, json={"keys": [first_key]})
    clock.now += 4
    with pytest.raises(SigningKeysUnavailable, match=r"failed 4\.0 s ago .*connection reset"):
        keys.signing_key("key-1")
    assert len(mock_http.calls) == 1
    clock.now += 1
    assert keys.signing_key("key-1").key_id == "key-1"


def test_a_failed_refetch_keeps_the_keys_and_waits_for_the_interval(
    keys, mock_http, first_key, clock
):
    mock_http.get(CONFIG_URL, json={"jwks_uri": JWKS_URL})
    mock_http.get(JWKS_URL, json={"keys": [first_key]})
    keys.signing_key("key-1")
    mock_http.replace("GET", JWKS_URL, status=500)
    clock.now += 31
    with pytest.raises(GraphServiceError):
        keys.signing_key("key-2")
    with pytest.raises(UnknownSigningKey):
        keys.signing_key("key-2")
    assert keys.signing_key("key-1").key_id == "key-1"
    assert jwks_fetches(mock_http) == 2


def test_threads_asking_for_a_new_kid_share_one_fetch(keys, key_endpoint, first_key):
    def slow_jwks(request):
        time.sleep(0.05)
        return 200, {}, json.dumps({"keys": [first_key]})

    key_endpoint.add_callback("GET", JWKS_URL, callback=slow_jwks)
    found = []

    def look_up():
        found.append(keys.signing_key("key-1").key_id)

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert found == ["key-1"] * 8
    assert jwks_fetches(key_endpoint) == 1


def test_against_a_hanging_key_endpoint_one_request_waits_and_the_rest_are_told_at_once():
    with Host(hanging(), path="/") as host:
        keys = NotificationKeys(f"{host.base_url}/.well-known/OpenIdConfiguration", timeout=1.5)
        outcomes: list[tuple[str, float]] = []

        def verify(kid: str) -> None:
            started = time.monotonic()
            try:
                keys.signing_key(kid)
                outcome = "key"
            except SigningKeysUnavailable as err:
                outcome = f"unavailable: {err}"
            except GraphNetworkError:
                outcome = "timed out"
            outcomes.append((outcome, time.monotonic() - started))

        # Tokens from anyone, each naming a kid of its own.
        threads = [threading.Thread(target=verify, args=(f"made-up-{i}",)) for i in range(16)]
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        for thread in threads:
            thread.join()

        assert host.hits == 1
        timed_out = [took for outcome, took in outcomes if outcome == "timed out"]
        told = [(o, took) for o, took in outcomes if o.startswith("unavailable")]
        assert len(timed_out) == 1 and timed_out[0] == pytest.approx(1.5, abs=0.5)
        assert len(told) == 15
        assert all("being fetched for another request" in o for o, _ in told)
        assert max(took for _, took in told) < 0.5

        # Within the few seconds after the failure, no request makes a fetch.
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(
                SigningKeysUnavailable, match=r"failed .* s ago \(no answer before the timeout\)"
            ):
                keys.signing_key("made-up-again")
            assert time.monotonic() - started < 0.5
        assert host.hits == 1
