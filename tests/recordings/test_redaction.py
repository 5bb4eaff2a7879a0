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
