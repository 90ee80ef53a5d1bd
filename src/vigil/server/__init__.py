"""Vigil's server layer."""
