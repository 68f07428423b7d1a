"""What kind of answer a question asks, and whether a text holds one (index.search.answer_types), in the three
languages casebot reads."""

from __future__ import annotations

import pytest

from index.search.answer_types import AMOUNT, DATE, NAME, asked_kind, holds


@pytest.mark.parametrize(("question", "kind"), [
    ("When did Iran ban Telegram?", DATE),
    ("In what year was Yarovaya's law passed?", DATE),
    ("How much was Telegram fined in October 2017?", AMOUNT),
    ("How many people in Iran use Telegram?", AMOUNT),
    ("Who ordered the block?", NAME),
    ("Which court rejected the appeal?", NAME),
    ("Why was Telegram blocked?", None),
    ("What did Durov say about encryption?", None),
    ("When was it fined, and how much?", None),  # two kinds: not checked
    ("Когда Роскомнадзор заблокировал Telegram?", DATE),
    ("Сколько составил штраф?", AMOUNT),
    ("Кто подписал приказ ФСБ?", NAME),
    ("Какой суд отклонил жалобу?", NAME),
    ("چه زمانی تلگرام در ایران فیلتر شد؟", DATE),
    ("چند نفر در ایران از تلگرام استفاده می‌کنند؟", AMOUNT),
    ("چه کسی دستور فیلتر تلگرام را داد؟", NAME),
])
def test_the_kind_of_answer_a_question_asks(question: str, kind: str | None) -> None:
    assert asked_kind(question) == kind


@pytest.mark.parametrize(("kind", "text", "expected"), [
    (DATE, "On September 26 Iranian authorities opened a criminal case.", True),
    (DATE, "The judge ruled in 2018 that the block was lawful.", True),
    (DATE, "The court ruled against the messenger and upheld the block.", False),
    (DATE, "Суд вынес решение 13 апреля 2018 года.", True),
    (DATE, "۲۱ فروردین ۱۳۹۷ دادسرا دستور داد", True),
    (DATE, "Суд отклонил жалобу мессенджера.", False),
    (AMOUNT, "The court fined Telegram 800,000 rubles.", True),
    (AMOUNT, "Around 40 million people in Iran use Telegram.", True),
    (AMOUNT, "On 26 September 2017 the court ruled.", False),  # a date, not a figure
    (AMOUNT, "Штраф составил 800 тыс. руб.", True),
    (AMOUNT, "حدود ۴۰ میلیون نفر", True),
    (AMOUNT, "The messenger refused to hand over its keys.", False),
    (NAME, "The appeal was heard by judge Yulia Danilchik.", True),
    (NAME, "the court upheld the fine and the block.", False),
    (NAME, "دادگاه حکم داد", True),  # Persian has no capitals: any Persian text may hold a name
])
def test_whether_a_text_holds_an_answer_of_a_kind(kind: str, text: str, expected: bool) -> None:
    assert holds(kind, text) is expected
