"""Contacts, patients and guardians: phones, notes and timelines."""
