"""Every sentence casebot says to people, in one place, so each thing is said one way everywhere.

Plain text only: the renderers (terminal, Discord, Matrix) add their own formatting and escape
whatever comes from a document or a question before it is put into these sentences, since each
platform escapes differently.
"""

from __future__ import annotations

import math

from index.language import name as language_name

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


def decline(unknown_names: str = "", unserved_language: str = "") -> str:
    """Why there is no answer; ``unknown_names`` (already escaped by the caller) are the names
    the question uses that no document mentions; ``unserved_language`` the name of the language
    the question is in, when casebot does not read it."""
    if unserved_language:
        return (f"I read questions in {QUESTION_LANGUAGES}; this one looks like {unserved_language}. "
                "Please ask it in one of those.")
    if unknown_names:
        return f"The documents I have do not mention {unknown_names}, so I will not guess."
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
    return f"I don't know !{name}. I understand !ask <question>, !sources, !help and !reindex."


HELP_INTRO = (f"I answer questions about {CASE} with verbatim, attributed quotes from the documents I "
              f"hold. I never paraphrase or translate: ask in {QUESTION_LANGUAGES}, and each quote comes in "
              "its document's own language.")


def help_how_to_ask(example: str) -> str:
    """``example`` is a question addressed to the bot by name, formatted by the renderer."""
    return (f"Ask me by mentioning me ({example}), with !ask followed by the question, or write to me in "
            "a direct chat.")


HELP_COMMANDS = "!sources lists the documents. !help shows this. !reindex (admins) rebuilds the index."
