"""Test bed shared by pytest, Molecule scenarios, the demo and the benchmarks."""
