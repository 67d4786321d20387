"""Benchmarks: what Jacobians and Hessians cost, by every approach."""
