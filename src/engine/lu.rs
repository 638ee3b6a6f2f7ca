//! Dense LU factors with partial pivoting, for the iteration matrices of `rodas`.

use nalgebra::{SMatrix, SVector};

use super::rodas::Factors;

/// The LU factors of a square matrix, from Gaussian elimination with partial pivoting.
/// Written out because nalgebra's `lu()` on a matrix of generic size needs a `DimMin`
/// bound that every generic caller of [`integrate`](super::rodas::integrate) would have
/// to repeat.
#[derive(Debug)]
pub struct Lu<const D: usize> {
    /// L below the diagonal (its unit diagonal implied) and U on and above it.
    factors: SMatrix<f64, D, D>,
    /// Row k was swapped with row `pivots[k]` at elimination step k.
    pivots: [usize; D],
    /// 1 / U's diagonal: a division's latency, paid once per factorization instead of
    /// once per row in every solve, was a third of a step's time.
    inverse_diagonal: [f64; D],
}

impl<const D: usize> Lu<D> {
    /// The factors of `a`, or `None` if a pivot is exactly zero (`a` is singular).
    ///
    /// Works on the column-major storage column by column, through slices, so that the
    /// inner loops carry no index checks and vectorize: a step factors once and solves six
    /// times.
    pub fn new(mut a: SMatrix<f64, D, D>) -> Option<Self> {
        let mut pivots = [0; D];
        let mut inverse_diagonal = [0.0; D];
        let data = a.as_mut_slice();
        for k in 0..D {
            let column = &data[k * D..(k + 1) * D];
            let p = (k..D).max_by(|&i, &j| column[i].abs().total_cmp(&column[j].abs()))?;
            if column[p] == 0.0 {
                return None;
            }
            pivots[k] = p;
            if p != k {
                for j in 0..D {
                    data.swap(j * D + k, j * D + p);
                }
            }
            let (left, right) = data.split_at_mut((k + 1) * D);
            let column = &mut left[k * D..];
            let inverse = 1.0 / column[k];
            inverse_diagonal[k] = inverse;
            for l in &mut column[k + 1..] {
                *l *= inverse;
            }
            for target in right.chunks_exact_mut(D) {
                let u = target[k];
                if u != 0.0 {
                    for (t, &l) in target[k + 1..].iter_mut().zip(&column[k + 1..]) {
                        *t -= l * u;
                    }
                }
            }
        }
        Some(Lu {
            factors: a,
            pivots,
            inverse_diagonal,
        })
    }
}

impl<const D: usize> Factors<D> for Lu<D> {
    /// x with A x = b.
    fn solve(&self, mut b: SVector<f64, D>) -> SVector<f64, D> {
        let lu = self.factors.as_slice();
        for (k, &p) in self.pivots.iter().enumerate() {
            b.swap_rows(k, p);
        }
        let x = b.as_mut_slice();
        for (j, column) in lu.chunks_exact(D).enumerate() {
            let xj = x[j];
            if xj != 0.0 {
                for (xi, &l) in x[j + 1..].iter_mut().zip(&column[j + 1..]) {
                    *xi -= l * xj;
                }
            }
        }
        for (j, column) in lu.chunks_exact(D).enumerate().rev() {
            x[j] *= self.inverse_diagonal[j];
            let xj = x[j];
            for (xi, &u) in x[..j].iter_mut().zip(&column[..j]) {
                *xi -= u * xj;
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{matrix, vector};

    #[test]
    fn lu_pivots_and_refuses_a_singular_matrix() {
        // A zero in the first pivot position forces a row swap.
        let a = matrix![0.0, 2.0, 1.0; 1.0, 1.0, 0.0; 3.0, 0.0, 1.0];
        let b = vector![1.0, -2.0, 0.5];
        let x = Lu::new(a).expect("regular").solve(b);
        assert!((a * x - b).amax() < 1e-14, "{x}");
        assert!(Lu::new(matrix![1.0, 2.0; 2.0, 4.0]).is_none());
    }
}
