"""The FastAPI app of `mali-qa serve`: OpenAI's chat completions and models, /v1/ask, /v1/articles and
/health, behind the guards of `security`; every error in OpenAI's error shape, unexpected ones included.
An answer holds a slot of MALI_QA_SERVER_MAX_CONCURRENT until it ends, however it ends; a client that goes
away stops its model call; a stream that fails ends with an error event and `[DONE]`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mali_qa.answer.llm import Cancelled, cancel_on
from mali_qa.config import WARM_UP_QUESTION, Settings
from mali_qa.errors import IndexUnavailableError, InvalidQuestionError, MaliQAError
from mali_qa.library import get_article, index_info, list_articles
from mali_qa.server.docs import add_offline_docs
from mali_qa.server.schemas import (
    OFFLINE_MODEL,
    AskRequest,
    ChatRequest,
    answer_fields,
    answer_json,
    chunk,
    completion,
    completion_id,
    error_json,
    model_name,
    split_conversation,
)
from mali_qa.server.security import (
    RETRY_AFTER_S,
    BodyLimit,
    HostCheck,
    Limiter,
    Slot,
    TokenCheck,
    allowed_hosts,
    check_token,
    without_paths,
)
from mali_qa.server.streaming import AnswerStream, pull_next, sse_event, until_disconnect
from mali_qa.service import ask, ask_stream, default_settings, pipeline_for
from mali_qa.sources import source_label
from mali_qa.types import Answer, Turn

log = logging.getLogger("mali_qa.server")

#: Asked once at start-up, so that the first client does not wait for the index and the model to load.


#: The token scheme as /docs shows it (the check itself is `TokenCheck`, which also covers no token).
BEARER = HTTPBearer(auto_error=False, description="MALI_QA_SERVER_TOKEN, when the server sets one")


class ApiError(Exception):
    """An error response in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers


class Engines:
    """The settings behind each model name the service offers; the first one is the default."""

    def __init__(self, settings: Settings) -> None:
        self.by_model: dict[str, Settings] = {}
        if settings.use_generative:
            self.by_model[settings.chat_model] = settings
            self.by_model[OFFLINE_MODEL] = settings.with_(engine="offline")
        else:
            self.by_model[OFFLINE_MODEL] = settings
        self.default = next(iter(self.by_model))

    def settings_for(self, model: str) -> Settings:
        if not model:
            return self.by_model[self.default]
        if model not in self.by_model:
            raise ApiError(
                404,
                f"the model {model!r} is not served here: use one of {', '.join(self.by_model)} "
                "(GET /v1/models)",
                code="model_not_found",
                param="model",
            )
        return self.by_model[model]


def _error_response(exc: ApiError) -> JSONResponse:
    body = error_json(exc.status, exc.message, code=exc.code, param=exc.param)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def _as_api_error(exc: Exception, settings: Settings) -> ApiError:
    """Any error of answering as an ApiError; the text of an unexpected one is logged only in debug mode."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidQuestionError):
        return ApiError(400, str(exc), code="invalid_question")
    if isinstance(exc, IndexUnavailableError):
        return ApiError(503, str(exc), code="index_unavailable")
    if isinstance(exc, MaliQAError):  # its message is written to be shown and names the fix
        return ApiError(500, str(exc), code="server_error")
    log.error("unexpected %s while answering", type(exc).__name__, exc_info=settings.debug)
    return ApiError(
        500, f"internal error ({type(exc).__name__}): see the server's log (MALI_QA_DEBUG=1 for details)"
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "the request is not valid", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON: send a JSON object", None
    where = ".".join(loc)
    return (f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))), (
        loc[0] if loc else None
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app over `settings` (default: `.env` and the environment); uvicorn calls it as a factory."""
    settings = settings or default_settings()
    check_token(settings)
    engines = Engines(settings)
    limiter = Limiter(settings.server_max_concurrent)
    tokens = TokenCheck(settings)

    def warm_up() -> None:
        try:
            for engine_settings in engines.by_model.values():
                pipeline_for(engine_settings)
            ask(WARM_UP_QUESTION, settings=engines.by_model[OFFLINE_MODEL])
        except MaliQAError as exc:  # /health says so, and every answer is a 503 naming the fix
            log.error("the index could not be loaded: %s", exc)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(warm_up)
        yield

    app = FastAPI(
        title="mali-qa",
        summary="Answers from news articles, every sentence quoted and cited; OpenAI-compatible.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by add_offline_docs, with no CDN
        redoc_url=None,
    )
    add_offline_docs(app)
    app.add_middleware(BodyLimit, limit=settings.server_max_body_bytes)
    origins = [o.strip() for o in settings.server_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HostCheck, allowed=allowed_hosts(settings))  # outermost: before anything answers

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return _error_response(ApiError(400, message, code="invalid_request", param=param))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _error_response(_as_api_error(exc, settings))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        message = {
            404: f"no such endpoint: {request.url.path} (the endpoints are listed at /docs)",
            405: f"{request.method} is not allowed on {request.url.path}: use {headers.get('Allow', 'another method')}",
        }.get(exc.status_code, str(exc.detail))
        return _error_response(ApiError(exc.status_code, message, headers=headers))

    async def authorize(
        request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
    ) -> None:
        server = request.scope.get("server")
        problem = tokens.problem(request.headers.get("authorization"), server[0] if server else None)
        if problem is not None:
            code, message = problem
            raise ApiError(
                code,
                message,
                code="invalid_api_key" if code == 401 else "loopback_only",
                headers={"WWW-Authenticate": "Bearer"} if code == 401 else None,
            )

    def take_slot() -> Slot:
        slot = limiter.take()
        if slot is None:
            raise ApiError(
                429,
                f"the server is already answering {limiter.limit} questions (MALI_QA_SERVER_MAX_CONCURRENT): "
                f"retry after {RETRY_AFTER_S} s",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return slot

    async def answer(
        request: Request, question: Any, history: Any, chosen: Settings, top_k: int | None
    ) -> Answer:
        slot, gone = take_slot(), threading.Event()
        watcher = asyncio.ensure_future(until_disconnect(request.receive, gone))
        token = cancel_on.set(gone)
        try:
            return await run_in_threadpool(ask, question, history=history, settings=chosen, top_k=top_k)
        except Cancelled:
            raise ApiError(499, "the client closed the request", code="client_closed_request") from None
        except Exception as exc:
            raise _as_api_error(exc, settings) from None
        finally:
            cancel_on.reset(token)
            gone.set()
            watcher.cancel()
            slot.release()

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorize)])

    @v1.post(
        "/chat/completions",
        summary="OpenAI chat completion, with `citations`, `answered` and `unsupported` (sentences no cited "
        "passage supports)",
    )
    async def chat_completions(body: ChatRequest, request: Request) -> Any:
        chosen = engines.settings_for(body.model)
        try:
            question, history = split_conversation(body.messages)
        except ValueError as exc:
            raise ApiError(400, str(exc), code="invalid_request", param="messages") from None
        if body.stream:
            return await stream_completion(request, question, history, chosen, body.top_k)
        return completion(await answer(request, question, history, chosen, body.top_k))

    async def stream_completion(
        request: Request, question: str, history: list[Turn], chosen: Settings, top_k: int | None
    ) -> StreamingResponse:
        slot, gone = take_slot(), threading.Event()
        try:  # the first item: a bad question is still an error response, not a broken stream
            items = ask_stream(question, history=history, settings=chosen, top_k=top_k)
            watcher = asyncio.ensure_future(until_disconnect(request.receive, gone))
            try:
                first = await pull_next(items, gone)
            finally:
                watcher.cancel()
        except BaseException as exc:
            slot.release()
            if isinstance(exc, Cancelled):
                raise ApiError(499, "the client closed the request", code="client_closed_request") from None
            if not isinstance(exc, Exception):
                raise
            raise _as_api_error(exc, settings) from None
        requested = chosen.chat_model if chosen.use_generative else OFFLINE_MODEL
        return AnswerStream(completion_events(first, items, requested, slot, gone), slot, gone)

    async def completion_events(
        item: str | Answer | None,
        items: Iterator[str | Answer],
        requested: str,
        slot: Slot,
        gone: threading.Event,
    ) -> AsyncIterator[bytes]:
        cid, created = completion_id(), int(time.time())
        sent: list[str] = []
        try:
            yield sse_event(chunk(cid, created, requested, {"role": "assistant", "content": ""}))
            while isinstance(item, str):
                sent.append(item)
                yield sse_event(chunk(cid, created, requested, {"content": item}))
                item = await pull_next(items, gone)
            if item is None:
                raise RuntimeError("the answer stream ended without an Answer")
            final, streamed = item, "".join(sent)
            if final.text != streamed:  # a model that failed part-way: the offline answer follows its words
                rest = (
                    final.text[len(streamed) :]
                    if final.text.startswith(streamed)
                    else f"\n\n({final.notice})\n\n{final.text}"
                    if final.notice
                    else f"\n\n{final.text}"
                )
                yield sse_event(chunk(cid, created, requested, {"content": rest}))
            yield sse_event(chunk(cid, created, model_name(final), {}, "stop", **answer_fields(final)))
        except Cancelled:
            return  # the client went away: nobody reads an error event
        except Exception as exc:
            error = _as_api_error(exc, settings)
            yield sse_event(error_json(error.status, error.message, code=error.code))
        finally:
            gone.set()
            slot.release()
            with contextlib.suppress(ValueError):  # still running on a thread: it stops on `gone`
                getattr(
                    items, "close", lambda: None
                )()  # the model call's generators end now, not at collection
        yield sse_event("[DONE]")

    @v1.post("/ask", summary="The Answer of `mali_qa.ask` as JSON")
    async def ask_endpoint(body: AskRequest, request: Request) -> dict[str, Any]:
        chosen = engines.settings_for(body.model)
        result = await answer(request, body.question, body.history, chosen, body.top_k)
        return answer_json(result, retrieved=body.retrieved)

    @v1.get("/models", summary="The engines this server answers with")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "mali-qa"}
                for name in engines.by_model
            ],
        }

    @v1.get("/articles", summary="The indexed articles (id, headline, label, date, outlet, length)")
    async def articles(
        offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
    ) -> dict[str, Any]:
        try:
            found = await run_in_threadpool(list_articles, settings)
        except Exception as exc:
            raise _as_api_error(exc, settings) from None
        page = found[offset : offset + limit]
        return {
            "object": "list",
            "total": len(found),
            "data": [
                {
                    "id": a.id,
                    "title": a.title,
                    "label": source_label(a),
                    "date": a.date,
                    "outlet": a.outlet,
                    "characters": len(a.text),
                }
                for a in page
            ],
        }

    @v1.get("/articles/{article_id}", summary="One article's cleaned text (citation offsets point into it)")
    async def article(article_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,200}$")]) -> dict[str, Any]:
        try:
            await run_in_threadpool(index_info, settings)
        except Exception as exc:
            raise _as_api_error(exc, settings) from None
        try:
            found = await run_in_threadpool(get_article, article_id, settings)
        except IndexUnavailableError:
            raise ApiError(
                404, f"no article {article_id!r} in the index: GET /v1/articles lists them", code="not_found"
            ) from None
        return {
            "id": found.id,
            "title": found.title,
            "label": source_label(found),
            "date": found.date,
            "outlet": found.outlet,
            "text": found.text,
        }

    app.include_router(v1)

    @app.get("/health", summary="Whether the index is loaded, and what it holds (no token needed)")
    async def health(request: Request) -> JSONResponse:
        try:
            info = await run_in_threadpool(index_info, settings)
        except MaliQAError as exc:
            token = settings.server_token.get_secret_value()
            trusted = token and tokens.problem(request.headers.get("authorization"), None) is None
            body = {  # server paths only for a client holding the token
                "status": "unavailable",
                "index_loaded": False,
                "error": str(exc) if trusted else without_paths(str(exc)),
            }
            return JSONResponse(body, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "index_loaded": True,
                "articles": info.articles,
                "passages": info.passages,
                "built_at": info.built_at,
                "models": list(engines.by_model),
            }
        )

    return app
