"""Real agent text embedded by the service's own model, as a memory for the recall runs.

The pairs are TextWorld (objective, observation) pairs (textworld_corpus.py, checked in as
`corpora/textworld.jsonl.gz`) and the records of the paper's published pools (WebShop and
WikiHow: the repository's copy in `tests/fixtures/rememberer-pools`, or `REMEMBERER_POOLS_DIR`).
Each distinct text is embedded once with the bundled all-MiniLM-L6-v2 (the service's
embedder) and the vectors are kept in a cache file beside the corpus, so a second run does
not embed again.

Queries are pairs held out of the memory, as an agent asks them: most on an objective the
memory has other pairs of, the rest (as many as in the synthetic distributions) on one of a
few objectives held out of the memory whole. A memory larger than the corpus repeats its
pairs with a small variation of the observation's vector (cos ≈ 0.97 to the original, about
what a reworded feedback line gives), because embedding 100k distinct texts on two shared
cores takes longer than the rest of the benchmark together.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rememberer.embedding.embedder import SentenceEmbedder
from rememberer.interop.pools import load_pool, pool_items

from benchmarks.data import DIMENSION, Dataset, Matrix, unit_rows
from benchmarks.distributions import SEEN_TASK_SHARE, Memory

logger = logging.getLogger(__name__)

CORPUS = Path(__file__).resolve().parent / "corpora" / "textworld.jsonl.gz"
_REPOSITORY = Path(__file__).resolve().parent.parent
POOLS = Path(
    os.environ.get("REMEMBERER_POOLS_DIR", _REPOSITORY / "tests" / "fixtures" / "rememberer-pools")
)
# Length of the jitter that makes a repeated pair's observation a variant of the original.
VARIATION = 0.25
NAME = "textworld"
# Objectives held out of the memory whole, for the new-task queries (of 44).
NEW_TASKS = 6


def corpus_pairs(corpus: Path = CORPUS, pools: Path = POOLS) -> list[tuple[str, str]]:
    """Distinct (task, observation) pairs: TextWorld's, then the pools' (if present)."""
    pairs: dict[tuple[str, str], None] = {}
    with gzip.open(corpus, "rt", encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            pairs[(item["task"], item["observation"])] = None
    for path in sorted(pools.glob("*.yaml")) if pools.is_dir() else []:
        for record in pool_items(load_pool(path.read_text(encoding="utf-8"), path.name)):
            pairs[(record["task"], record["observation"])] = None
    return list(pairs)


def embeddings(texts: list[str], cache: Path) -> dict[str, Matrix]:
    """Unit vectors of `texts` by the service's model, cached in `cache` (.npz)."""
    known: dict[str, Matrix] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        logger.info("embedding %d texts with the service's model", len(missing))
        vectors = SentenceEmbedder(threads=2).encode_now(missing)
        known.update(zip(missing, unit_rows(vectors), strict=True))
        every = list(known)
        np.savez(cache, texts=np.array(every), vectors=np.stack([known[t] for t in every]))
    return {t: known[t] for t in texts}


def textworld(size: int, queries: int, seed: int, cache_dir: Path) -> Memory:
    pairs = corpus_pairs()
    vectors = embeddings([t for pair in pairs for t in pair], cache_dir / "textworld.npz")
    rng = np.random.default_rng(seed)
    asked, kept = _held_out(pairs, queries, rng)
    rows = kept[np.arange(size) % len(kept)]
    repeat = np.arange(size) // len(kept)
    tasks = np.stack([vectors[pairs[i][0]] for i in rows])
    observations = np.stack([vectors[pairs[i][1]] for i in rows])
    varied = repeat > 0
    jitter = rng.standard_normal((int(varied.sum()), DIMENSION)) * VARIATION / np.sqrt(DIMENSION)
    observations[varied] = unit_rows(observations[varied] + jitter)
    data = Dataset(
        task_texts=[pairs[i][0] for i in rows],
        observation_texts=[
            pairs[i][1] + (f" [variant {r}]" if r else "")
            for i, r in zip(rows, repeat, strict=True)
        ],
        tasks=tasks.astype(np.float32),
        observations=observations.astype(np.float32),
    )
    question = Dataset(
        task_texts=[pairs[i][0] for i in asked],
        observation_texts=[pairs[i][1] for i in asked],
        tasks=np.stack([vectors[pairs[i][0]] for i in asked]).astype(np.float32),
        observations=np.stack([vectors[pairs[i][1]] for i in asked]).astype(np.float32),
    )
    return Memory(NAME, data, question)


def _held_out(
    pairs: list[tuple[str, str]], queries: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(asked, kept): indices of the query pairs and of the memory's pairs. New-task queries
    are pairs of NEW_TASKS objectives the memory has no pair of."""
    objectives = list(dict.fromkeys(task for task, _ in pairs))
    new = {objectives[i] for i in rng.permutation(len(objectives))[:NEW_TASKS]}
    of_new = np.array([i for i, (task, _) in enumerate(pairs) if task in new], dtype=np.int64)
    of_seen = np.array([i for i, (task, _) in enumerate(pairs) if task not in new], dtype=np.int64)
    new_queries = min(len(of_new), round(queries * (1 - SEEN_TASK_SHARE)))
    seen_order = rng.permutation(of_seen)
    asked_seen, kept = seen_order[: queries - new_queries], seen_order[queries - new_queries :]
    asked = np.concatenate([asked_seen, rng.permutation(of_new)[:new_queries]])
    return asked, kept
