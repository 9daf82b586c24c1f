"""Phonebook: groups of numbers, customers, atomic streaming imports with progress, exports."""
