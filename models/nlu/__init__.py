"""NLU model code for the Rasa assistant: the sentence-embedding featurizer and the NLU benchmark."""
