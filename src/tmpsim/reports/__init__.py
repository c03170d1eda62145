"""Figures and reports made from run folders."""
