"""Search: the loaded index, and hybrid retrieval (passage vectors, sentence vectors, BM25) fused by reciprocal rank."""
