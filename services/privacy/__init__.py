"""A contact's data rights: export everything held, erase on request."""
