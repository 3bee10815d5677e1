"""The sentence-transformers model as an OpenVINO model, converted once and kept on disk.

Conversion needs torch; serving does not. So conversion runs in a child process
(`python -m rememberer.openvino_model MODEL OUT`), and the service process loads only the
converted model and the tokenizer, which keeps torch (and its ~300 MB) out of it.

A converted folder holds `model.xml`/`model.bin` (the whole sentence-transformers pipeline:
transformer, pooling, normalisation) and `tokenizer.json` (the model's own fast tokenizer,
set to truncate at the model's `max_seq_length` and to pad to the longest text). Its name
is a digest of the model's files and the OpenVINO version, so a changed model or runtime
gets a fresh conversion.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from rememberer.embedding.embedder import Vector

logger = logging.getLogger(__name__)

# Raise it when what a converted folder holds changes.
FORMAT = 1
# The model's inputs, as its tokenizer names them.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MIN_AGREEMENT = 0.99  # cosine with the torch model, the bar a backend must clear
CONVERT_TIMEOUT_SECONDS = 600
PROBES = (
    "",
    "search",
    "WebShop [SEP] Instruction: i need a long clip-in hair extension, under 40 dollars",
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 4, "
    "a countertop 1, a drawer 2, a fridge 1, a sinkbasin 1, and a toaster 1.",
    "Ünïcödé 漢字 emoji 🙂 and punctuation?!",
    " ".join(["long page with many words to truncate"] * 80),
)


ABANDONED_AFTER_S = 15 * 60


def converted_folder(model_path: Path, cache_dir: Path) -> Path:
    """The converted model of `model_path` under `cache_dir`, converting it if needed."""
    folder = cache_dir / "openvino" / _digest(model_path)
    _remove_abandoned_scratch(folder.parent)
    if (folder / "model.xml").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a private folder, then rename: concurrent workers never see half a model.
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=folder.parent))
    try:
        logger.info("converting %s to OpenVINO (once) into %s", model_path, folder)
        _run_converter(model_path, scratch)
        _readable_by_all(scratch)
        try:
            scratch.rename(folder)
        except OSError:
            if not (folder / "model.xml").is_file():  # not a concurrent worker's success
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _remove_abandoned_scratch(parent: Path) -> None:
    """Removes the scratch folders of conversions whose process ended mid-way (killed, or
    exited while a warm-up thread was converting): a conversion takes well under a minute,
    so a scratch folder untouched for ABANDONED_AFTER_S is nobody's."""
    if not parent.is_dir():
        return
    now = time.time()
    for scratch in parent.glob(".converting-*"):
        try:
            abandoned = now - scratch.stat().st_mtime > ABANDONED_AFTER_S
        except OSError:  # removed by another process meanwhile
            continue
        if abandoned:
            shutil.rmtree(scratch, ignore_errors=True)


def _readable_by_all(folder: Path) -> None:
    """mkdtemp made the folder 0700: a model converted by one user (root, building an image)
    must load for another (the service's own user). It holds nothing secret."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _digest(model_path: Path) -> str:
    digest = hashlib.sha256(f"format {FORMAT} openvino {version('openvino')}".encode())
    for file in sorted(p for p in model_path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(model_path)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _run_converter(model_path: Path, out: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "rememberer.embedding.openvino_model",
        str(model_path),
        str(out),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_SECONDS
    )
    if done.returncode != 0:
        raise RuntimeError(f"OpenVINO conversion failed: {done.stderr.strip()[-2000:]}")


def convert(model_path: Path, out: Path) -> float:
    """Convert (in this process, which imports torch) and check the agreement; returns the
    lowest cosine between the converted and the torch model over the probe texts."""
    # ovc reports usage to Intel unless told otherwise; a service must not. Without its
    # telemetry package, ovc uses a stub.
    sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    import openvino
    import torch
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    model = SentenceTransformer(str(model_path), device="cpu").eval()
    tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
    # What sentence-transformers truncates at: its max_seq_length, else the tokenizer's.
    tokenizer.enable_truncation(model.max_seq_length or model.tokenizer.model_max_length)
    tokenizer.enable_padding(
        pad_id=model.tokenizer.pad_token_id, pad_token=model.tokenizer.pad_token
    )
    example = model.tokenizer(["a b c", "d"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        converted = openvino.convert_model(
            _whole_pipeline(model), example_input={name: example[name] for name in INPUTS}
        )
    openvino.save_model(converted, str(out / "model.xml"))
    tokenizer.save(str(out / "tokenizer.json"))
    expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    got = OpenVinoEncoder(out, threads=None).encode(list(PROBES))
    agreement = float(np.min(np.sum(expected * got, axis=1)))
    if agreement < MIN_AGREEMENT:
        raise RuntimeError(f"converted model agrees only to cosine {agreement:.4f}")
    return agreement


def _whole_pipeline(model: Any) -> Any:
    """Token ids in, the sentence-transformers embedding out (pooling included)."""
    import torch

    class WholePipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            features = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": token_type_ids,
            }
            return self.model(features)["sentence_embedding"]

    return WholePipeline()


class OpenVinoEncoder:
    """A converted folder, compiled for this CPU (bf16 where the CPU has AMX, else fp32)."""

    def __init__(self, folder: Path, threads: int | None, batch_size: int = 64) -> None:
        import openvino
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = threads
        compiled = openvino.Core().compile_model(str(folder / "model.xml"), "CPU", config)
        self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self._request = compiled.create_infer_request()
        self._batch_size = batch_size

    def encode(self, texts: list[str]) -> Vector:
        # Longest first, as sentence-transformers does: batches of alike lengths pad little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        parts = [
            self._infer([texts[i] for i in order[start : start + self._batch_size]])
            for start in range(0, len(order), self._batch_size)
        ]
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        by_length = np.concatenate(parts)
        in_order = np.empty_like(by_length)
        in_order[order] = by_length
        return in_order

    def _infer(self, texts: list[str]) -> Vector:
        encoded = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
        }
        return np.asarray(self._request.infer(feeds)[0], dtype=np.float32)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    agreement = convert(Path(argv[0]), Path(argv[1]))
    logger.info("converted; lowest cosine with the torch model %.5f", agreement)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
