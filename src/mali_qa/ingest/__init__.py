"""Ingest: article files -> cleaned Articles -> sentence-aware passages -> embeddings -> the index (Chroma, docstore, BM25, term counts)."""
