"""Ingest: article files -> cleaned Articles -> sentence-aware passages -> embeddings -> the index (Chroma, BM25, term counts, articles, and llama-index's docstore), written through `store/`."""
