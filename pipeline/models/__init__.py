"""The neural models, each owning its config, encoding, inference and model-directory save/load: the BiLSTM-CRF tagger and the recurrent text classifier."""
