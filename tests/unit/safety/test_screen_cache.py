"""The process-wide screen keeps its latest results: the same text is not screened twice."""
import importlib

from bot.safety import screen

screen_module = importlib.import_module("bot.safety.screen")


def test_a_text_screened_again_gets_the_kept_assessment_and_failures_are_not_kept(monkeypatch):
    first = screen("i gave my cat away, i wont need to feed her")
    assert first.level != "none"
    assert screen("i gave my cat away, i wont need to feed her") is first

    calls = []

    def failing(text):
        calls.append(text)
        return screen_module.SCREEN_ERROR

    monkeypatch.setattr(screen_module, "_default", failing)
    screen("a text never screened before, 81c2")
    screen("a text never screened before, 81c2")
    assert calls == ["a text never screened before, 81c2"] * 2
