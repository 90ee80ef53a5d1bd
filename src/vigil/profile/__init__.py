"""Vigil's profile layer."""
