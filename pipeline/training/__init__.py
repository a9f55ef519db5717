"""Training machinery shared by the tagger and the classifier: batching, checkpoints, the fit loop."""
