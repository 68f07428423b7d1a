"""Make the PDF and Word documents of the second case set from the texts below.

Run from the repository root: ``.venv/bin/python tests/eval/case2/make.py``. The PDF is written by the
test suite's minimal PDF writer (Helvetica, plain Latin-1 lines, a blank line between paragraphs); the
Word file by python-docx with its title and creation date in the file's properties and a dateline.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.support.pdf_maker import make_pdf  # noqa: E402

SMART_VOTING_TITLE = "Telegram switches off Navalny's Smart Voting bot during Russia's Duma election"
SMART_VOTING = [
    "Moscow, September 21, 2021",
    "Telegram, which Russia spent two years trying to block, has for the first time shut down a "
    "political service at a sensitive moment for the Kremlin. On the first day of the State Duma "
    "election, Saturday, September 18, 2021, the messenger disabled the Smart Voting bot run by "
    "the team of the jailed opposition politician Alexei Navalny. Anyone trying to open it saw a "
    "notice that the bot violated local laws; it stopped working in Russia and abroad, even "
    "through a VPN.",
    "Pavel Durov announced the step in his channel at 11:56 p.m. Moscow time on Friday, September "
    "17, as three days of voting began. He said that once the campaign had ended the so-called days "
    "of silence began, a tradition written into the laws of many countries under which no "
    "campaigning takes place while people vote. Telegram considered the practice legitimate, he "
    "wrote, and from midnight it would restrict the functions of bots associated with election "
    "campaigning.",
    "Smart Voting told supporters which candidate in each district had the best chance of beating "
    "the ruling United Russia party. By then it had few channels left. Roskomnadzor blocked the Smart "
    "Voting website on September 6, treating it as a continuation of Navalny's Anti-Corruption "
    "Foundation, which a court had declared extremist. On September 17, under pressure from the "
    "authorities, Apple and Google removed the Navalny app, which carried the same recommendations, "
    "from their stores in Russia, and the bot became the main way to get them.",
    "In the same post Durov criticised the two American companies. He called the Apple and Google "
    "oligopoly a threat to freedom of speech and said their decision set a dangerous precedent that "
    "would affect freedom of expression in Russia and around the world.",
    "Critics pointed out the irony. Between 2018 and 2020 Telegram had defied a court order to block "
    "it rather than give the FSB the keys to its users' messages, and the ban was lifted only in June "
    "2020. Now, they said, the company had given in to the same state in a matter of hours.",
    "Durov answered them a few days later. Telegram, he wrote, does not exist in isolation: it depends "
    "on Apple and Google, and must follow their rules to stay available on iPhones and Android phones. "
    "Without their support any fight with a local regulator would be lost before it began, because a "
    "messenger removed from the stores could no longer send updates that help users get around bans.",
    "His second reason was the law itself. The ban on campaigning on voting days, he argued, was not "
    "clearly unconstitutional, unlike the demand for encryption keys that Telegram had resisted. "
    "Letting Telegram be blocked for all Russians to give one political force two more days of "
    "campaigning after the vote had started would be like sacrificing a queen for a pawn in a game "
    "of chess without a clear winning strategy. The interests of hundreds of millions of users, he "
    "wrote, would always come before those of any political force.",
]

BONDS_TITLE = "Telegram raises more than $1 billion in bonds as it prepares to earn money"
BONDS = [
    "Dubai, March 24, 2021",
    "Telegram has raised more than one billion dollars by selling bonds to investors around the world, "
    "Pavel Durov confirmed on March 23, 2021. The messenger placed five-year convertible bonds, with "
    "the first coupon payments due in September 2021.",
    "According to RBC, each bond cost $1,000 and the smallest lot an investor could buy was $500,000. "
    "A source in the financial market told Sputnik that the bonds pay 7 percent a year. If Telegram "
    "goes public before they mature, holders can convert them into shares at a 10 percent discount to "
    "the offering price.",
    "The biggest buyers came from the Gulf. Two funds from Abu Dhabi, the sovereign investor Mubadala "
    "Investment Company and Abu Dhabi Catalyst Partners, each invested $75 million, $150 million in "
    "all, the largest sums anyone paid in the placement. According to a source quoted by Vedomosti, "
    "half of the issue was bought by global investment funds and the rest was placed with European "
    "and Russian funds and banks. Telegram, whose headquarters are in Dubai, is to open an "
    "office in Abu Dhabi as part of a strategic partnership with the emirate.",
    "One Russian name caused confusion. RIA Novosti reported that the Russian Direct Investment Fund, "
    "the state sovereign fund, had taken part, which Telegram vice president Ilya Perekopsky denied "
    "to RBC the same day. The fund later explained that on March 23 it had bought from Mubadala, on "
    "the secondary market, bonds worth about $2 million, as part of a joint Russian and Emirati "
    "investment platform, so the deal had no connection with the placement itself.",
    "Rumours of the sale had circulated since mid-February, when Kommersant's sources said Telegram "
    "wanted about a billion dollars to pay off its debts to investors in its abandoned blockchain "
    "platform. Durov had said in December 2020 that the company would start earning money in 2021, "
    "with advertising in large public channels and paid features, while keeping the messenger free "
    "for ordinary users.",
    "The placement also shows how far Telegram's standing in Russia has changed. Less than a year "
    "after Roskomnadzor dropped its attempt to block the service, Russian banks and funds were among "
    "the buyers of its debt.",
]


def _wrap(paragraph: str, width: float = 468.0, size: float = 11.0) -> list[str]:
    """Greedy wrapping by Helvetica's glyph widths, so that every line but the last is full (the reader
    starts a new paragraph after a line that the next word would have fitted on)."""
    from pdfminer.fontmetrics import FONT_METRICS

    widths = FONT_METRICS["Helvetica"][1]

    def measure(text: str) -> float:
        return sum(widths.get(ch, 556) for ch in text) * size / 1000

    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if current and measure(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + [current]


def _pdf_lines(paragraphs: list[str], per_page: int = 46) -> list[list[str]]:
    """Wrapped lines, a blank line after each paragraph; a page break only between paragraphs."""
    pages: list[list[str]] = [[]]
    for paragraph in paragraphs:
        lines = _wrap(paragraph) + [""]
        if pages[-1] and len(pages[-1]) + len(lines) > per_page:
            pages.append([])
        pages[-1] += lines
    return pages


def make_smart_voting_pdf(path: Path) -> None:
    path.write_bytes(make_pdf(_pdf_lines(SMART_VOTING), title=SMART_VOTING_TITLE))


def make_bonds_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = BONDS_TITLE
    document.core_properties.author = ""
    document.core_properties.created = datetime(2021, 3, 24, 12, 0, tzinfo=timezone.utc)
    document.add_heading(BONDS_TITLE, level=1)
    for paragraph in BONDS:
        document.add_paragraph(paragraph)
    document.save(str(path))


if __name__ == "__main__":
    corpus = HERE / "corpus"
    make_smart_voting_pdf(corpus / "smart-voting-bot-2021.pdf")
    make_bonds_docx(corpus / "telegram-bonds-2021.docx")
