"""Vigil's alert layer."""
