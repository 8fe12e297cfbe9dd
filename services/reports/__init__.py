"""The dashboard's numbers, read across domains."""
