"""Readers of every input format, the prepared splits, the shared tokenizer, tag-scheme conversions and length-bucketed batching."""
