"""casebot: answers questions about one case with verbatim, attributed quotes."""
