"""Evaluation of the answers on a gold question set: gold file, scoring, model-judged figures, `mali-qa eval`."""
