//! Systems with known solutions, shared by the integrators' tests (`rodas`, `dopri5`).

use nalgebra::{matrix, vector, Const, DimMin, SMatrix, SVector};

use super::rodas::System;

/// y' = A y.
pub struct Linear<const D: usize>(pub SMatrix<f64, D, D>);

impl<const D: usize> System<D> for Linear<D> {
    type Jacobian = SMatrix<f64, D, D>;

    fn rhs(&self, y: &SVector<f64, D>) -> SVector<f64, D> {
        self.0 * y
    }
    fn jacobian(&self, _y: &SVector<f64, D>) -> SMatrix<f64, D, D> {
        self.0
    }
}

impl<const D: usize> Linear<D>
where
    Const<D>: DimMin<Const<D>, Output = Const<D>>,
{
    /// exp(A t) y0.
    pub fn exact(&self, y0: &SVector<f64, D>, t: f64) -> SVector<f64, D> {
        (self.0 * t).exp() * y0
    }
}

/// y' = y^2 from 1 blows up at t = 1.
pub struct BlowUp;

impl System<1> for BlowUp {
    type Jacobian = SMatrix<f64, 1, 1>;

    fn rhs(&self, y: &SVector<f64, 1>) -> SVector<f64, 1> {
        vector![y[0] * y[0]]
    }
    fn jacobian(&self, y: &SVector<f64, 1>) -> SMatrix<f64, 1, 1> {
        matrix![2.0 * y[0]]
    }
}
