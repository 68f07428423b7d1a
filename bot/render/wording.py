"""Every sentence casebot says to people, in one place, so each thing is said one way everywhere.

Plain text only: the renderers (terminal, Discord, Matrix) add their own formatting and escape
whatever comes from a document or a question before it is put into these sentences, since each
platform escapes differently.
"""

from __future__ import annotations

import math

from index.text.language import name as language_name

CASE = "the Telegram case (Iran and Russia's FSB, 2017)"
QUESTION_LANGUAGES = "English, Russian and Persian"


def in_language(code: str) -> str | None:
    """Attribution of a passage in another language than English ("in Russian"), None for English:
    quotes are never translated, so the reader is told."""
    return None if code == "en" else f"in {language_name(code)}"


# -- answers -------------------------------------------------------------------------------------
QUESTION_LABEL = "Question:"
# Before a follow-up's reading with the previous question of its conversation (bot.followup).
READ_AS_LABEL = "Read as:"
DECLINE = "The documents I have do not answer this question, so I will not guess."
COVERS = "They cover:"


MISSING = {"date": "a date", "amount": "a figure", "name": "a name"}


def decline(unknown_names: str = "", unserved_language: str = "", missing: str = "") -> str:
    """Why there is no answer; ``unknown_names`` (already escaped by the caller) are the names
    the question uses that no document mentions; ``unserved_language`` the name of the language
    the question is in, when casebot does not read it; ``missing`` the kind of answer asked for
    ("date", "amount", "name") that none of the nearest passages holds."""
    if unserved_language:
        return (f"I read questions in {QUESTION_LANGUAGES}; this one looks like {unserved_language}. "
                "Please ask it in one of those.")
    if unknown_names:
        return f"The documents I have do not mention {unknown_names}, so I will not guess."
    if missing in MISSING:
        return (f"The question asks for {MISSING[missing]}, and none of the passages nearest it gives one, "
                "so I will not guess.")
    return DECLINE


def try_instead(sources_command: str) -> str:
    return f"Try a question about one of those, or send {sources_command} for the full list."


def quoted_passages(count: int) -> str:
    return f"Quoted verbatim from the documents, best match first ({count} passage{'s' * (count != 1)})."


ANSWER_IN_THREAD = "The answer is in the thread below."

# -- the documents -------------------------------------------------------------------------------
NO_SOURCES = "The index holds no documents yet."


def sources_heading(count: int) -> str:
    return f"I answer from {count} document{'s' * (count != 1)}:"


def sources_page(page: int, pages: int, command: str) -> str:
    """Under a page of the list; ``command`` is the platform's (``!sources`` or ``/sources page:``)."""
    more = f" Send {command}{page + 1} for the next." if page < pages else ""
    return f"Page {page} of {pages}.{more}"


def source_details(date: str | None, source: str | None, language: str, file: str, passages: int) -> str:
    """A document's line in the list, after its title (``source`` and ``file`` already escaped)."""
    parts = [date or "undated", *([source] if source else []), language_name(language), file,
             f"{passages} passage{'s' * (passages != 1)}"]
    return " · ".join(parts)


# -- limits and errors ---------------------------------------------------------------------------
def rate_limited(limit: int, retry_after: float) -> str:
    """The notice for a person over the per-minute question limit."""
    seconds = max(1, math.ceil(retry_after))
    return (f"You have asked {limit} question{'s' * (limit != 1)} in the last minute, the most I take "
            f"from one person. Please ask again in about {seconds} second{'s' * (seconds != 1)}.")


INTERNAL_ERROR = "an internal error (see the log)."
APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again later."

# -- rebuilding the index (admins) ---------------------------------------------------------------


def admins_only(who_is_admin: str) -> str:
    """``who_is_admin`` says how the platform tells an admin apart."""
    return f"Only the bot's admins can rebuild the index: {who_is_admin}."


REBUILD_RUNNING = "A rebuild is already running; questions are answered from the current index meanwhile."
REBUILD_STARTED = ("Rebuilding the index in the background. Questions are answered from the current index "
                   "until the new one is ready.")


def rebuild_failed(reason: str) -> str:
    return f"The rebuild failed: {reason} The previous index keeps answering."


def rebuilt(summary: str) -> str:
    return f"Index rebuilt: {summary}"


# -- documents added from the chat (admins) ------------------------------------------------------
ADMINS_ONLY_ADD = "Only the bot's admins add or remove documents."
ADD_HOW = ("To add a document, send the file with the caption !add (!add replace to replace one of the same "
           "name), or send it to me in a direct chat.")


def too_large(size: int, limit: int) -> str:
    """Why a file is refused before it is read; ``limit`` is the corpus's (index.ingest.documents)."""
    return f"it is too large ({size / 1e6:.0f} MB; the limit is {limit / 1e6:.0f} MB)"


def upload_bad_name(max_chars: int) -> str:
    return (f"I cannot save a file under that name: give it a plain name of at most {max_chars} characters "
            "(no folders, not starting with a dot).")


def upload_bad_type(suffix: str) -> str:
    return (f"I do not read {suffix} files. I read .md, .txt, .html, .pdf, .docx and Telegram's .json "
            "exports.")


def upload_unreadable(name: str, reason: str) -> str:
    """``reason`` is the corpus reader's, the same a build gives (index.ingest.documents)."""
    return f"I did not add {name}: {reason}."


def download_failed(name: str, reason: str) -> str:
    return f"I could not fetch {name}: {reason}. Please send it again."


def upload_exists(name: str) -> str:
    return (f"A document named {name} is already in the corpus. Send the file again with “replace” "
            "(!add replace, or /add replace:True) to replace it, or rename it.")


def added(name: str, title: str, date: str | None, language: str, passages: int, replaced: bool) -> str:
    """After an upload; ``title`` and ``name`` already escaped by the renderer."""
    verb = "Replaced" if replaced else "Added"
    details = ", ".join([date or "undated", language_name(language)])
    return (f"{verb} {name}: “{title}” ({details}); {passages} passage{'s' * (passages != 1)} read. "
            "Questions are answered from it now.")


def upload_warning(reason: str) -> str:
    return f"Warning: {reason}"


def remove_missing(name: str) -> str:
    return f"There is no document named {name} in the corpus; !sources lists them."


def removed(name: str) -> str:
    return f"Removed {name}; questions are no longer answered from it."


# -- feedback buttons (Discord) ------------------------------------------------------------------
FEEDBACK_LOST = "I no longer have that answer on record, so I could not save your feedback."
THANKS_HELPFUL = "Thank you: marked as helpful."
THANKS_NOT_HELPFUL = "Thank you: marked as not helpful. It will help improve the answers."

# -- Matrix rooms --------------------------------------------------------------------------------
GREETING = (
    f"Hello! I answer questions about {CASE} with verbatim, attributed quotes from my documents. "
    "Mention me or write !ask followed by a question; !help tells more."
)
ENCRYPTED_NOTICE = (
    "This room is end-to-end encrypted, and I cannot read encrypted messages, so I will not see "
    "questions asked here. Ask me in an unencrypted room, or in a direct chat created without "
    "encryption."
)
UNDECRYPTABLE = (
    "I could not decrypt this message: your client did not share its key with my device. If it was "
    "a question, please send it again."
)


def unknown_command(name: str) -> str:
    return (f"I don't know !{name}. I understand !ask <question>, !sources, !help, and for admins !reindex, "
            "!add (a file's caption) and !remove <name>.")


HELP_INTRO = (f"I answer questions about {CASE} with verbatim, attributed quotes from the documents I "
              f"hold. I never paraphrase or translate: ask in {QUESTION_LANGUAGES}, and each quote comes in "
              "its document's own language.")


def help_how_to_ask(example: str) -> str:
    """``example`` is a question addressed to the bot by name, formatted by the renderer."""
    return (f"Ask me by mentioning me ({example}), with !ask followed by the question, or write to me in "
            "a direct chat.")


HELP_COMMANDS = ("!sources lists the documents. !help shows this. Admins: !reindex rebuilds the index; a "
                 "file sent with the caption !add (or any file in a direct chat) is added to the documents, "
                 "!add replace replaces one of the same name, !remove <name> takes one out.")
