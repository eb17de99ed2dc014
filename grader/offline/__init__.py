"""Offline stand-ins for what the lab downloads: ImageNet weights and the cats-vs-dogs data."""
