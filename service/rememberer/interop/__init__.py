"""Interop: REMEMBERER's published pools, import/export files and bulk record loads."""
