"""The index's Chroma side: the client (the only place chromadb is imported), the names of its collections
and the ids of sentence vectors."""

from __future__ import annotations

from typing import Any

from mali_qa.config import Settings
from mali_qa.errors import IndexUnavailableError, MaliQAError
from mali_qa.store.folder import REBUILD_HINT, check_store_folder, paths_for, read_only_message


def chroma_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    telemetry = ChromaSettings(anonymized_telemetry=False)
    check_store_folder(paths_for(settings))
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=telemetry
            )
        paths_for(settings).chroma.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(paths_for(settings).chroma), settings=telemetry)
    except MaliQAError:
        raise
    except Exception as exc:
        if not settings.chroma_host and (message := read_only_message(paths_for(settings))):
            raise IndexUnavailableError(message) from exc
        where = (
            f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} (is it running?)"
            if settings.chroma_host
            else f"the index in {paths_for(settings).chroma}"
        )
        raise IndexUnavailableError(f"cannot open {where}: {type(exc).__name__}; {REBUILD_HINT}") from exc


def drop_chroma_clients() -> None:
    """Close this process's Chroma clients (before the local store's folder is deleted)."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def forget_chroma_client(settings: Settings) -> None:
    """Make the next `chroma_client` of a local store a new one: the process's client of it reads what it
    had cached, not what another process's ingest wrote since. Clients in use go on as they are."""
    if settings.chroma_host:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    systems = SharedSystemClient._identifier_to_system  # chromadb keys its shared clients by the folder
    systems.pop(str(paths_for(settings).chroma), None)


def sentence_collection_name(settings: Settings) -> str:
    return f"{settings.collection}_sentences"


def sentence_ids(passage_id: str, n_sentences: int) -> list[str]:
    """Ids of the sentence vectors of a passage: `<passage id>/<j>` for its j-th sentence."""
    return [f"{passage_id}/{j}" for j in range(n_sentences)]
