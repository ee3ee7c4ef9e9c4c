"""Compose (issue: compose): loads compose files into a model and converges a
project through the engine's interface only."""
