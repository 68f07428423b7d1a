"""Follow-up questions: the rule that decides (bot.followup) and the bounded memory (bot.memory)."""

from __future__ import annotations

import pytest

from bot import followup
from bot.memory import ConversationMemory

FIRST = "Why did Iran open a criminal case against Pavel Durov?"


@pytest.mark.parametrize("message", [
    "Why?", "and Russia?", "And what did Russia do?", "What about 2020?", "Who ordered it?",
    "Russia?", "Which two federal laws make it up?", "When was that?",
    "Почему?", "А Россия?", "Кто это приказал?", "Как насчёт 2020 года?",
    "چرا؟", "و روسیه؟", "چه کسی آن را دستور داد؟",
])
def test_elliptical_or_referring_messages_are_read_with_the_previous_question(message: str) -> None:
    reading = followup.read(message, FIRST)
    assert reading.joined and reading.question == reading.read_as == f"{FIRST} {message}"


@pytest.mark.parametrize("message", [
    "Who is Pavel Durov?", "How did Telegram respond when Russia blocked it?",
    "What emblem did Durov suggest for his movement?", "When did Roskomnadzor lift the ban on Telegram?",
    "Когда Роскомнадзор снял блокировку Telegram?", "کدام شرکت ایرانی هات‌گرام و طلاگرام را ساخت؟",
])
def test_questions_that_stand_alone_are_asked_as_typed(message: str) -> None:
    reading = followup.read(message, FIRST)
    assert not reading.joined and reading.question == message and reading.read_as == ""


def test_without_a_previous_question_nothing_is_joined() -> None:
    assert followup.read("Why?", None) == followup.Reading("Why?")


def test_memory_keeps_a_few_questions_per_conversation_and_forgets_when_idle() -> None:
    now = [0.0]
    memory = ConversationMemory(turns=2, idle_seconds=60, conversations=2, clock=lambda: now[0])
    memory.remember(("room1", "direct"), "first")
    memory.remember(("room1", "direct"), "second")
    memory.remember(("room2", "direct"), "elsewhere")
    assert memory.previous(("room1", "direct")) == "second"
    assert memory.previous(("room2", "direct")) == "elsewhere"
    assert memory.previous(("room3", "direct")) is None  # never another room's
    memory.remember(("room3", "direct"), "third room")  # over 2 conversations: the oldest goes
    assert memory.previous(("room1", "direct")) is None
    now[0] = 61
    assert memory.previous(("room3", "direct")) is None  # idle too long


def test_answers_and_questions_lead_back_to_their_conversation() -> None:
    memory = ConversationMemory()
    memory.link(("room1", "$answer"), ("room1", "$question"))
    assert memory.conversation_of(("room1", "$answer")) == ("room1", "$question")
    assert memory.conversation_of(("room2", "$answer")) is None
