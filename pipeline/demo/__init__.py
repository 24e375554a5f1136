"""Synthetic production data: a complete source directory that behaves like a real product's."""
