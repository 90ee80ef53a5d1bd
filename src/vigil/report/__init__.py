"""Vigil's report layer."""
