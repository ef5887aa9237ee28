"""The HTTP service's request bodies, and the JSON it sends back: OpenAI's chat completion and error
shapes, with mali-qa's extra top-level fields (in a whole completion and in the last chunk of a stream):
`citations` (each passage verbatim with its offsets), `answered`, `kind` ("answer", "passages" when the
engine is unsure and quotes the closest passages, "none"), `notice` (why the offline engine answered),
`query` (the standalone question searched) and `unsupported` (sentences of the answer that no cited passage
supports: a client should flag or drop them, as /v1/ask's `unsupported` and the page do)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mali_qa.sources import source_label
from mali_qa.types import Answer, Citation, Turn

#: The model name of the offline engine, beside the chat model when one is configured.
OFFLINE_MODEL = "mali-qa-offline"


class ContentPart(BaseModel):
    """One part of a message's content in OpenAI's list form; only text parts are read."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: str = ""


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """`POST /v1/chat/completions`: the last user message is the question, earlier user and assistant
    messages the history; sampling options of other servers are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(default="", description="mali-qa-offline or the chat model (GET /v1/models)")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation, oldest first")
    stream: bool = Field(default=False, description="Send the answer as server-sent events")
    top_k: int | None = Field(
        default=None, ge=1, le=50, strict=True, description="Passages to retrieve (mali-qa; a whole number)"
    )


class AskRequest(BaseModel):
    """`POST /v1/ask`: the arguments of `mali_qa.ask`."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question about the articles")
    history: list[dict[str, Any]] = Field(
        default_factory=list, description="Earlier turns: {'role': 'user'|'assistant', 'content': str}"
    )
    top_k: int | None = Field(
        default=None, ge=1, le=50, strict=True, description="Passages to retrieve (a whole number, 1-50)"
    )
    model: str = Field(default="", description="mali-qa-offline or the chat model (GET /v1/models)")
    retrieved: bool = Field(default=False, description="Also return every retrieved passage")


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, which must be the user's) and the history of earlier turns;
    system, developer and tool messages are left out: answers come from the articles only."""
    last = messages[-1]
    if last.role != "user":
        raise ValueError(f"the last message must be the user's question, not a {last.role!r} message")
    history: list[Turn] = []
    for message in messages[:-1]:
        if message.role == "user":
            history.append({"role": "user", "content": message.text()})
        elif message.role == "assistant":
            history.append({"role": "assistant", "content": message.text()})
    return last.text(), history


def model_name(answer: Answer) -> str:
    """The engine that wrote the answer, as a model name."""
    return OFFLINE_MODEL if answer.engine == "offline" else answer.engine


def citation_json(number: int, citation: Citation) -> dict[str, Any]:
    """One citation [n]: the passage verbatim, the quoted sentence, and their character offsets into the
    cleaned article (`GET /v1/articles/{source}`); `label` names the source as every front end does, `date`
    (ISO) and `outlet` are "" where the article states none."""
    offsets: dict[str, list[int]] = {
        "passage": [citation.start, citation.end],
        "quote": [citation.quote_start, citation.quote_end],
    }
    if citation.answer_end > citation.answer_start:
        offsets["answer"] = [citation.answer_start, citation.answer_end]
    return {
        "number": number,
        "source": citation.source,
        "title": citation.title,
        "label": source_label(citation),
        "quote": citation.quote,
        "passage": citation.text,
        "offsets": offsets,
        "date": citation.date,
        "outlet": citation.outlet,
        "url": None,  # the articles carry no address today
        "supported": citation.supported,
        "score": citation.score,
    }


def answer_fields(answer: Answer) -> dict[str, Any]:
    """mali-qa's extra top-level fields of a completion."""
    return {
        "citations": [citation_json(n, c) for n, c in enumerate(answer.citations, 1)],
        "answered": answer.answered,
        "kind": answer.kind,
        "notice": answer.notice,
        "query": answer.query,
        "unsupported": list(answer.unsupported),
    }


def answer_json(answer: Answer, *, retrieved: bool = False) -> dict[str, Any]:
    """`POST /v1/ask`'s reply: the Answer as `Answer.to_dict()` gives it, plus the model name."""
    data = answer.to_dict()
    data["model"] = model_name(answer)
    if not retrieved:
        data.pop("retrieved", None)
    return data


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(answer: Answer) -> dict[str, Any]:
    """A whole chat completion (`object: chat.completion`) holding the answer."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name(answer),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        **answer_fields(answer),
    }


def chunk(
    cid: str,
    created: int,
    model: str,
    delta: dict[str, str],
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One streamed piece (`object: chat.completion.chunk`)."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        **extra,
    }


#: OpenAI's error type for each status the service sends.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


def error_json(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    return {
        "error": {
            "message": message,
            "type": ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }
