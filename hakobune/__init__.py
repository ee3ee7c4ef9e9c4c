"""hakobune (箱舟, "the box ship"): a container engine that does what Docker does.

The packages and the way their dependencies point are described in
docs/ARCHITECTURE.md.  Importing this package imports nothing else, so that the
start path of every command stays lean.
"""

__version__ = "0.1.0"
