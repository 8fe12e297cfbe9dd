"""Clinics and their catalogue: settings, provider accounts, services, therapists, hours."""
