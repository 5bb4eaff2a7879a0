"""The control route that makes a long recording at once, for download benchmarks."""

import io
import wave
from urllib.parse import urlsplit


def make(client, body) -> object:
    return client.post("/emulator/control/recordings", body, content_type="application/json")


def test_it_makes_a_recording_of_the_asked_length_served_behind_its_token(client, emulator):
    made = make(client, {"seconds": 90})
    assert made.status_code == 201
    data = made.json()
    assert data["seconds"] == 90
    assert data["bytes"] == 44 + 90 * 16000 * 2
    assert data["recordingLocation"].endswith(f"/emulator/recordings/{data['id']}")

    path = urlsplit(data["recordingLocation"]).path
    assert client.get(path).status_code == 401
    answer = client.get(path, HTTP_AUTHORIZATION=f"Bearer {data['recordingAccessToken']}")
    assert answer.status_code == 200
    with wave.open(io.BytesIO(b"".join(answer.streaming_content))) as audio:
        facts = (audio.getframerate(), audio.getnchannels(), audio.getsampwidth())
        assert facts == (16000, 1, 2)
        assert audio.getnframes() == 90 * 16000


def test_it_refuses_a_length_out_of_range(client, emulator):
    assert make(client, {"seconds": 0}).status_code == 400
    assert make(client, {"seconds": 14401}).status_code == 400
    assert make(client, {"seconds": "long"}).status_code == 400
    assert client.get("/emulator/control/recordings").status_code == 405
