"""Store: the index both sides share (its folder, manifest, lock, Chroma client, embedding model and the
files of ours that the read path reads); `ingest/` writes it, `search/` reads it, and it imports neither."""
