"""The waveform drawn once when a recording is stored."""

import io
import math
import struct
import wave

from recordings.audio import WAVEFORM_HEIGHT, waveform_svg


def wav(samples: list[int], width: int = 2, rate: int = 16000) -> io.BytesIO:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        fmt = {1: "B", 2: "h"}[width]
        w.writeframes(struct.pack(f"<{len(samples)}{fmt}", *samples))
    out.seek(0)
    return out


def heights(svg: str) -> list[float]:
    path = svg.split(' d="', 1)[1].split('"', 1)[0]
    strokes = [s for s in path.split("M") if s]
    return [float(s.split("V")[1]) - float(s.split(" ")[1].split("V")[0]) for s in strokes]


def test_it_draws_one_stroke_a_column_scaled_to_the_loudest():
    quiet_then_loud = [0] * 16000 + [int(20000 * math.sin(i / 5)) for i in range(16000)]
    svg = waveform_svg(wav(quiet_then_loud), columns=100)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    drawn = heights(svg)
    assert len(drawn) == 100
    assert max(drawn[:49]) < 1
    assert min(drawn[51:]) > WAVEFORM_HEIGHT * 0.9


def test_it_leaves_the_file_where_it_was():
    data = wav([100, -100] * 1000)
    data.seek(0)
    waveform_svg(data)
    assert data.tell() == 0


def test_it_reads_8_bit_audio_as_unsigned():
    svg = waveform_svg(wav([128] * 500 + [255, 0] * 500, width=1), columns=10)
    drawn = heights(svg)
    assert drawn[0] < 1
    assert drawn[-1] > WAVEFORM_HEIGHT * 0.9


def test_an_empty_recording_has_no_waveform():
    assert waveform_svg(wav([])) == ""


def test_a_streamed_recording_without_its_length_in_the_header_is_drawn_whole():
    quiet_then_loud = [0] * 16000 + [20000, -20000] * 8000
    data = wav(quiet_then_loud).getvalue()
    at = data.index(b"data") + 4
    streamed = io.BytesIO(data[:at] + struct.pack("<I", 0) + data[at + 4 :])
    drawn = heights(waveform_svg(streamed, columns=10))
    assert len(drawn) == 10
    assert max(drawn[:5]) < 1
    assert min(drawn[5:]) > WAVEFORM_HEIGHT * 0.9
