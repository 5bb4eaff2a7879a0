"""The waveform drawn once when a recording is stored."""

import io
import math
import struct
import wave

from recordings import display
from recordings.audio import DBFS_FLOOR, WAVEFORM_HEIGHT, measure_waveform, waveform_svg


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


def test_it_draws_one_stroke_a_column_scaled_to_full_scale():
    quiet_then_loud = [0] * 16000 + [int(32000 * math.sin(i / 5)) for i in range(16000)]
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
    quiet_then_loud = [0] * 16000 + [32000, -32000] * 8000
    data = wav(quiet_then_loud).getvalue()
    at = data.index(b"data") + 4
    streamed = io.BytesIO(data[:at] + struct.pack("<I", 0) + data[at + 4 :])
    drawn = heights(waveform_svg(streamed, columns=10))
    assert len(drawn) == 10
    assert max(drawn[:5]) < 1
    assert min(drawn[5:]) > WAVEFORM_HEIGHT * 0.9


def test_a_quiet_recording_is_drawn_quiet_not_to_its_own_peak():
    # -57 dBFS: 46 of 32767 is -57.1.
    drawn = heights(waveform_svg(wav([46, -46] * 8000), columns=10))
    assert max(drawn) < 1


def test_half_scale_is_drawn_half_height():
    drawn = heights(waveform_svg(wav([16384, -16384] * 8000), columns=10))
    assert all(abs(height - WAVEFORM_HEIGHT / 2) < 1 for height in drawn)


def test_it_measures_the_peak_and_rms_level_in_dbfs():
    measured = measure_waveform(wav([46, -46] * 8000), columns=10)
    assert measured.peak_dbfs == -57.1
    assert measured.rms_dbfs == -57.1
    assert display.level_text(measured.peak_dbfs, measured.rms_dbfs) == (
        "Very quiet (peak -57 dBFS, RMS -57 dBFS)"
    )


def test_8_bit_levels_are_measured_about_the_middle_of_the_scale():
    # 8-bit samples are unsigned, 128 their silence: 64 either side of it is half scale,
    # -6.0 dBFS at its peak and in RMS alike; the middle itself is silence.
    measured = measure_waveform(wav([192, 64] * 8000, width=1), columns=10)
    assert (measured.peak_dbfs, measured.rms_dbfs) == (-6.0, -6.0)
    silent = measure_waveform(wav([128] * 16000, width=1), columns=10)
    assert (silent.peak_dbfs, silent.rms_dbfs) == (DBFS_FLOOR, DBFS_FLOOR)


def test_digital_silence_reads_as_silent():
    measured = measure_waveform(wav([0] * 16000), columns=10)
    assert measured.peak_dbfs == DBFS_FLOOR
    assert display.level_text(measured.peak_dbfs, measured.rms_dbfs) == (
        "Silent (peak digital silence, RMS digital silence)"
    )


def test_speech_level_audio_reads_as_audible():
    tone = [int(16000 * math.sin(i / 5)) for i in range(16000)]
    measured = measure_waveform(wav(tone), columns=10)
    assert measured.peak_dbfs == -6.2
    assert -10 < measured.rms_dbfs < -8
    assert display.level_text(measured.peak_dbfs, measured.rms_dbfs).startswith("Audible (")
