"""Sentence-aware passages: a llama-index NodeParser that packs whole sentences and keeps character offsets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, MetadataMode, NodeRelationship, TextNode

from mali_qa.text import is_heading, split_sentences
from mali_qa.types import passage_id

#: Metadata kept on every passage node; only the title is shown to the embedding model.
PASSAGE_KEYS = ("article_id", "title", "date", "outlet", "start", "end")


def pack_sentences(text: str, *, max_words: int = 90, min_words: int = 30) -> list[tuple[int, int]]:
    """(start, end) of passages of whole sentences: a paragraph is split past `max_words`, and a passage
    shorter than `min_words` runs on into the next paragraph. A heading (`is_heading`) opens the passage of
    the text it heads, never ends one."""
    spans: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    count = 0
    paragraph_end = -1
    heading_last = False  # the passage so far ends on a heading: the next sentence joins it
    for start, end in split_sentences(text):
        heading = is_heading(text, start, end)
        n = len(text[start:end].split())
        new_paragraph = "\n" in text[paragraph_end:start] if paragraph_end >= 0 else False
        if current and not heading_last and (count + n > max_words or (new_paragraph and count >= min_words)):
            spans.append((current[0][0], current[-1][1]))
            current, count = [], 0
        current.append((start, end))
        count += n
        paragraph_end = end
        heading_last = heading
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


class PassageParser(NodeParser):
    """Splits each article Document into passage TextNodes whose text is `article.text[start:end]`."""

    max_words: int = 90
    min_words: int = 30

    def _parse_nodes(
        self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any
    ) -> list[BaseNode]:
        out: list[BaseNode] = []
        for doc in nodes:
            text = doc.get_content(metadata_mode=MetadataMode.NONE)
            meta = doc.metadata
            for i, (start, end) in enumerate(
                pack_sentences(text, max_words=self.max_words, min_words=self.min_words)
            ):
                node = TextNode(
                    id_=passage_id(doc.id_, i),
                    text=text[start:end],
                    metadata={**{k: meta.get(k, "") for k in PASSAGE_KEYS[:4]}, "start": start, "end": end},
                    excluded_embed_metadata_keys=["article_id", "date", "outlet", "start", "end"],
                    excluded_llm_metadata_keys=list(PASSAGE_KEYS),
                    metadata_template="{value}",
                    text_template="{metadata_str}\n\n{content}",
                    start_char_idx=start,
                    end_char_idx=end,
                )
                node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
                out.append(node)
        return out
