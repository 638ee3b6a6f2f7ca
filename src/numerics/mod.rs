//! Numerical methods that know nothing of cells: a dense LU with partial pivoting, a
//! Cholesky factor, the
//! stiff Rosenbrock integrator RODAS that the general path steps with, and a Dopri5
//! driver (ode_solvers) kept as an independent non-stiff reference for RODAS. The model
//! reaches them through their traits (`rodas::System`, `rodas::Jacobian`, `lu::Factors`),
//! so they sit below every layer that holds science.

pub mod cholesky;
pub mod dopri5;
pub mod lu;
pub mod rodas;
#[cfg(test)]
mod test_systems;

use nalgebra::SVector;

/// `x` with its subnormal entries set to zero. A compartment that has emptied decays into
/// the subnormal range and stays there (rounding keeps 6e-323 x 0.99 at 6e-323), and
/// arithmetic on subnormal numbers is tens of times slower on x86: the metrics of a shipped
/// scenario run for 100 years took 16 s instead of under one, walking its last 97 years
/// through 1e-320 cells (and the general integrator's 100-year run took 3.3 s of CPU instead
/// of 1.5). Zero instead moves less than 1e-307 cells, far below the 1e-9 of a dose that the
/// mass balance allows.
pub fn without_subnormals<const D: usize>(mut x: SVector<f64, D>) -> SVector<f64, D> {
    x.apply(|v| {
        if v.is_subnormal() {
            *v = 0.0;
        }
    });
    x
}
