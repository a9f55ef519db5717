"""Classical baselines the neural models are measured against."""
