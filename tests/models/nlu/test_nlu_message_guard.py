"""The guard cuts huge messages and stands in for blank ones before tokenization."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from models.nlu.message_guard import BLANK_FLAG, BlankMessageClassifier, MessageGuard


def _msg(text: str) -> Message:
    return Message(data={"text": text})


def test_huge_message_is_cut() -> None:
    guard = MessageGuard({"max_chars": 50})
    [message] = guard.process([_msg("x" * 100_000)])
    assert message.get("text") == "x" * 50
    assert not message.get(BLANK_FLAG)


def test_blank_message_gets_a_stand_in_and_out_of_scope() -> None:
    guard = MessageGuard({})
    messages = guard.process([_msg(""), _msg("  \n\t "), _msg("where is my order")])
    assert [m.get("text") for m in messages[:2]] == ["blank", "blank"]
    assert messages[2].get("text") == "where is my order"
    out = BlankMessageClassifier({}).process(messages)
    assert out[0].get("intent")["name"] == "out_of_scope"
    assert out[0].get("intent")["confidence"] == 1.0
    assert out[2].get("intent") is None  # normal messages keep what DIET said


def test_config_puts_the_guard_first() -> None:
    import yaml

    from shopbot.config import PROJECT_ROOT

    config = yaml.safe_load((PROJECT_ROOT / "bot" / "config.yml").read_text())
    names = [c["name"] for c in config["pipeline"]]
    assert names[0] == "models.nlu.message_guard.MessageGuard"
    # the blank-message classifier overrides whatever the classifiers and the fallback said;
    # only the spelling restorer (which puts the typed text back) may come after it
    blank = names.index("models.nlu.message_guard.BlankMessageClassifier")
    assert blank > names.index("FallbackClassifier")
    assert names[blank + 1 :] in ([], ["models.nlu.spelling.SpellingRestorer"])
