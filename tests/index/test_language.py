"""Documents and questions in Russian and Persian: languages recorded, sentences and words read per
language, names matched across scripts; no model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.text.calendars import ascii_digits, gregorian_years
from index.ingest.chunk import chunk_document
from index.ingest.documents import scan_corpus
from index.text.language import detect, question_language
from index.text.lexical import terms_of
from index.search.rerank import years
from index.text.transliteration import Skeletons, skeleton

CASE = Path(__file__).resolve().parents[1] / "eval" / "case" / "corpus"
RUSSIAN = "telegram-apple-privacy-2018.md"
PERSIAN = "telegram-iran-forks-1398.md"  # written without lang: detected


def test_each_document_has_its_language_from_metadata_or_detected(tmp_path: Path) -> None:
    scan = scan_corpus(CASE)
    languages = {d.doc_id: d.language for d in scan.documents}
    assert languages[RUSSIAN] == "ru"  # front matter lang: ru
    assert languages[PERSIAN] == "fa"  # no lang: detected from the text
    assert languages["meshchansky-fine-2017.md"] == "en"
    (tmp_path / "html.html").write_text(
        '<html lang="ru-RU"><body><p>Short text, in English, mislabelled.</p></body></html>', encoding="utf-8"
    )
    (tmp_path / "side.md").write_text(
        "Текст без метаданных, но на русском языке, как и его имя.\n", encoding="utf-8"
    )
    (tmp_path / "side.md.yml").write_text("lang: Persian\n", encoding="utf-8")
    found = {d.doc_id: d.language for d in scan_corpus(tmp_path).documents}
    assert found == {"html.html": "ru", "side.md": "fa"}  # what a document says wins over detection


def test_questions_are_read_in_their_language() -> None:
    assert question_language("Какой штраф назначил мировой суд Telegram?") == "ru"
    assert question_language("Что такое ФСБ?") == "ru"  # short: the model alone guesses Macedonian
    assert question_language("کدام شرکت ایرانی هات‌گرام را ساخت؟") == "fa"
    assert question_language("When did Ayatollah Khamenei close his Telegram channel?") == "en"  # not Malay
    assert question_language("Who is Roskomnadzor's head, Alexander Zharov?") == "en"
    assert question_language("Wann wurde Telegram in Russland gesperrt?") == "de"
    assert question_language("متى حظرت إيران تيليجرام؟") == "ar"  # Arabic, not Persian
    assert detect("Суд оштрафовал компанию. " * 20) == "ru"
    assert detect("Roskomnadzor") == detect("Telegram Messenger LLP") == "en"  # a short post of names
    assert detect("Суд оштрафовал Telegram.") == "ru" and detect("تلگرام در ایران فیلتر شد") == "fa"
    german = ("Das Gericht hat die Sperre von Telegram bestätigt, weil der Dienst die Schlüssel nicht "
              "herausgegeben hat. Die Entscheidung ist rechtskräftig und wird sofort vollzogen. ")
    assert detect(german * 2) == "de" and detect(german) == "en"  # long enough to tell, or taken as English


@pytest.mark.parametrize("name", [RUSSIAN, PERSIAN, "telegram-kassatsiya-2019.md"])
def test_russian_and_persian_sentences_keep_exact_offsets(name: str) -> None:
    document = next(d for d in scan_corpus(CASE).documents if d.doc_id == name)
    chunks = chunk_document(document)
    assert chunks
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        covered = "".join(document.text[s:e] for s, e in chunk.sentences)
        assert covered.replace(" ", "") == chunk.text.replace(" ", "").replace("\n", "")
        for start, end in chunk.sentences:
            sentence = document.text[start:end]
            assert sentence == sentence.strip() and sentence


def test_russian_abbreviations_and_quotes_do_not_end_sentences() -> None:
    from index.ingest.chunk import sentence_spans

    text = ("20 марта 2018 г. Верховный суд отклонил жалобу, т. е. признал приказ законным. Суд сослался на "
            "ст. 13.31 КоАП РФ. Юрист сказал: «Мы обратимся в ЕСПЧ». Штраф составил 800 тыс. руб. Решение "
            "вступило в силу. Он назвал это „ключами“ шифрования.")
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]
    assert sentences == [
        "20 марта 2018 г. Верховный суд отклонил жалобу, т. е. признал приказ законным.",
        "Суд сослался на ст. 13.31 КоАП РФ.",
        "Юрист сказал: «Мы обратимся в ЕСПЧ».",
        "Штраф составил 800 тыс. руб.",
        "Решение вступило в силу.",
        "Он назвал это „ключами“ шифрования.",
    ]
    persian = "آیا این تصمیم قانونی بود؟ دادستان گفت بله. ۱۳۹۷ سال سختی بود."
    assert len(sentence_spans(persian, 0, len(persian))) == 3


def test_words_match_across_inflections_of_each_language() -> None:
    assert terms_of("блокировки Роскомнадзора") == terms_of("блокировку Роскомнадзор")
    assert (terms_of("Telegram’s encryption keys")
            == terms_of("telegram's encrypted key")[:1] + terms_of("encryption keys"))
    assert terms_of("и в на по что не") == []  # Russian stop words
    # Persian: with or without the zero-width non-joiner, in Persian or Arabic letters, one term
    assert terms_of("هات‌گرام کاربری") == terms_of("هاتگرام کاربری") == terms_of("هاتگرام كاربري")


def test_names_are_matched_across_scripts() -> None:
    corpus = Skeletons(terms_of("Рамиль Ахметгалиев, هات‌گرام و طلاگرام, Edward Snowden"))
    assert corpus.knows("Akhmetgaliev") and corpus.knows("Hotgram") and corpus.knows("Talagram")
    assert corpus.knows("Сноуден")  # a Russian question naming a person an English document names
    assert not corpus.knows("China") and not corpus.knows("WhatsApp") and not corpus.knows("Франции")
    assert not Skeletons(terms_of("примем премию")).knows("Premium")  # three letters say too little
    assert not corpus.knows("Snowden")  # Latin against Latin is the plain word lookup's job


def test_names_match_across_latin_cyrillic_and_persian_spellings() -> None:
    assert skeleton("Durov") == skeleton("Дуров") == skeleton("دوروف")  # Persian writes "-ov" as "-of"
    assert skeleton("Firouzabadi") == skeleton("فیروزآبادی")
    assert skeleton("Khorramabadi") == skeleton("خرم‌آبادی")


def test_persian_and_arabic_indic_digits_match_ascii_ones() -> None:
    assert terms_of("بیش از ۳۰ میلیون")[-2] == terms_of("30")[0] == terms_of("٣٠")[0]
    assert ascii_digits("۲۳ تیر ۱۳۹۷") == "23 تیر 1397"  # the same length: offsets stay valid


def test_persian_calendar_dates_meet_the_gregorian_years_questions_name() -> None:
    assert gregorian_years("روز شنبه ۲۳ تیر ۱۳۹۷ در یادداشتی") == {"2018"}  # 14 July 2018
    assert gregorian_years("در اعتراضات دی ۱۳۹۶") == {"2017", "2018"}  # Dey spans the new year
    assert gregorian_years("در سال ۱۴۰۱") == {"2022", "2023"}  # a year alone spans two
    assert gregorian_years("1397 people") == set()  # ASCII digits without a month: a count
    assert years("Khorramabadi wrote on ۲۳ تیر ۱۳۹۷") >= {"2018"} and years("زمستان ۲۰۱۸") == {"2018"}
