//! Dense LU factors with partial pivoting, for the iteration matrices of `rodas`.

use nalgebra::{SMatrix, SVector};

/// Factors of a square matrix A.
pub trait Factors<const D: usize> {
    /// x with A x = b.
    fn solve(&self, b: SVector<f64, D>) -> SVector<f64, D>;
}

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
    ///
    /// Both substitutions take the columns two at a time: the pair's second unknown is
    /// finished at once from the first, and the rest of x is updated once per pair. The
    /// unknowns then make half as many trips through memory on the chain of dependent
    /// updates: a sixth of a general run (measured; four at a time was slower).
    fn solve(&self, mut b: SVector<f64, D>) -> SVector<f64, D> {
        let lu = self.factors.as_slice();
        for (k, &p) in self.pivots.iter().enumerate() {
            b.swap_rows(k, p);
        }
        let x = b.as_mut_slice();
        // L y = b (unit diagonal); the last column of an odd D has nothing below it.
        for (pair, columns) in lu.chunks_exact(2 * D).enumerate() {
            let (j, k) = (2 * pair, 2 * pair + 1);
            let (first, second) = columns.split_at(D);
            let xj = x[j];
            x[k] -= first[k] * xj;
            let xk = x[k];
            for ((xi, &l), &m) in x[k + 1..]
                .iter_mut()
                .zip(&first[k + 1..])
                .zip(&second[k + 1..])
            {
                *xi = (*xi - l * xj) - m * xk;
            }
        }
        // U x = y from the last pair of columns; the first column of an odd D is left over.
        for (pair, columns) in lu.rchunks_exact(2 * D).enumerate() {
            let (j, k) = (D - 2 - 2 * pair, D - 1 - 2 * pair);
            let (first, second) = columns.split_at(D);
            x[k] *= self.inverse_diagonal[k];
            let xk = x[k];
            x[j] = (x[j] - second[j] * xk) * self.inverse_diagonal[j];
            let xj = x[j];
            for ((xi, &u), &v) in x[..j].iter_mut().zip(&second[..j]).zip(&first[..j]) {
                *xi = (*xi - u * xk) - v * xj;
            }
        }
        if D % 2 == 1 {
            x[0] *= self.inverse_diagonal[0];
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{matrix, vector};

    /// Every size, odd and even (the substitutions take columns in pairs), solves a
    /// system that needs pivoting to rounding.
    #[test]
    fn lu_solves_every_size() {
        fn check<const D: usize>() {
            // Diagonal zero, so every step pivots; regular by its dominant off-diagonal.
            let a = SMatrix::<f64, D, D>::from_fn(|i, j| {
                if (i + 1) % D == j {
                    4.0 + i as f64
                } else if i == j {
                    0.0
                } else {
                    ((3 * i + 7 * j) % 5) as f64 * 0.1 - 0.2
                }
            });
            let b = SVector::<f64, D>::from_fn(|i, _| 1.0 + i as f64);
            let x = Lu::new(a).expect("regular").solve(b);
            assert!((a * x - b).amax() < 1e-13, "D = {D}: {x}");
        }
        check::<2>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<6>();
        check::<13>();
    }

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
