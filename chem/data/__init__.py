"""Data files shipped with chem (reaction templates, substituent lists)."""
