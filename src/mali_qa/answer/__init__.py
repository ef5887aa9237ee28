"""Answer: what a question asks, follow-up rewriting, the offline extractive engine, and the generative engine with verified citations."""
