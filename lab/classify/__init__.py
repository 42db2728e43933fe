"""The classifier's corpus, training and evaluation (`vigie train`, `vigie eval`)."""
