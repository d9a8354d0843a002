"""Test data: `make idl` compiles idl/alltypes, calculator and jsonshapes here (not shipped)."""
