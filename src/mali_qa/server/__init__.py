"""`mali-qa serve`: an OpenAI-compatible HTTP service over `ask` (FastAPI under uvicorn)."""
