"""Fetching a file someone sent: downloaded from the homeserver's authenticated media API and, in an
encrypted room, decrypted with the key the event carries (nio's encrypted attachments)."""

from __future__ import annotations

from nio import AsyncClient, DownloadError
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bot.adapters.matrix.messages import FileOffer
from bot.adapters.matrix.network import TRANSIENT, describe
from bot.library import UploadRefused
from bot.render import wording


async def fetch(client: AsyncClient, offer: FileOffer) -> bytes:
    """The file's bytes (decrypted); UploadRefused with the reason when they cannot be had."""
    url = offer.encrypted.get("url") if offer.encrypted is not None else offer.url
    if not isinstance(url, str) or not url.startswith("mxc://"):
        raise UploadRefused(wording.download_failed(offer.name, "the message has no file address"))
    try:
        response = await client.download(mxc=url)
    except TRANSIENT as error:
        raise UploadRefused(wording.download_failed(offer.name, describe(error))) from None
    if isinstance(response, DownloadError):
        raise UploadRefused(wording.download_failed(offer.name, str(response.message)))
    data = response.body
    if offer.encrypted is None:
        return data
    try:
        file = offer.encrypted
        return decrypt_attachment(data, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
    except (EncryptionError, KeyError, TypeError, ValueError) as error:
        reason = f"it could not be decrypted ({error})"
        raise UploadRefused(wording.download_failed(offer.name, reason)) from None
