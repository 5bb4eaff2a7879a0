"""WAV files made in memory, for uploads, fetches and the audio reader."""

import io
import struct
import wave


def wav_bytes(
    seconds: float = 0.5, *, rate: int = 16000, channels: int = 1, width: int = 2
) -> bytes:
    """A PCM WAV of `seconds` of a sawtooth: never silence, so a waveform has something
    to draw."""
    period = b"".join((i % 200 * 100 % 256**width).to_bytes(width, "little") for i in range(200))
    size = int(seconds * rate) * channels * width
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes((period * (size // len(period) + 1))[:size])
    return out.getvalue()


def with_data_size(data: bytes, size: int) -> bytes:
    """The WAV `data` with its data chunk's size field set to `size` (the header lying)."""
    at = data.index(b"data") + 4
    return data[:at] + struct.pack("<I", size) + data[at + 4 :]
