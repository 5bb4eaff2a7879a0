"""Reading WAV files: the facts Recorder keeps about a recording, and the checks a prompt
must pass before Graph can play it. One reader serves both."""

import array
import sys
import wave
from dataclasses import dataclass
from typing import BinaryIO

# What Graph plays as a prompt: WAV, mono, 16-bit PCM, 16 kHz.
PROMPT_SAMPLE_RATE = 16000
PROMPT_CHANNELS = 1
PROMPT_SAMPLE_WIDTH = 2


class NotWav(ValueError):
    """The bytes are not a WAV file Recorder can read; the message says what they are."""


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    sample_width_bytes: int
    frames: int

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def duration_ms(self) -> int:
        return round(self.duration_seconds * 1000)

    def describe(self) -> str:
        channels = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} channels")
        return (
            f"{self.sample_width_bytes * 8}-bit PCM, {channels}, "
            f"{self.sample_rate / 1000:g} kHz, {self.duration_seconds:.1f} s"
        )


def _sniff(head: bytes) -> str:
    """Name what a file that is not RIFF/WAVE seems to be, for the operator's message."""
    signatures = {
        b"ID3": "an MP3 file",
        b"\xff\xfb": "an MP3 file",
        b"OggS": "an Ogg file",
        b"fLaC": "a FLAC file",
        b"%PDF": "a PDF document",
        b"\x89PNG": "a PNG image",
        b"PK\x03\x04": "a ZIP archive",
    }
    for signature, name in signatures.items():
        if head.startswith(signature):
            return name
    if head[4:8] == b"ftyp":
        return "an MP4/M4A file"
    if head.startswith(b"RIFF"):
        return f"a RIFF file of type {head[8:12].decode('latin-1')!r}, not WAVE"
    return "not a WAV file"


def inspect_wav(fileobj: BinaryIO) -> WavInfo:
    """Read a WAV header from the start of `fileobj` (left where it was found)."""
    start = fileobj.tell()
    head = fileobj.read(12)
    fileobj.seek(start)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise NotWav(f"The file is {_sniff(head)}: a RIFF/WAVE file is needed.")
    try:
        with wave.open(fileobj, "rb") as wav:
            info = WavInfo(
                sample_rate=wav.getframerate(),
                channels=wav.getnchannels(),
                sample_width_bytes=wav.getsampwidth(),
                frames=wav.getnframes(),
            )
    except (wave.Error, EOFError) as err:
        # The wave module reads PCM only: anything else (float, A-law, ADPCM) lands here.
        raise NotWav(f"The WAV file can't be read as PCM audio ({err}).") from err
    finally:
        fileobj.seek(start)
    return info


def prompt_problems(info: WavInfo) -> list[str]:
    """Why Graph could not play this WAV as a prompt; empty when it can."""
    problems = []
    if info.sample_width_bytes != PROMPT_SAMPLE_WIDTH:
        problems.append(f"it is {info.sample_width_bytes * 8}-bit; 16-bit PCM is needed")
    if info.channels != PROMPT_CHANNELS:
        problems.append(f"it has {info.channels} channels; mono is needed")
    if info.sample_rate != PROMPT_SAMPLE_RATE:
        problems.append(f"it is sampled at {info.sample_rate} Hz; 16 kHz is needed")
    if info.frames == 0:
        problems.append("it holds no audio")
    return problems


# Columns of the waveform: enough for the operation page's width, small enough to inline.
WAVEFORM_COLUMNS = 600
WAVEFORM_HEIGHT = 60
# The most samples one column's stroke is measured on (see waveform_svg).
WAVEFORM_SAMPLES_PER_COLUMN = 1024
# array typecodes for the PCM sample widths `wave` reads (8-bit WAV is unsigned).
_SAMPLE_TYPES = {1: "B", 2: "h", 4: "i"}


def waveform_svg(fileobj: BinaryIO, *, columns: int = WAVEFORM_COLUMNS) -> str:
    """An inline SVG of the recording's loudness over time: one vertical stroke a column,
    from the column's lowest sample to its highest, scaled to the loudest.

    Computed once when the file is stored, reading it a column at a time, so a long
    recording never sits in memory whole; a long column is measured on an even stride of
    its samples. Empty for audio it can't draw (no frames,
    24-bit samples).
    """
    info = inspect_wav(fileobj)
    typecode = _SAMPLE_TYPES.get(info.sample_width_bytes)
    if typecode is None or info.frames == 0:
        return ""
    start = fileobj.tell()
    spans: list[tuple[int, int]] = []
    try:
        with wave.open(fileobj, "rb") as wav:
            per_column = -(-info.frames // columns)  # ceiling
            width = info.sample_width_bytes
            while frames := wav.readframes(per_column):
                # A view of the column's samples, not a copy: a long recording is hundreds
                # of megabytes, and copying it twice more costs more than drawing it.
                samples = memoryview(frames)[: len(frames) // width * width].cast(typecode)
                if len(samples) > WAVEFORM_SAMPLES_PER_COLUMN:
                    # min/max box every sample in Python: seconds for an hour of audio.
                    # An even stride through the column draws the same picture at this size.
                    samples = samples[:: len(samples) // WAVEFORM_SAMPLES_PER_COLUMN]
                if sys.byteorder == "big":
                    swapped = array.array(typecode, samples.tobytes())
                    swapped.byteswap()  # WAV is little-endian
                    samples = swapped
                if typecode == "B":
                    spans.append((min(samples) - 128, max(samples) - 128))
                else:
                    spans.append((min(samples), max(samples)))
    finally:
        fileobj.seek(start)
    peak = max(1, *(max(-low, high) for low, high in spans))
    middle = WAVEFORM_HEIGHT / 2
    strokes = []
    for x, (low, high) in enumerate(spans):
        top = middle - high / peak * middle
        bottom = middle - low / peak * middle
        # A silent column still shows as a thin line, so the player's timeline reads.
        if bottom - top < 0.5:
            top, bottom = middle - 0.25, middle + 0.25
        strokes.append(f"M{x + 0.5:g} {top:.1f}V{bottom:.1f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(spans)} {WAVEFORM_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="Waveform of the recording">'
        f'<path d="{"".join(strokes)}" stroke="currentColor" stroke-width="1" fill="none"/>'
        "</svg>"
    )
