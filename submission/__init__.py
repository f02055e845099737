"""The intake server: a Flask app that seals what sources upload as it streams in."""
