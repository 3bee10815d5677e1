"""Embedding: texts into vectors, with sentence-transformers or its OpenVINO conversion."""
