"""Readers, the shared tokenizer and tag-scheme conversions."""
