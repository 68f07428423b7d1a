"""One reader per file format that needs more than decoding text: PDF (with OCR), Word, Telegram exports."""
