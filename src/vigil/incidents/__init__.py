"""Vigil's incidents layer."""
