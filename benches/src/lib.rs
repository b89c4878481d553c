//! Criterion benchmarks of the nnid stages live in `benches/benches/`.
