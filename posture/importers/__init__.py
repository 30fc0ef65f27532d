"""Importers: one module per input format, each turning bytes into plain records without the database."""
