"""Rasa Core components of the project (dialogue policies)."""
