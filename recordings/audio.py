"""Reading WAV files: the facts Recorder keeps about a recording, and the checks a prompt
must pass before Graph can play it. One reader serves both.

The facts come from the bytes that are there, never from the header alone: a header can
promise hours of audio in a file of a few bytes. The reader walks the RIFF chunks itself
(the RIFF size is not trusted either) and bounds everything by where the file ends.
"""

import array
import io
import math
import struct
import sys
import wave
from dataclasses import dataclass, field
from typing import BinaryIO

# What Graph plays as a prompt: WAV, mono, 16-bit PCM, 16 kHz.
PROMPT_SAMPLE_RATE = 16000
PROMPT_CHANNELS = 1
PROMPT_SAMPLE_WIDTH = 2

# What a writer that streams a WAV puts in the data chunk's size, having no way back to the
# header to write the real one: 0, or 0xFFFFFFFF (ffmpeg's choice, "as long as it goes").
STREAMING_PLACEHOLDER_SIZES = (0, 0xFFFFFFFF)

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# WAVE_FORMAT_EXTENSIBLE's sub-format for integer PCM (KSDATAFORMAT_SUBTYPE_PCM).
_SUBTYPE_PCM = b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FORMAT_NAMES = {
    0x0002: "ADPCM",
    0x0003: "IEEE float",
    0x0006: "A-law",
    0x0007: "µ-law",
    0x0011: "IMA ADPCM",
    0x0055: "MP3",
}


class NotWav(ValueError):
    """The bytes are not a WAV file Recorder can read; the message says what they are."""


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    sample_width_bytes: int
    frames: int
    # Where the audio starts in the file that was read (the data chunk's first byte).
    data_offset: int = field(default=0, compare=False, repr=False)

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_width_bytes

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


def inspect_wav(fileobj: BinaryIO, *, allow_streaming_placeholder: bool = True) -> WavInfo:
    """Read a WAV's format and count the audio frames actually in `fileobj`, from where it
    stands (and leave it there).

    Refused (NotWav, saying why): anything but RIFF/WAVE with integer PCM; a file cut short
    inside a chunk, or whose data chunk promises more bytes than follow.

    `allow_streaming_placeholder` accepts a data size of 0 or 0xFFFFFFFF followed by audio,
    counting the bytes that are there. A recording fetched from Graph may legitimately carry
    one: a recording streamed while it is made is written before its length is known, and
    the audio present is all there is. An upload passes False: a prompt is a finished file
    an operator can export again, and Graph, playing it, trusts its header's length.
    """
    start = fileobj.tell()
    try:
        return _read_wav(fileobj, start, allow_streaming_placeholder)
    finally:
        fileobj.seek(start)


def _read_wav(fileobj: BinaryIO, start: int, allow_streaming_placeholder: bool) -> WavInfo:
    end = fileobj.seek(0, io.SEEK_END)
    fileobj.seek(start)
    head = fileobj.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise NotWav(f"The file is {_sniff(head)}: a RIFF/WAVE file is needed.")
    fmt: tuple[int, int, int] | None = None
    position = start + 12
    while True:
        fileobj.seek(position)
        header = fileobj.read(8)
        if len(header) < 8:
            missing = "format (fmt)" if fmt is None else "audio (data)"
            raise NotWav(f"The WAV file ends without its {missing} chunk: it is cut short.")
        name, size = header[:4], struct.unpack("<I", header[4:])[0]
        body_at = position + 8
        if name == b"data":
            break
        if body_at + size > end:
            raise NotWav(
                f"The WAV file is cut short: its {name.decode('latin-1')!r} chunk claims "
                f"{size:,} bytes, but only {end - body_at:,} follow."
            )
        if name == b"fmt ":
            fmt = _read_format(fileobj.read(size))
        position = body_at + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        raise NotWav("The WAV file's audio comes before its format (fmt) chunk: it can't be read.")
    present = end - body_at
    if size in STREAMING_PLACEHOLDER_SIZES and allow_streaming_placeholder:
        length = present
    elif size in STREAMING_PLACEHOLDER_SIZES and present:
        raise NotWav(
            f"The WAV file's header gives its audio no length ({size:#x}, a placeholder left "
            f"by a program that streamed it), though {present:,} bytes follow: save it as a "
            "complete file."
        )
    elif size > present:
        raise NotWav(
            f"The WAV file's header promises {size:,} bytes of audio, but only {present:,} "
            "follow: the file is cut short or its header is wrong."
        )
    else:
        length = size
    sample_rate, channels, sample_width = fmt
    return WavInfo(
        sample_rate=sample_rate,
        channels=channels,
        sample_width_bytes=sample_width,
        frames=length // (channels * sample_width),
        data_offset=body_at,
    )


def _read_format(body: bytes) -> tuple[int, int, int]:
    """(sample rate, channels, bytes a sample) from a fmt chunk; NotWav unless integer PCM."""
    if len(body) < 16:
        raise NotWav("The WAV file's format (fmt) chunk is too short to describe its audio.")
    tag, channels, rate, _byte_rate, _block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _WAVE_FORMAT_EXTENSIBLE:
        if body[24:40] != _SUBTYPE_PCM:
            raise NotWav("The WAV file's audio is not integer PCM (its extended format says so).")
    elif tag != _WAVE_FORMAT_PCM:
        encoding = _FORMAT_NAMES.get(tag, f"format {tag:#06x}")
        raise NotWav(f"The WAV file's audio is {encoding}, not integer PCM.")
    width = (bits + 7) // 8
    if not (channels and rate and width):
        raise NotWav(
            f"The WAV file's format is impossible ({channels} channels, {rate} Hz, "
            f"{bits}-bit): its header is damaged."
        )
    return rate, channels, width


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
# array typecodes for the PCM sample widths drawn (8-bit WAV is unsigned).
_SAMPLE_TYPES = {1: "B", 2: "h", 4: "i"}


# The level of a recording, in dB relative to full scale, where digital silence is put.
DBFS_FLOOR = -120.0


@dataclass(frozen=True)
class Waveform:
    """The drawing of a recording and its level: peak and RMS in dBFS (DBFS_FLOOR for
    digital silence), None for audio it can't measure."""

    svg: str = ""
    peak_dbfs: float | None = None
    rms_dbfs: float | None = None


def dbfs(fraction: float) -> float:
    """A level as a fraction of full scale, in dBFS (never below DBFS_FLOOR)."""
    if fraction <= 0:
        return DBFS_FLOOR
    return max(DBFS_FLOOR, round(20 * math.log10(fraction), 1))


def waveform_svg(fileobj: BinaryIO, *, columns: int = WAVEFORM_COLUMNS) -> str:
    """The SVG of measure_waveform."""
    return measure_waveform(fileobj, columns=columns).svg


def measure_waveform(fileobj: BinaryIO, *, columns: int = WAVEFORM_COLUMNS) -> Waveform:
    """An inline SVG of the recording's loudness over time, and its level: one vertical
    stroke a column, from the column's lowest sample to its highest, scaled to full scale,
    so that a silent recording looks silent and a quiet one quiet.

    Computed once when the file is stored, reading it a column at a time, so a long
    recording never sits in memory whole; a long column is measured on an even stride of
    its samples. Empty for audio it can't draw (no frames, 24-bit samples).
    """
    info = inspect_wav(fileobj)
    typecode = _SAMPLE_TYPES.get(info.sample_width_bytes)
    if typecode is None or info.frames == 0:
        return Waveform()
    start = fileobj.tell()
    spans: list[tuple[int, int]] = []
    squares = 0.0
    counted = 0
    try:
        # The frames inspect_wav counted, read from the data chunk itself: its header's
        # size may be a streaming placeholder.
        fileobj.seek(info.data_offset)
        per_column = -(-info.frames // columns)  # ceiling
        remaining = info.frames
        width = info.sample_width_bytes
        while remaining > 0 and (
            frames := fileobj.read(min(per_column, remaining) * info.frame_bytes)
        ):
            remaining -= per_column
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
            offset = 128 if typecode == "B" else 0
            spans.append((min(samples) - offset, max(samples) - offset))
            # Σ(s - offset)² as Σs² - 2·offset·Σs + n·offset², each summed in C: exact,
            # as the numbers are integers, and several times faster than a generator.
            n = len(samples)
            squares += math.sumprod(samples, samples)
            if offset:
                squares += n * offset**2 - 2 * offset * sum(samples)
            counted += n
    finally:
        fileobj.seek(start)
    # Full scale of the sample width: 8-bit audio swings 128 either way of its middle.
    full = 128 if typecode == "B" else 2 ** (8 * info.sample_width_bytes - 1) - 1
    peak = max(max(-low, high) for low, high in spans)
    middle = WAVEFORM_HEIGHT / 2
    strokes = []
    for x, (low, high) in enumerate(spans):
        top = middle - min(high / full, 1) * middle
        bottom = middle - max(low / full, -1) * middle
        # A silent column still shows as a thin line, so the player's timeline reads.
        if bottom - top < 0.5:
            top, bottom = middle - 0.25, middle + 0.25
        strokes.append(f"M{x + 0.5:g} {top:.1f}V{bottom:.1f}")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(spans)} {WAVEFORM_HEIGHT}" '
        f'preserveAspectRatio="none" aria-hidden="true" focusable="false">'
        f'<path d="{"".join(strokes)}" stroke="currentColor" stroke-width="1" fill="none"/>'
        "</svg>"
    )
    rms = math.sqrt(squares / counted) if counted else 0.0
    return Waveform(svg=svg, peak_dbfs=dbfs(peak / full), rms_dbfs=dbfs(rms / full))


def chime_wav(notes: tuple[float, ...] = (659.25, 523.25), *, note_seconds: float = 0.45) -> bytes:
    """A soft two-tone chime (E5 then C5) as a WAV Graph can play: 16 kHz mono 16-bit PCM.

    Made from the samples, so a fresh install has a prompt to try without any audio tool.
    Each note fades in and decays, at a third of full scale, so it is pleasant on a phone.
    """
    rate = PROMPT_SAMPLE_RATE
    frames = array.array("h")
    per_note = int(rate * note_seconds)
    attack = int(rate * 0.01)
    for frequency in notes:
        for n in range(per_note):
            envelope = min(1.0, n / attack) * math.exp(-4.0 * n / per_note)
            frames.append(int(11000 * envelope * math.sin(2 * math.pi * frequency * n / rate)))
    frames.extend([0] * int(rate * 0.2))
    if sys.byteorder == "big":
        frames.byteswap()  # WAV is little-endian
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(PROMPT_CHANNELS)
        writer.setsampwidth(PROMPT_SAMPLE_WIDTH)
        writer.setframerate(rate)
        writer.writeframes(frames.tobytes())
    return out.getvalue()
