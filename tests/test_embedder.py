"""The embedder's backends: OpenVINO (the default) agrees with torch, is converted once
into the cache and reused, keeps torch out of the serving process, and gives way to torch
if the conversion fails."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from rememberer.embedding import openvino_model
from rememberer.embedding.embedder import SentenceEmbedder, TorchEncoder, bundled_model_path
from rememberer.embedding.openvino_model import MIN_AGREEMENT, converted_folder
from tokenizers import Tokenizer

TEXTS = [
    "You are in the middle of a room. Looking quickly around you, you see a cabinet 4.",
    "WebShop [SEP] Instruction: i need a long clip-in hair extension under 40 dollars",
    "x",
    "",
    " ".join(["a page long enough to be truncated at the model's maximum length"] * 60),
    "Ünïcödé 漢字 and punctuation?!",
    "go to cabinet 4",
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return TorchEncoder(bundled_model_path(), threads=None, batch_size=64).encode(TEXTS)


def test_openvino_agrees_with_torch_text_by_text(
    embedder_cache: Path, torch_vectors: np.ndarray
) -> None:
    # A batch of 3 makes several batches, each sorted by length: the answer must still
    # come back in the callers' order.
    embedder = SentenceEmbedder(batch_size=3, cache_dir=embedder_cache)
    vectors = embedder.encode_now(TEXTS)
    assert embedder.backend == "openvino"
    cosines = torch_vectors @ vectors.T
    assert np.all(np.diag(cosines) >= MIN_AGREEMENT)
    # each text is nearest to its own torch vector, so the rows are not shuffled
    assert list(np.argmax(cosines, axis=1)) == list(range(len(TEXTS)))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    one_by_one = np.stack([embedder.encode_now([text])[0] for text in TEXTS])
    assert np.all(np.sum(one_by_one * vectors, axis=1) >= 0.999)


def test_long_texts_are_cut_where_sentence_transformers_cuts_them(embedder_cache: Path) -> None:
    folder = converted_folder(bundled_model_path(), embedder_cache)
    config = json.loads((bundled_model_path() / "sentence_bert_config.json").read_text())
    limit = config["max_seq_length"]
    assert limit == 256  # the bundled model's; its tokenizer.json alone says 128
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    # What follows the 128th token changes the vector only if it is kept.
    long_text = " ".join(["kitchen"] * 150 + ["mountain bicycle tyre"] * 60)
    assert len(tokenizer.encode(long_text).ids) == limit
    torch_vector = TorchEncoder(bundled_model_path(), None, 64).encode([long_text])
    vector = SentenceEmbedder(cache_dir=embedder_cache).encode_now([long_text])
    assert float(np.sum(torch_vector * vector)) >= MIN_AGREEMENT


def test_stats_show_the_embedder_at_work(api: httpx.Client, memory_name: str) -> None:
    api.post("/v1/memories", json={"name": memory_name}).raise_for_status()
    body = {"task": f"{memory_name} task", "observation": f"{memory_name} page"}
    for _ in range(2):  # the second time both texts are cache hits
        api.post(f"/v1/memories/{memory_name}/retrieve", json=body).raise_for_status()
    stats = api.get("/v1/stats").json()
    assert stats["embedder"]["loaded"] is True
    assert stats["embedder"]["backend"] == "openvino"
    assert stats["embedder"]["texts_encoded"] >= 2
    assert stats["embedder"]["encode_seconds"] > 0
    assert stats["embedding_cache"]["hits"] >= 2
    assert stats["process"]["resident_bytes"] > 0


def test_the_converted_model_is_reused(
    embedder_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = converted_folder(bundled_model_path(), embedder_cache)

    def must_not_convert(*_: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(openvino_model, "_run_converter", must_not_convert)
    assert converted_folder(bundled_model_path(), embedder_cache) == first
    assert {p.name for p in first.iterdir()} == {"model.xml", "model.bin", "tokenizer.json"}
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".converting-")]


def test_scratch_of_an_abandoned_conversion_is_removed(embedder_cache: Path) -> None:
    """A process killed while converting leaves its scratch folder behind; the next look-up
    removes it once it is clearly nobody's, and leaves a running conversion's alone."""
    folder = converted_folder(bundled_model_path(), embedder_cache)
    abandoned = folder.parent / ".converting-abandoned"
    running = folder.parent / ".converting-running"
    for scratch in (abandoned, running):
        scratch.mkdir(exist_ok=True)
        (scratch / "model.bin").write_bytes(b"half a model")
    old = time.time() - openvino_model.ABANDONED_AFTER_S - 60
    os.utime(abandoned, (old, old))
    try:
        assert converted_folder(bundled_model_path(), embedder_cache) == folder
        assert not abandoned.exists()
        assert running.is_dir()
    finally:
        shutil.rmtree(abandoned, ignore_errors=True)
        shutil.rmtree(running, ignore_errors=True)


def test_the_converted_model_is_readable_by_other_users(embedder_cache: Path) -> None:
    """The image converts as root and serves as another user: the folder must not stay 0700
    as mkdtemp made it (the service then fell back to torch: "Permission denied")."""
    folder = converted_folder(bundled_model_path(), embedder_cache)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o444 == 0o444, path


def test_a_changed_model_gets_its_own_conversion(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(bundled_model_path(), model)
    before = openvino_model._digest(model)
    (model / "config.json").write_text((model / "config.json").read_text() + "\n")
    assert openvino_model._digest(model) != before


def test_serving_with_openvino_never_imports_torch(embedder_cache: Path) -> None:
    converted_folder(bundled_model_path(), embedder_cache)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rememberer.embedding.embedder import SentenceEmbedder\n"
        f"embedder = SentenceEmbedder(cache_dir=Path({str(embedder_cache)!r}))\n"
        "assert embedder.encode_now(['hello']).shape == (1, 384)\n"
        "assert embedder.backend == 'openvino'\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_failed_conversion_falls_back_to_torch(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    torch_vectors: np.ndarray,
) -> None:
    def broken_converter(model_path: Path, out: Path) -> None:
        raise RuntimeError("OpenVINO conversion failed: no such operator")

    monkeypatch.setattr(openvino_model, "_run_converter", broken_converter)
    embedder = SentenceEmbedder(cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.ERROR, logger="rememberer.embedding.embedder"):
        vectors = embedder.encode_now(TEXTS[:2])
    assert embedder.backend == "torch"
    assert "using torch" in caplog.text and "no such operator" in caplog.text
    assert np.allclose(vectors, torch_vectors[:2], atol=1e-5)
    assert not list((tmp_path / "cache" / "openvino").iterdir())  # no half-made folder left
