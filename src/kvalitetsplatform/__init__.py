"""Kvalitetsplatformen: the quality platform for Danish general practice."""

__version__ = "0.1.0"
