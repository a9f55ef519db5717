"""Inference APIs for trained models."""
