"""Memories: what a memory is, who may reach it (keys) and its records."""
