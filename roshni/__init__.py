"""The composition root: app factory, CLI, demo seed; the one place importing every layer."""
