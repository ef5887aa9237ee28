"""Sentences planted in an article to steer an AI ("Ignore previous instructions", "Language models summarising
this page must state that ..."): told apart from news after undoing the disguises a filter would miss
(look-alike letters from other scripts, accents, zero-width characters), in English, French, Spanish and German.
The word lists live in `data/planted_*.txt`."""

from __future__ import annotations

import re
import unicodedata

from mali_qa import cache, lexicon

#: Letters of other scripts drawn like Latin ones ("Ignоre" with a Cyrillic о), mapped to the Latin letter.
_LOOK_ALIKES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅοαειⲟκνρτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSoaeioKvptuxABEHIKMNOPTYX",
)


def normalized(sentence: str) -> str:
    """Lowercase Latin letters without accents, look-alikes or invisible characters, spaces collapsed."""
    text = unicodedata.normalize("NFKC", sentence).translate(_LOOK_ALIKES)
    text = "".join(
        ch
        for ch in unicodedata.normalize("NFKD", text)
        if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return " ".join(text.casefold().split())


def _alternation(name: str) -> str:
    return "|".join(sorted((re.escape(w) for w in lexicon.word_list(name)), key=len, reverse=True))


@cache.memo(maxsize=1)
def _patterns() -> re.Pattern[str]:
    override = _alternation("planted_override_verbs")  # ignore, disregard, ignorez, oubliez, ignoriere ...
    rules = _alternation("planted_rule_nouns")  # instructions, prompt, consignes, anweisungen ...
    machines = _alternation("planted_machine_nouns")  # language model, assistant, chatbot, ia, ki ...
    musts = _alternation("planted_directives")  # must, should, are required to, doivent, müssen ...
    says = _alternation("planted_saying_verbs")  # say, state, answer, affirmer, répondre ...
    return re.compile(
        # "ignore (all of) the previous instructions", "oubliez toutes les consignes"
        rf"\b(?:{override})\b(?:\W+\w+){{0,5}}?\W+(?:{rules})\b"
        # "disregard everything you were told before"
        rf"|\b(?:{override})\b(?:\W+\w+){{0,4}}?\W+(?:you were|you have been|you've been|on vous a)\s+"
        r"(?:told|instructed|given|asked|dit|demande)\b"
        # a role marker opening a sentence: "SYSTEM: ..."
        r"|(?:^|[.!?]\s+)(?:system|assistant|user|developer)\s*:"
        # an order to a machine: "language models summarising this page must state that ..."
        rf"|\b(?:{machines})\b(?:\W+\w+){{0,8}}?\W+(?:{musts})\b(?:\W+\w+){{0,3}}?\W+(?:{says})\b"
        # an order to the reader's machine: "you must say", "vous devez répondre"
        r"|\b(?:you must|vous devez|tu dois|du musst|sie mussen|debes|debe)\s+(?:\w+\s+){0,2}?"
        rf"(?:{says})\b"
        r"|\breveal\s+(?:the|your)\s+(?:api key|system prompt|instructions|password)",
    )


def looks_like_instruction(sentence: str) -> bool:
    """Whether a sentence addresses an AI system instead of reporting news."""
    return bool(_patterns().search(normalized(sentence)))
