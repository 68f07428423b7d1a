"""Errors a user can act on. The CLI and the chat adapters show ``str(error)`` as one line."""


class CasebotError(Exception):
    """Base class: the message is a complete, user-facing sentence."""


class QuestionRejected(CasebotError):
    """The question cannot be asked as given (empty, too long, binary)."""


class CorpusError(CasebotError):
    """The corpus folder is missing or holds no readable document."""


class IndexMissing(CasebotError):
    """No index has been built yet."""


class IndexCorrupt(CasebotError):
    """The index on disk cannot be read."""


class ModelMismatch(CasebotError):
    """The index was built with a different embedding model or dimension."""


class UnreadableDocument(Exception):
    """One corpus file cannot be ingested; the message says why. It is skipped with a warning."""


class DiskFull(CasebotError):
    """A build ran out of disk space; the previous index is still in place."""
