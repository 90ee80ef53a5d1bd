"""Vigil's store layer."""
