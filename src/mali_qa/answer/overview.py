"""Overview requests ("summarize the articles", "what are these stories about", "what is going on with
Wagner"): answered from the articles' leads, one cited sentence per relevant article, best article first.

A news article states its story in its first sentence, so the leads of the articles a search finds are the
overview a reader expects. With a topic ("… with Wagner"), only the articles whose retrieved passages name it
count, and an article whose lead does not name it gives its first retrieved sentence that does."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mali_qa.answer.candidates import Candidate, candidates
from mali_qa.answer.compose import HARD_WORD_LIMIT, compose, words_of
from mali_qa.answer.condense import Condensed
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.text import content_stems
from mali_qa.types import Answer, Passage, passage_id

#: At most this many articles, one sentence each.
MAX_ARTICLES = 5
#: The first passages of an article searched for its lead (a dateline or a photo caption may come first).
LEAD_PASSAGES = 2
#: A lead is a sentence of at least this many words that is not a photo caption ("FILE - A French soldier …").
LEAD_WORDS = 8
CAPTION = re.compile(r"^\W*(?:FILE|PHOTO|IMAGE|VIDEO)\b|^[A-Z][A-Z ]+ [-–—] ")
#: How a request for an overview reads (on the lower-cased question).
OVERVIEW = re.compile(
    r"\b(?:summar(?:y|ies|i[sz]e|i[sz]ing)|overview|tl;?dr|gist|rundown|recap|in a nutshell|main points"
    r"|what(?:'s|’s|s| is| are)? (?:going on|happening|up)"
    r"|what (?:is|are|do|does) (?:these |the |this )?(?:articles?|stories|story|news|collection|texts?)"
    r" (?:about|say|cover|tell)"
    r"|(?:give|tell) me (?:about|an? (?:update|brief|briefing))"
    r"|key (?:facts|points|events))\b"
)
#: Words of an overview request that name no topic ("summarize the articles about Wagner": Wagner is one).
REQUEST_WORDS = frozenset(
    content_stems(
        "summary summaries summarize summarise summarizing summarising overview tldr tl dr gist rundown recap "
        "nutshell main points going happening articles article stories story news collection text texts say "
        "cover tell give brief briefing update key facts events situation latest"
    )
)


def is_overview(question: str) -> bool:
    """Whether the question asks for an overview of the articles (or of a topic in them)."""
    return bool(OVERVIEW.search(question.lower()))


def lead_ids(passages: Sequence[Passage], limit: int = MAX_ARTICLES) -> list[str]:
    """The ids of the first passages (where the lead is) of the articles the passages come from, best first."""
    articles = list(dict.fromkeys(p.article_id for p in passages))[:limit]
    return [passage_id(article, i) for article in articles for i in range(LEAD_PASSAGES)]


def is_lead(cand: Candidate) -> bool:
    """Whether a sentence can stand as an article's lead: long enough, and no dateline or photo caption."""
    return len(cand.text.split()) >= LEAD_WORDS and not CAPTION.match(cand.text)


def on_topic(cand: Candidate, topic: frozenset[str]) -> bool:
    """Whether the sentence holds more than half of the topic's terms (all of them when there are two)."""
    return not topic or len(topic & cand.stems) > len(topic) // 2


def overview(
    condensed: Condensed, passages: Sequence[Passage], vocabulary: Vocabulary | None = None
) -> Answer | None:
    """One cited sentence per relevant article, or None when no retrieved article is on the topic asked, or
    the topic holds a word no article uses ("Wagner's operations in Venezuela": not these articles' story)."""
    topic = frozenset(content_stems(condensed.question)) - REQUEST_WORDS
    if vocabulary is not None and any(vocabulary.frequency(term) == 0 for term in topic):
        return None
    by_article: dict[str, list[Candidate]] = {}
    for cand in candidates(passages):
        by_article.setdefault(cand.passage.article_id, []).append(cand)
    chosen: list[Candidate] = []
    for sentences in by_article.values():
        in_order = sorted(sentences, key=lambda c: c.start)
        lead = next((c for c in in_order if is_lead(c) and on_topic(c, topic)), None)
        if lead is None:
            continue
        if words_of([*chosen, lead]) > HARD_WORD_LIMIT:
            continue  # a shorter lead of a later article may still fit
        chosen.append(lead)
        if len(chosen) >= MAX_ARTICLES:
            break
    if not chosen:
        return None
    return compose(condensed, chosen, passages, best_first=False)
