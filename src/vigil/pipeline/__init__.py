"""Vigil's pipeline layer."""
