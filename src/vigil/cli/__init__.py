"""Vigil's cli layer."""
