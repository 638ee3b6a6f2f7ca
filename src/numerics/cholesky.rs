//! The lower Cholesky factor of a small symmetric matrix, for the correlations of
//! `[variability]` and the covariance of a calibration: both are refused as bad input when
//! the factor does not exist, with the row where it fails.

/// The lower Cholesky factor L (L L^T = `matrix`, zeros above the diagonal) of the
/// symmetric `n` x `n` `matrix`, row by row, or the row whose pivot is not above
/// `min_relative_pivot` times the row's diagonal entry (or is not finite): below it the
/// matrix is not positive definite, or singular to rounding.
pub fn lower(matrix: &[f64], n: usize, min_relative_pivot: f64) -> Result<Vec<f64>, usize> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            let v = matrix[i * n + j] - dot;
            if i == j {
                if !v.is_finite() || v <= min_relative_pivot * matrix[i * n + i] {
                    return Err(i);
                }
                l[i * n + i] = v.sqrt();
            } else {
                l[i * n + j] = v / l[j * n + j];
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_factor_reproduces_the_matrix_and_an_inconsistent_one_is_refused() {
        let a = [4.0, 1.0, 0.4, 1.0, 1.0, -0.3, 0.4, -0.3, 1.0];
        let l = lower(&a, 3, 1e-12).expect("positive definite");
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-15, "{i},{j}");
            }
            assert!((i + 1..3).all(|j| l[i * 3 + j] == 0.0));
        }
        // A and B nearly the same, each correlated with C in opposite directions.
        let bad = [1.0, 0.95, 0.9, 0.95, 1.0, -0.9, 0.9, -0.9, 1.0];
        assert_eq!(lower(&bad, 3, 1e-9), Err(2));
        assert_eq!(lower(&[0.0], 1, 1e-9), Err(0));
        assert_eq!(lower(&[f64::NAN], 1, 1e-9), Err(0));
    }
}
