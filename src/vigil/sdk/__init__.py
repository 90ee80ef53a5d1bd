"""Vigil's sdk layer."""
