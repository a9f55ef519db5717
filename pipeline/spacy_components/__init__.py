"""spacy_components."""
