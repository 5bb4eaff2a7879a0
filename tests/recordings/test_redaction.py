from recordings.redaction import REDACTED, pretty_payload, redact


def test_credentials_are_redacted_at_any_depth():
    value = {"value": [{"resourceData": {"recordingAccessToken": "t", "status": "completed"}}]}
    assert redact(value) == {
        "value": [{"resourceData": {"recordingAccessToken": REDACTED, "status": "completed"}}]
    }


def test_text_that_is_not_json_is_redacted_by_pattern_and_known_secrets_everywhere():
    text = pretty_payload('{"access_token": "abc", "note": "xyz', secrets=["xyz"])
    assert "abc" not in text and "xyz" not in text
    assert f'"access_token": "{REDACTED}"' in text


def test_a_body_nested_too_deep_to_parse_is_shown_as_its_text():
    body = b'{"access_token": "abc", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    text = pretty_payload(body)
    assert text.startswith(f'{{"access_token": "{REDACTED}", "x": [[[')
    assert len(text) > 20_000


def test_nuls_and_unpaired_surrogates_are_shown_as_escapes_a_page_can_encode():
    text = pretty_payload(b'{"name": "\\ud800x", "note": "a\\u0000b"}')
    assert '"name": "\\ud800x"' in text
    assert '"note": "a\\u0000b"' in text
    assert text.encode("utf-8")
