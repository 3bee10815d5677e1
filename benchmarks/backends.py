"""The embedder's backends side by side: `python -m benchmarks.backends`.

Torch (sentence-transformers as is) is the reference; OpenVINO is what the service runs by
default (rememberer.openvino_model). With `pip install onnxruntime onnx` (not project
dependencies) ONNX Runtime joins, fp32 and with dynamic int8 weights: sentence-transformers'
own `backend="onnx"` / `"openvino"` need optimum-onnx / optimum-intel, whose releases on
PyPI import names that transformers 5 (what sentence-transformers 6 installs here) no
longer has, so the model is exported here with `torch.onnx` (nothing is downloaded).

Each row: batched throughput, one-text latency and cosine agreement with torch (the bar
for a backend: >= 2x faster with >= 0.99 cosine agreement).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rememberer.embedding.embedder import SentenceEmbedder, TorchEncoder, bundled_model_path
from rememberer.embedding.openvino_model import INPUTS

from benchmarks.embedding_bench import page_texts

Encode = Callable[[list[str]], np.ndarray]
BATCH = 64


def _export(model: Any, path: Path) -> None:
    import torch

    transformer = model[0].auto_model

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    example = model.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    torch.onnx.export(
        LastHiddenState(),
        tuple(example[name] for name in INPUTS),
        str(path),
        input_names=list(INPUTS),
        output_names=["hidden"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in [*INPUTS, "hidden"]},
        opset_version=17,
        dynamo=False,
    )


def _ort_encoder(model: Any, path: Path, threads: int) -> Encode:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, ["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), BATCH):
            batch = model.tokenizer(
                texts[start : start + BATCH],
                padding=True,
                truncation=True,
                max_length=model.max_seq_length,
                return_tensors="np",
            )
            feeds = {name: batch[name].astype(np.int64) for name in INPUTS}
            hidden = session.run(None, feeds)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            mean = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
            parts.append(mean / np.linalg.norm(mean, axis=1, keepdims=True))
        return np.concatenate(parts)

    return encode


def _speed(encode: Encode, texts: list[str]) -> tuple[float, float, np.ndarray]:
    encode(texts[:BATCH])
    started = time.perf_counter()
    vectors = encode(texts)
    per_second = len(texts) / (time.perf_counter() - started)
    singles = []
    for text in texts[:30]:
        started = time.perf_counter()
        encode([text])
        singles.append((time.perf_counter() - started) * 1000)
    return per_second, float(np.median(singles)), vectors


@dataclass(frozen=True)
class BackendRow:
    name: str
    texts_per_second: float
    single_text_ms: float
    cosine_min: float
    cosine_mean: float


def onnx_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None and (
        importlib.util.find_spec("onnx") is not None
    )


def compare(texts: list[str], threads: int) -> list[BackendRow]:
    """Torch, OpenVINO, and ONNX Runtime fp32 / int8 if installed, on the same texts and
    threads."""
    torch_encoder = TorchEncoder(bundled_model_path(), threads, BATCH)
    speed, single, base = _speed(torch_encoder.encode, texts)
    rows = [BackendRow("torch (reference)", speed, single, 1.0, 1.0)]
    openvino = SentenceEmbedder(threads=threads, batch_size=BATCH, backend="openvino")
    encoders: list[tuple[str, Encode]] = [("OpenVINO (the service's)", openvino.encode_now)]
    with tempfile.TemporaryDirectory() as folder:
        if onnx_available():
            encoders += _onnx_encoders(Path(folder), threads)
        for name, encode in encoders:
            speed, single, vectors = _speed(encode, texts)
            cosine = np.sum(base * vectors, axis=1)
            rows.append(BackendRow(name, speed, single, float(cosine.min()), float(cosine.mean())))
    return rows


def _onnx_encoders(folder: Path, threads: int) -> list[tuple[str, Encode]]:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    _export(model, fp32)
    # Per-channel int8 weights of the matrix products only: of the dynamic
    # quantisations tried, the one that kept the best agreement.
    quantize_dynamic(
        fp32,
        int8,
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
    )
    return [
        ("ONNX Runtime fp32", _ort_encoder(model, fp32, threads)),
        ("ONNX Runtime int8", _ort_encoder(model, int8, threads)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rows = compare(page_texts(args.texts, seed=1, prefix="page"), args.threads)
    base = rows[0]
    for row in rows:
        print(  # noqa: T201
            f"{row.name:20} {row.texts_per_second:7.0f} texts/s "
            f"({row.texts_per_second / base.texts_per_second:.1f}x)  one text "
            f"{row.single_text_ms:6.1f} ms ({base.single_text_ms / row.single_text_ms:.1f}x)  "
            f"cosine min {row.cosine_min:.4f} mean {row.cosine_mean:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
