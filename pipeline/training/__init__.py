"""Training: the NER and sentiment tasks, the fit loop they share, checkpoints, data-parallel helpers and the logging interface."""
