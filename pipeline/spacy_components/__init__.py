"""spaCy components: ``w2v_ner`` (sets ``doc.ents``) and ``w2v_textcat`` (sets ``doc.cats``).

Importing the package registers both factories; an installed project also
registers them through the ``spacy_factories`` entry points, so
``spacy.load`` finds them without any import.
"""

from pipeline.spacy_components.ner import W2VEntityRecognizer, make_ner
from pipeline.spacy_components.textcat import W2VTextCategorizer, make_textcat

__all__ = ["W2VEntityRecognizer", "W2VTextCategorizer", "make_ner", "make_textcat"]
