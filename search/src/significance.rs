//! Two-sided p-values for the rank correlations of a ranking study (supernet prediction against
//! standalone training), so a reported tau or rho says whether it is distinguishable from chance.
//!
//! Pearson's r uses the exact t test, t = r sqrt((n-2)/(1-r^2)) with n-2 degrees of freedom
//! (valid for bivariate normal data). Kendall's tau uses the normal approximation of its null
//! distribution, z = 3 tau sqrt(n(n-1)) / sqrt(2(2n+5)), without a tie correction (tau-b with
//! ties is slightly conservative here); it is accurate from about n = 10 on.

use crate::error::{Result, SearchError};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Two-sided p-value of Pearson's `r` over `n` paired points.
pub fn pearson_p_value(r: f64, n: usize) -> Result<f64> {
    check(r, n, "pearson p-value", 3)?;
    if r.abs() >= 1.0 {
        return Ok(0.0);
    }
    let dof = (n - 2) as f64;
    let t = r * (dof / (1.0 - r * r)).sqrt();
    let dist = StudentsT::new(0.0, 1.0, dof).map_err(|_| SearchError::TooFewPoints {
        what: "pearson p-value",
        needed: 3,
        found: n,
    })?;
    Ok((2.0 * dist.sf(t.abs())).min(1.0))
}

/// Two-sided p-value of Kendall's `tau` over `n` paired points (normal approximation).
pub fn kendall_p_value(tau: f64, n: usize) -> Result<f64> {
    check(tau, n, "kendall p-value", 2)?;
    let n = n as f64;
    let z = 3.0 * tau * (n * (n - 1.0)).sqrt() / (2.0 * (2.0 * n + 5.0)).sqrt();
    let standard = Normal::standard();
    Ok((2.0 * standard.sf(z.abs())).min(1.0))
}

fn check(value: f64, n: usize, what: &'static str, needed: usize) -> Result<()> {
    if n < needed {
        return Err(SearchError::TooFewPoints {
            what,
            needed,
            found: n,
        });
    }
    if !value.is_finite() || value.abs() > 1.0 + 1e-12 {
        return Err(SearchError::CorrelationOutOfRange { what, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed independently (numerical integration of the t density and
    // erfc in Python's standard library): r = 0.5, n = 10 -> t = 1.63299, p = 0.141113;
    // tau = 0.4, n = 10 -> z = 1.60997, p = 0.107405.
    #[test]
    fn pearson_matches_the_t_test() {
        let p = pearson_p_value(0.5, 10).unwrap();
        assert!((p - 0.141_113).abs() < 1e-5, "{p}");
        assert_eq!(pearson_p_value(0.0, 10).unwrap(), 1.0);
        assert_eq!(pearson_p_value(-1.0, 10).unwrap(), 0.0);
    }

    #[test]
    fn kendall_matches_the_normal_approximation() {
        let p = kendall_p_value(0.4, 10).unwrap();
        assert!((p - 0.107_405).abs() < 1e-5, "{p}");
        let symmetric = kendall_p_value(-0.4, 10).unwrap();
        assert_eq!(p, symmetric);
    }

    #[test]
    fn stronger_correlations_and_more_points_are_more_significant() {
        assert!(kendall_p_value(0.6, 10).unwrap() < kendall_p_value(0.4, 10).unwrap());
        assert!(pearson_p_value(0.5, 100).unwrap() < pearson_p_value(0.5, 10).unwrap());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(pearson_p_value(0.5, 2).is_err());
        assert!(kendall_p_value(f64::NAN, 10).is_err());
        assert!(kendall_p_value(1.5, 10).is_err());
    }
}
