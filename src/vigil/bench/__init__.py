"""Vigil's bench layer."""
