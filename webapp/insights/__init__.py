"""Insights: response times, noise and load, computed in SQL, drawn as SVG."""
