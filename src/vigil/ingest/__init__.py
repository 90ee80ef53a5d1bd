"""Vigil's ingest layer."""
