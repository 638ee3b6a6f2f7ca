//! Numerical methods that know nothing of cells: a dense LU with partial pivoting, the
//! stiff Rosenbrock integrator RODAS that the general path steps with, and a Dopri5
//! driver (ode_solvers) kept as an independent non-stiff reference for RODAS. The model
//! reaches them through their traits (`rodas::System`, `rodas::Jacobian`, `lu::Factors`),
//! so they sit below every layer that holds science.

pub mod dopri5;
pub mod lu;
pub mod rodas;
#[cfg(test)]
mod test_systems;
