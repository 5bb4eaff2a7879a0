"""WAV in and out: the built-in prompts, the check Graph makes on a prompt, and the recording.

Everything is 16 kHz, mono, 16-bit PCM. Signals are built from short precomputed blocks
that repeat seamlessly (every frequency is a whole number of hertz over a one-second block),
so a 30-minute recording is byte slicing, not 28 million calls to sin().
"""

import io
import math
import random
import sys
import wave
from array import array
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path

from graph_emulator.engine import Segment

RATE = 16000
SAMPLE_BYTES = 2
BLOCK = RATE  # one second
KEY_TONE_SECONDS = 0.16  # of each 0.2 s key press; the rest is the gap between keys
MAX_TONE_MS = 120_000

DTMF_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}  # fmt: skip


class PromptError(ValueError):
    pass


def _pcm(samples: Sequence[float]) -> bytes:
    data = array("h", (max(-32767, min(32767, round(s))) for s in samples))
    if sys.byteorder == "big":
        data.byteswap()  # WAV is little-endian
    return data.tobytes()


@cache
def _speech_block() -> bytes:
    # A voice-like signal: a 130 Hz glottal pulse train (harmonics falling off, lifted
    # around two formants) under a syllable envelope of four syllables a second.
    f0 = 130
    weights = []
    for k in range(1, 25):
        f = k * f0
        formants = (
            1.0
            + 2.5 * math.exp(-(((f - 600) / 200) ** 2))
            + 1.5 * math.exp(-(((f - 1700) / 300) ** 2))
        )
        weights.append((k, formants / k))
    norm = sum(w for _, w in weights)
    samples = []
    for n in range(BLOCK):
        t = n / RATE
        voice = sum(w * math.sin(2 * math.pi * k * f0 * t + k) for k, w in weights) / norm
        envelope = 0.15 + 0.85 * abs(math.sin(4 * math.pi * t)) ** 0.7
        samples.append(9000 * envelope * voice * 2.2)
    return _pcm(samples)


@cache
def _silence_block() -> bytes:
    # Near-silence: line noise a few bits deep, not digital zero (that is "no media").
    rng = random.Random(RATE)
    return _pcm([rng.gauss(0, 12) for _ in range(BLOCK)])


@cache
def _tone_block(frequency: int, amplitude: float = 8000.0) -> bytes:
    return _pcm([amplitude * math.sin(2 * math.pi * frequency * n / RATE) for n in range(BLOCK)])


@cache
def dtmf_key(key: str) -> bytes:
    """0.2 s for one key: 0.16 s of its two tones, then a short gap."""
    low, high = DTMF_FREQUENCIES[key]
    tone = round(KEY_TONE_SECONDS * RATE)
    gap = round(0.2 * RATE) - tone
    samples = [
        7000 * math.sin(2 * math.pi * low * n / RATE)
        + 7000 * math.sin(2 * math.pi * high * n / RATE)
        for n in range(tone)
    ]
    return _pcm(samples) + bytes(gap * SAMPLE_BYTES)


def _repeat(block: bytes, offset: int, count: int) -> Iterator[bytes]:
    """`count` samples of `block` repeated, starting `offset` samples in."""
    length = len(block) // SAMPLE_BYTES
    pos = offset % length
    while count > 0:
        take = min(count, length - pos)
        yield block[pos * SAMPLE_BYTES : (pos + take) * SAMPLE_BYTES]
        count -= take
        pos = 0


def _segment_pcm(segment: Segment, offset: int, count: int) -> Iterator[bytes]:
    if segment.kind == "speech":
        yield from _repeat(_speech_block(), offset, count)
    elif segment.kind == "dtmf":
        # A key starts its own tone; a key cut by a hang-up keeps its beginning.
        key = dtmf_key(segment.key)
        yield key[: count * SAMPLE_BYTES]
        if count * SAMPLE_BYTES > len(key):
            yield bytes(count * SAMPLE_BYTES - len(key))
    elif segment.kind == "nomedia":
        yield from _repeat(bytes(BLOCK * SAMPLE_BYTES), 0, count)
    else:
        yield from _repeat(_silence_block(), offset, count)


def recording_chunks(segments: Sequence[Segment], start: float) -> Iterator[bytes]:
    """The PCM of a recording that starts at `start` (same clock as the segments)."""
    for segment in segments:
        # From absolute positions, so the pieces add up exactly to the whole.
        first = round((segment.start - start) * RATE)
        last = round((segment.end - start) * RATE)
        if last > first:
            yield from _segment_pcm(segment, first, last - first)


def speech_chunks(frames: int) -> Iterator[bytes]:
    """`frames` of the speech signal, a block at a time (for long made-up recordings)."""
    return _repeat(_speech_block(), 0, frames)


def write_wav(path: Path, chunks: Iterator[bytes] | Sequence[bytes]) -> int:
    """Write PCM chunks as a 16 kHz mono 16-bit WAV; returns the number of frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(RATE)
        for chunk in chunks:
            out.writeframesraw(chunk)
            frames += len(chunk) // SAMPLE_BYTES
    return frames


def wav_bytes(chunks: Iterator[bytes] | Sequence[bytes]) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(RATE)
        for chunk in chunks:
            out.writeframesraw(chunk)
    return buffer.getvalue()


@cache
def beep_wav() -> bytes:
    """Graph's beep: 0.5 s of 1 kHz."""
    return wav_bytes(_repeat(_tone_block(1000), 0, RATE // 2))


def tone_wav(ms: int) -> bytes:
    """A 440 Hz tone of `ms` milliseconds, a sample prompt of known length."""
    if not 1 <= ms <= MAX_TONE_MS:
        raise ValueError(f"A tone lasts 1 to {MAX_TONE_MS} ms.")
    return wav_bytes(_repeat(_tone_block(440), 0, round(ms * RATE / 1000)))


def prompt_seconds(data: bytes) -> float:
    """How long a prompt plays, or PromptError saying why Graph could not play it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise PromptError("it is not a RIFF/WAVE file")
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.getnframes()
    except (wave.Error, EOFError) as err:
        raise PromptError(f"it is not a PCM WAV file ({err})") from err
    if (channels, width, rate) != (1, SAMPLE_BYTES, RATE):
        raise PromptError(
            f"it is {channels} channel(s), {width * 8}-bit, {rate} Hz; "
            "Graph plays mono 16-bit PCM at 16 kHz"
        )
    if frames == 0:
        raise PromptError("it holds no audio")
    return frames / RATE
