"""Hand-coded numpy derivatives, one module per chapter (plus layers.py for backprop)."""
