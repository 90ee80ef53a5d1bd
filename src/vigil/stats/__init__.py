"""Vigil's stats layer."""
