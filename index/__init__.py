"""Platform-neutral retrieval core: ingest -> chunk -> embed -> store -> search."""
