"""The service: `ask` and `ask_stream` validate the question, choose the engine, condense, retrieve and
answer; the one offline fallback when a model fails, and the one `reset` of every cache."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mali_qa import cache
from mali_qa.answer.anchor import FetchPassages
from mali_qa.answer.condense import Condensed, condense
from mali_qa.answer.engine import Engine, ModelFailure, Offline, OfflineEngine, Question
from mali_qa.answer.extractive import RulesEngine
from mali_qa.answer.learned import LearnedEngine
from mali_qa.answer.overview import is_overview, lead_ids
from mali_qa.answer.shorthand import expand as expand_shorthand
from mali_qa.answer.spelling import Speller
from mali_qa.answer.vocabulary import Vocabulary
from mali_qa.config import Settings
from mali_qa.errors import ConfigError, IngestLockedError, InvalidQuestionError
from mali_qa.sanitize import clean_input
from mali_qa.search.index import IndexState, load_index, loaded_index
from mali_qa.search.retrieve import HybridRetriever, to_passage
from mali_qa.store.folder import check_store_folder, ingest_running, paths_for, read_manifest, running_message
from mali_qa.store.formats import lexical_outdated, metadata_outdated, metadata_refusal, passages_outdated
from mali_qa.store.minilm import english_words
from mali_qa.types import Answer, Passage, Turn

log = logging.getLogger(__name__)
_lock = threading.Lock()
_settings: dict[str, Settings] = cache.register("settings of the environment")
_pipelines: dict[Settings, Pipeline] = cache.register("pipelines")
_checked: dict[Settings, bool] = cache.register("settings checked at the boundary")
_pipeline_keys: dict[Settings, Settings] = cache.register("pipeline keys (settings without top_k)")


def default_settings() -> Settings:
    """The settings of `.env` and the environment, read once per process."""
    with _lock:
        if "default" not in _settings:
            _settings["default"] = Settings.from_env()
        return _settings["default"]


def validate_question(question: Any, settings: Settings) -> str:
    if not isinstance(question, str):
        raise InvalidQuestionError(f"the question must be a string, not {type(question).__name__}: pass text")
    cleaned = clean_input(question)  # invalid Unicode, controls and zero-width characters go here
    if not cleaned:
        raise InvalidQuestionError("the question is empty: type a question about the articles")
    if len(cleaned) > settings.max_question_chars:
        raise InvalidQuestionError(
            f"the question is {len(cleaned)} characters long, over the limit of {settings.max_question_chars}: "
            "shorten it (or raise MALI_QA_MAX_QUESTION_CHARS)"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestionError(
            "the question has no letters or digits: type a question about the articles"
        )
    return cleaned


def validate_history(history: Any) -> list[Turn]:
    if history is None:
        return []
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise InvalidQuestionError(
            "history must be a list of {'role': 'user'|'assistant', 'content': str} turns"
        )
    turns: list[Turn] = []
    for turn in history:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("content"), str)
        ):
            raise InvalidQuestionError(
                "each history turn must be {'role': 'user' or 'assistant', 'content': str}: fix the history list"
            )
        turns.append({"role": turn["role"], "content": clean_input(turn["content"][:4000])})
    return turns[-8:]


def validate_settings(settings: Any) -> Settings:
    """`settings` as given (or the environment's), checked again: a copy made without validation (say
    `model_copy(update=...)`) must not reach a model client with a negative retry count."""
    if settings is None:
        return default_settings()
    if not isinstance(settings, Settings):
        raise ConfigError(
            f"settings must be a mali_qa.Settings, not {type(settings).__name__}: "
            "build one with Settings.from_env(...) or leave it out"
        )
    with _lock:
        checked = settings in _checked
    if not checked:
        settings.with_()  # raises a ConfigError naming the bad setting
        with _lock:
            _checked[settings] = True
    return settings


def validate_top_k(top_k: Any, settings: Settings) -> int:
    if top_k is None:
        return settings.top_k
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50:
        raise InvalidQuestionError(f"top_k must be a whole number from 1 to 50, not {top_k!r:.40}")
    return top_k


def open_index(settings: Settings) -> IndexState:
    """The loaded index; built from the seeds first when the folder holds no index at all (first use), its
    term counts, BM25 and articles written again when an upgrade changed the stemmer or the store's format;
    refused, naming the re-ingest, when it holds the wrong dates and outlets of an older version or passages
    cut otherwise (only a rebuild mends those). Never while an ingest runs, and never over an unfinished store
    (the loader's error names the fix)."""
    state = loaded_index(settings)
    if state is not None:
        return state
    paths = paths_for(settings)
    check_store_folder(paths)
    try:
        if read_manifest(paths) is None:
            if not ingest_running(paths):
                from mali_qa.ingest.docstore import index_started  # the writer imports llama-index
                from mali_qa.ingest.write import ingest

                if not index_started(paths):
                    log.info("building the index from %s (first use)", settings.seeds_dir)
                    ingest(settings, lock_wait=0)
        elif metadata_outdated(paths):
            raise metadata_refusal(paths)
        elif lexical_outdated(paths) and not passages_outdated(paths):  # else the loader names the rebuild
            from mali_qa.ingest.write import refresh_lexical

            refresh_lexical(settings)
    except IngestLockedError:
        raise IngestLockedError(running_message(paths)) from None
    return load_index(settings)


#: The offline engines, by MALI_QA_OFFLINE_ENGINE; the generative engine answers instead when a model is set
#: (MALI_QA_ENGINE), and the offline one then answers when the model fails.
OFFLINE_ENGINES: dict[str, Callable[[Vocabulary, FetchPassages], OfflineEngine]] = {
    "learned": lambda vocabulary, fetch: LearnedEngine(vocabulary, fetch=fetch),
    "rules": lambda vocabulary, _fetch: RulesEngine(vocabulary),
}


class Pipeline:
    """Retrieval and the offline engine over one loaded index, shared by every question of the process;
    `top_k` is chosen per question, so a new value builds only a retriever, never a new pipeline."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: IndexState = open_index(settings)
        self.vocabulary = Vocabulary(self.state.df, self.state.n_passages)
        self.offline = OFFLINE_ENGINES[settings.offline_engine](self.vocabulary, self.passages_by_id)
        self._retrievers: dict[int, HybridRetriever] = {}
        self._lock = threading.Lock()

    def retrieve(self, query: str, top_k: int) -> list[Passage]:
        with self._lock:
            if top_k not in self._retrievers:
                self._retrievers[top_k] = HybridRetriever(self.state, top_k)
            retriever = self._retrievers[top_k]
            passages = retriever.search(query)
            if is_overview(query):  # an overview quotes the articles' leads: bring those not retrieved
                found = {p.id for p in passages}
                missing = [pid for pid in lead_ids(passages) if pid not in found]
                passages += self.passages_by_id(missing)
            return passages

    def passages_by_id(self, ids: list[str]) -> list[Passage]:
        """Passages of the index by id, unranked (an id not in it is left out)."""
        return [to_passage(stored, 0.0, 0.0) for stored in self.state.passages_by_id(ids)]

    def embed_texts(self, texts: list[str]) -> Any:
        return self.state.embed_model.get_text_embedding_batch(texts)

    @functools.cached_property
    def speller(self) -> Speller:
        """Typo repair against the words of the indexed articles (counted at ingest; an index made before
        that counts them here, on first use); words of English are never repaired."""
        known = english_words()
        if self.state.words is not None:
            return Speller.from_counts(self.state.words, known)
        articles = [self.state.article(i) for i in self.state.article_ids()]
        return Speller.from_texts((f"{a.title}\n{a.text}" for a in articles), known)

    def standalone(self, text: str, turns: list[Turn]) -> Condensed:
        """The question as the offline engine reads it: shorthand written out, typos repaired, follow-ups made
        standalone."""
        return condense(self.speller.correct(expand_shorthand(text)), turns)

    @functools.cached_property
    def engine(self) -> Engine:
        """The engine that answers: the generative one when a model is set, else the offline one."""
        if not self.settings.use_generative:
            return Offline(self.offline)
        from mali_qa.answer.generative import GenerativeEngine  # the model client's imports: only when used

        return GenerativeEngine(self.settings, self.embed_texts)


def pipeline_for(settings: Settings) -> Pipeline:
    """The process's pipeline for these settings (whatever their top_k), reloaded after a re-ingest."""
    with _lock:
        key = _pipeline_keys.get(settings)
    if key is None:  # validating a copy costs milliseconds: once per distinct settings, not per question
        key = settings.with_(top_k=Settings.model_fields["top_k"].default)
    with _lock:
        _pipeline_keys[settings] = key
        pipe = _pipelines.get(key)
        # a stale index whose new one is not loaded yet (an ingest runs) keeps its pipeline
        if pipe is None or (pipe.state.is_stale() and open_index(settings) is not pipe.state):
            pipe = Pipeline(settings)
            _pipelines[key] = pipe
        return pipe


def reset() -> None:
    """Forget every loaded index, model, client and setting (after a re-ingest in another process, or in
    tests)."""
    with _lock:
        cache.clear_all()


def ask(
    question: str,
    *,
    history: Sequence[Turn] | None = None,
    settings: Settings | None = None,
    top_k: int | None = None,
) -> Answer:
    """Answer `question` from the articles, with [n] citations; `answered` is False when they don't say."""
    answer: Answer | None = None
    for item in ask_stream(question, history=history, settings=settings, top_k=top_k):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


def ask_stream(
    question: str,
    *,
    history: Sequence[Turn] | None = None,
    settings: Settings | None = None,
    top_k: int | None = None,
) -> Iterator[str | Answer]:
    """Yield the answer's text in pieces as it is produced, then the final `Answer`."""
    settings = validate_settings(settings)
    text = validate_question(question, settings)
    turns = validate_history(history)
    k = validate_top_k(top_k, settings)
    pipe = pipeline_for(settings)
    asked = Question(text, turns, lambda: pipe.standalone(text, turns))

    def retrieve(query: str) -> list[Passage]:
        return pipe.retrieve(query, k)

    try:
        yield from pipe.engine.stream(asked, retrieve)
    except ModelFailure as failure:  # the one fallback: the offline engine answers, with the notice
        yield from Offline(pipe.offline).fallback(asked, retrieve, failure)
