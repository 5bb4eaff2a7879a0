import pytest

from graph_emulator.script import KEY_SECONDS, ScriptError, Step, parse_script


def test_it_parses_every_word():
    script = parse_script("interrupt 1.5; silence 1; SPEAK 2.5; press 12#a; hangup")
    assert script.interrupt_at == 1.5
    assert script.steps == (
        Step("silence", 1.0),
        Step("speak", 2.5),
        Step("press", 4 * KEY_SECONDS, "12#A"),
        Step("hangup"),
    )
    assert script.ends_call


def test_blank_words_and_an_empty_script_are_fine():
    assert parse_script("").steps == ()
    assert parse_script(" ; speak 1 ;; ").steps == (Step("speak", 1.0),)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sing 3", "Unknown step"),
        ("speak", "needs a number"),
        ("speak -1", "positive"),
        ("speak 0", "positive"),
        ("press 5X", "not DTMF keys"),
        ("press", "needs the keys"),
        ("speak 1; interrupt 2", "first step"),
        ("hangup; speak 1", "Nothing may follow 'hangup'"),
        ("stall; press 1", "Nothing may follow 'stall'"),
        ("hangup now", "takes no argument"),
        ("silence 99999", "at most"),
    ],
)
def test_it_refuses_a_bad_script_with_a_sentence(text, says):
    with pytest.raises(ScriptError, match=says):
        parse_script(text)
