"""Weights saved on one backend, loaded and predicted on the others."""
