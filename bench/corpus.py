"""Generate a deterministic synthetic corpus for the benchmarks (never inside the repository).

    python -m bench.corpus /tmp/casebot-bench/corpus --documents 1000 --paragraphs 20

Each document is Markdown with front matter, like corpus/; each paragraph (one chunk) is two to
four sentences: sentences of the real article with names, numbers and places swapped, and
generated sentences over a few thousand words, so that BM25 sees a realistic vocabulary and the
model sees realistic lengths (about 250-650 characters, 60-140 word pieces per chunk).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "corpus" / "iran-fsb-telegram-2017.md"

NAMES = (
    "Durov Jafari Zharov Petrova Ivanov Karimi Haddad Novak Morales Chen Okafor Lindqvist Rossi Tanaka "
    "Mendes Kowalski Nasser Farrow Brennan Sato Orlov Vance Quint Abara Helm Dvorak Sorensen Patel"
).split()
PLACES = (
    "Tehran Moscow Kyiv Minsk Tbilisi Almaty Baku Riga Vilnius Tallinn Ankara Cairo Dubai Berlin Vienna "
    "Geneva Warsaw Prague Sofia Yerevan Tashkent Bishkek Dushanbe Helsinki Oslo Lisbon"
).split()
ORGS = ("Telegram WhatsApp Roskomnadzor FSB VKontakte Signal Viber Facebook Twitter Instagram YouTube Skype "
        "Yandex Mail.ru Apple Google Microsoft Kaspersky Rostelecom MegaFon Beeline").split()
VERBS = ("blocked fined ordered investigated accused banned warned sued questioned restricted demanded "
         "reported announced denied confirmed appealed filed rejected approved suspended").split()
NOUNS = ("court prosecutor ministry regulator agency company founder lawyer journalist user channel message "
         "encryption key server license complaint decision ruling appeal fine law statute hearing witness "
         "document evidence report statement interview archive filing motion order injunction").split()
ADJ = ("criminal federal regional secret encrypted public private foreign domestic new former senior "
       "independent anonymous official unofficial urgent final preliminary disputed").split()


def article_sentences() -> list[str]:
    text = ARTICLE.read_text(encoding="utf-8").split("---", 2)[2]
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", " ".join(text.split()))
    return [s for s in sentences if 40 <= len(s) <= 400]


def _mutate(sentence: str, rng: random.Random) -> str:
    sentence = re.sub(r"\d[\d,]*", lambda m: f"{rng.randint(2, 999_999):,}", sentence)
    for pool in (NAMES, PLACES, ORGS):
        word = rng.choice(pool)
        if word in sentence:
            sentence = sentence.replace(word, rng.choice(pool))
    return sentence


def _generated(rng: random.Random) -> str:
    return (
        f"On {rng.choice(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])} the {rng.choice(ADJ)} "
        f"{rng.choice(NOUNS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} {rng.choice(ORGS)} over a "
        f"{rng.choice(ADJ)} {rng.choice(NOUNS)} filed by {rng.choice(NAMES)}, citing {rng.randint(2, 9_999)} "
        f"{rng.choice(NOUNS)}s and a {rng.choice(ADJ)} {rng.choice(NOUNS)} from {rng.randint(1995, 2026)}."
    )


def paragraph(rng: random.Random, pool: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(2, 4)):
        parts.append(_mutate(rng.choice(pool), rng) if rng.random() < 0.6 else _generated(rng))
    return " ".join(parts)


def document(number: int, paragraphs: int, rng: random.Random, pool: list[str]) -> str:
    title = (f"{rng.choice(ORGS)} and the {rng.choice(ADJ)} {rng.choice(NOUNS)} in {rng.choice(PLACES)} "
             f"(no. {number})")
    date = f"{rng.randint(2010, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    body = "\n\n".join(paragraph(rng, pool) for _ in range(paragraphs))
    return f'---\ntitle: "{title}"\ndate: {date}\nsource: bench\nauthor: null\nurl: null\n---\n{body}\n'


def generate(folder: Path, documents: int, paragraphs: int, seed: int = 5, start: int = 0) -> list[Path]:
    """Write documents ``start`` .. ``start + documents - 1``; the same seed gives the same files."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = article_sentences()
    written = []
    for number in range(start, start + documents):
        rng = random.Random(f"{seed}-{number}")
        path = folder / f"doc-{number:06d}.md"
        path.write_text(document(number, paragraphs, rng, pool), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--paragraphs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.folder.resolve().is_relative_to(ROOT):
        sys.exit("refusing to write generated data inside the repository; use a folder under /tmp")
    generate(args.folder, args.documents, args.paragraphs, args.seed)
    print(f"wrote {args.documents} documents x {args.paragraphs} paragraphs to {args.folder}")


if __name__ == "__main__":
    main()
