"""word2vec vectors: training with gensim, safe loading and saving, the vocabulary and embedding matrix a model is built from, intrinsic evaluation."""
