"""Vigil's detect layer."""
