"""The modules of the model: one mechanism each."""
