"""Uncertainty: posteriors over free parameters, coverage of ensemble bands, paired intervals."""
