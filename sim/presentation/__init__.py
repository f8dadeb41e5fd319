"""Presentation: figures, the HTML report, the demo, its story and the scenario guide."""
