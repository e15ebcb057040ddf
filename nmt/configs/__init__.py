"""Packaged YAML recipes."""
