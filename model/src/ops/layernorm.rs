//! Layer normalisation with a learned gain and bias (PyTorch semantics: biased variance, `eps`
//! inside the square root).
//!
//! Two forms: over the last axis of `[rows, features]` ([`forward`]/[`backward`]; 3D callers
//! reshape `[B, N, E]` to `[B*N, E]`), and over the item axis of `[B, N, E]` for each (b, e)
//! ([`forward_items`]/[`backward_items`]), which is what NASRec's `linear-3d` and transformer
//! projections apply (an LN(s) after transposing items to the last axis).

use ndarray::{
    Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, Zip,
};

use super::kernels::{sum, sum_of};
use super::Real;

/// What [`backward`] needs from [`forward`]: the normalised input and the per-row `1/std`.
#[derive(Debug, Clone)]
pub struct LayerNormCache<T> {
    /// `(x - mean) / std` per row, `[rows, features]`.
    pub xhat: Array2<T>,
    /// `1 / sqrt(var + eps)` per row, `[rows]`.
    pub inv_std: Array1<T>,
}

impl<T: Real> LayerNormCache<T> {
    /// An empty cache, to be filled (and sized) by [`forward_into`].
    pub fn empty() -> Self {
        Self {
            xhat: Array2::zeros((0, 0)),
            inv_std: Array1::zeros(0),
        }
    }
}

fn check_params<T>(features: usize, gamma: &ArrayView1<T>, beta: &ArrayView1<T>, what: &str) {
    assert_eq!(
        gamma.len(),
        features,
        "layernorm: gamma has {} entries for {} {what}",
        gamma.len(),
        features
    );
    assert_eq!(
        beta.len(),
        features,
        "layernorm: beta has {} entries for {} {what}",
        beta.len(),
        features
    );
}

/// Normalises each row of `x [rows, features]` over its features: `y = xhat * gamma + beta`.
///
/// # Panics
/// If `gamma` or `beta` do not have one entry per feature.
pub fn forward<T: Real>(
    x: ArrayView2<T>,
    gamma: ArrayView1<T>,
    beta: ArrayView1<T>,
    eps: T,
) -> (Array2<T>, LayerNormCache<T>) {
    let mut y = Array2::zeros(x.raw_dim());
    let mut cache = LayerNormCache::empty();
    forward_into(x, gamma, beta, eps, y.view_mut(), &mut cache);
    (y, cache)
}

/// [`forward`] into a preallocated `y` (overwritten) and a reusable cache (resized if needed).
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_into<T: Real>(
    x: ArrayView2<T>,
    gamma: ArrayView1<T>,
    beta: ArrayView1<T>,
    eps: T,
    mut y: ArrayViewMut2<T>,
    cache: &mut LayerNormCache<T>,
) {
    let (rows, features) = x.dim();
    check_params(features, &gamma, &beta, "features");
    assert_eq!(
        y.dim(),
        x.dim(),
        "layernorm: output is {:?}, input {:?}",
        y.dim(),
        x.dim()
    );
    if cache.xhat.dim() != (rows, features) {
        cache.xhat = Array2::zeros((rows, features));
    }
    if cache.inv_std.len() != rows {
        cache.inv_std = Array1::zeros(rows);
    }
    let n = T::from_usize(features).unwrap_or_else(T::one);
    if let (Some(xs), Some(hs), Some(ys), Some(inv), Some(g), Some(b)) = (
        x.as_slice(),
        cache.xhat.as_slice_mut(),
        y.as_slice_mut(),
        cache.inv_std.as_slice_mut(),
        gamma.as_slice(),
        beta.as_slice(),
    ) {
        forward_rows(xs, (g, b), eps, hs, ys, inv);
        return;
    }
    Zip::from(x.rows())
        .and(cache.xhat.rows_mut())
        .and(y.rows_mut())
        .and(&mut cache.inv_std)
        .for_each(|xr, mut hr, mut yr, inv| {
            let mean = xr.sum() / n;
            let var = xr.iter().map(|&v| (v - mean) * (v - mean)).sum::<T>() / n;
            let inv_std = T::one() / (var + eps).sqrt();
            *inv = inv_std;
            Zip::from(&mut hr)
                .and(&mut yr)
                .and(&xr)
                .and(&gamma)
                .and(&beta)
                .for_each(|h, y, &x, &g, &b| {
                    let xh = (x - mean) * inv_std;
                    *h = xh;
                    *y = xh * g + b;
                });
        });
}

/// Backward of [`forward`]: accumulates `dgamma += sum_rows(dy * xhat)`, `dbeta += sum_rows(dy)`
/// and returns `dx`.
///
/// # Panics
/// If the shapes do not agree.
pub fn backward<T: Real>(
    cache: &LayerNormCache<T>,
    gamma: ArrayView1<T>,
    dy: ArrayView2<T>,
    dgamma: ArrayViewMut1<T>,
    dbeta: ArrayViewMut1<T>,
) -> Array2<T> {
    let mut dx = Array2::zeros(dy.raw_dim());
    backward_into(cache, gamma, dy, dgamma, dbeta, dx.view_mut());
    dx
}

/// [`backward`] writing `dx` into a preallocated array (overwritten).
///
/// # Panics
/// If the shapes do not agree.
pub fn backward_into<T: Real>(
    cache: &LayerNormCache<T>,
    gamma: ArrayView1<T>,
    dy: ArrayView2<T>,
    mut dgamma: ArrayViewMut1<T>,
    mut dbeta: ArrayViewMut1<T>,
    mut dx: ArrayViewMut2<T>,
) {
    let (rows, features) = cache.xhat.dim();
    assert_eq!(
        dy.dim(),
        (rows, features),
        "layernorm backward: dy is {:?}, cache {:?}",
        dy.dim(),
        (rows, features)
    );
    assert_eq!(
        dx.dim(),
        (rows, features),
        "layernorm backward: dx is {:?}, cache {:?}",
        dx.dim(),
        (rows, features)
    );
    assert_eq!(
        gamma.len(),
        features,
        "layernorm backward: gamma has {} entries for {features} features",
        gamma.len()
    );
    assert_eq!(
        dgamma.len(),
        features,
        "layernorm backward: dgamma has {} entries for {features} features",
        dgamma.len()
    );
    assert_eq!(
        dbeta.len(),
        features,
        "layernorm backward: dbeta has {} entries for {features} features",
        dbeta.len()
    );
    let n = T::from_usize(features).unwrap_or_else(T::one);
    if let (Some(d), Some(h), Some(inv), Some(dxs), Some(g), Some(dg), Some(db)) = (
        dy.as_slice(),
        cache.xhat.as_slice(),
        cache.inv_std.as_slice(),
        dx.as_slice_mut(),
        gamma.as_slice(),
        dgamma.as_slice_mut(),
        dbeta.as_slice_mut(),
    ) {
        backward_rows((d, h, inv), g, (dg, db), dxs);
        return;
    }
    for ((dyr, hr), (mut dxr, &inv)) in dy
        .rows()
        .into_iter()
        .zip(cache.xhat.rows())
        .zip(dx.rows_mut().into_iter().zip(cache.inv_std.iter()))
    {
        let mut m1 = T::zero();
        let mut m2 = T::zero();
        Zip::from(&dyr)
            .and(&hr)
            .and(&gamma)
            .and(&mut dgamma)
            .and(&mut dbeta)
            .for_each(|&d, &h, &g, dg, db| {
                let dh = d * g;
                m1 += dh;
                m2 += dh * h;
                *dg += d * h;
                *db += d;
            });
        m1 = m1 / n;
        m2 = m2 / n;
        Zip::from(&mut dxr)
            .and(&dyr)
            .and(&hr)
            .and(&gamma)
            .for_each(|dx, &d, &h, &g| {
                *dx = inv * (d * g - m1 - h * m2);
            });
    }
}

/// [`forward_into`] on contiguous rows: `x`, `xhat`, `y` are `[rows, F]` row-major slices,
/// `inv_std` has one entry per row, `F = gamma.len()`.
fn forward_rows<T: Real>(
    x: &[T],
    (gamma, beta): (&[T], &[T]),
    eps: T,
    xhat: &mut [T],
    y: &mut [T],
    inv_std: &mut [T],
) {
    let features = gamma.len();
    if features == 0 {
        return;
    }
    let n = T::from_usize(features).unwrap_or_else(T::one);
    for (((xr, hr), yr), inv) in x
        .chunks_exact(features)
        .zip(xhat.chunks_exact_mut(features))
        .zip(y.chunks_exact_mut(features))
        .zip(inv_std.iter_mut())
    {
        let mean = sum(xr) / n;
        let var = sum_of(xr, xr, |v, _| (v - mean) * (v - mean)) / n;
        let inv_sd = T::one() / (var + eps).sqrt();
        *inv = inv_sd;
        for ((((h, y), &x), &g), &b) in hr
            .iter_mut()
            .zip(yr.iter_mut())
            .zip(xr)
            .zip(gamma)
            .zip(beta)
        {
            let xh = (x - mean) * inv_sd;
            *h = xh;
            *y = xh * g + b;
        }
    }
}

/// [`backward_into`] on contiguous rows (the slices of [`forward_rows`]): the per-row sums in
/// the fixed order of [`sum_of`], `dgamma` and `dbeta` accumulated row after row.
fn backward_rows<T: Real>(
    (dy, xhat, inv_std): (&[T], &[T], &[T]),
    gamma: &[T],
    (dgamma, dbeta): (&mut [T], &mut [T]),
    dx: &mut [T],
) {
    let features = gamma.len();
    if features == 0 {
        return;
    }
    let n = T::from_usize(features).unwrap_or_else(T::one);
    let mut dh = vec![T::zero(); features];
    for (((dyr, hr), dxr), &inv) in dy
        .chunks_exact(features)
        .zip(xhat.chunks_exact(features))
        .zip(dx.chunks_exact_mut(features))
        .zip(inv_std)
    {
        // dh = dy * gamma; m1 = mean(dh), m2 = mean(dh * xhat).
        for ((t, &d), &g) in dh.iter_mut().zip(dyr).zip(gamma) {
            *t = d * g;
        }
        let m1 = sum(&dh) / n;
        let m2 = sum_of(&dh, hr, |a, h| a * h) / n;
        let grads = dgamma.iter_mut().zip(dbeta.iter_mut());
        let inputs = dyr.iter().zip(hr).zip(gamma);
        for ((dx, (dg, db)), ((&d, &h), &g)) in dxr.iter_mut().zip(grads).zip(inputs) {
            *dg += d * h;
            *db += d;
            *dx = inv * (d * g - m1 - h * m2);
        }
    }
}

/// What [`backward_items`] needs from [`forward_items`].
#[derive(Debug, Clone)]
pub struct LayerNormItemsCache<T> {
    /// Normalised input `[B, N, E]`.
    pub xhat: Array3<T>,
    /// `1 / sqrt(var + eps)` per (b, e), `[B, E]`.
    pub inv_std: Array2<T>,
}

/// Normalises `x [B, N, E]` over the item axis N for each (b, e):
/// `y[b,n,e] = xhat[b,n,e] * gamma[n] + beta[n]` (`gamma`, `beta` are `[N]`).
///
/// # Panics
/// If `gamma` or `beta` do not have one entry per item.
pub fn forward_items<T: Real>(
    x: ArrayView3<T>,
    gamma: ArrayView1<T>,
    beta: ArrayView1<T>,
    eps: T,
) -> (Array3<T>, LayerNormItemsCache<T>) {
    let (batch, items, emb) = x.dim();
    check_params(items, &gamma, &beta, "items");
    let n = T::from_usize(items).unwrap_or_else(T::one);
    let x = super::layout::standard_items(x);
    let xs = x.as_slice().expect("a standard-layout array is contiguous");
    let mut y = Array3::zeros((batch, items, emb));
    let mut xhat = Array3::zeros((batch, items, emb));
    let mut inv_std = Array2::zeros((batch, emb));
    let ys = y.as_slice_mut().expect("a fresh array is contiguous");
    let hs = xhat.as_slice_mut().expect("a fresh array is contiguous");
    let is = inv_std.as_slice_mut().expect("a fresh array is contiguous");
    let mut mean = vec![T::zero(); emb];
    let block = items * emb;
    for b in 0..batch {
        let xb = &xs[b * block..(b + 1) * block];
        let inv = &mut is[b * emb..(b + 1) * emb];
        mean.iter_mut().for_each(|m| *m = T::zero());
        inv.iter_mut().for_each(|v| *v = T::zero());
        for row in xb.chunks_exact(emb) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m = *m / n);
        // Two-pass variance (sum of squared deviations), accumulated in `inv` first.
        for row in xb.chunks_exact(emb) {
            for ((s, &m), &v) in inv.iter_mut().zip(&mean).zip(row) {
                *s += (v - m) * (v - m);
            }
        }
        inv.iter_mut()
            .for_each(|s| *s = T::one() / (*s / n + eps).sqrt());
        let hb = &mut hs[b * block..(b + 1) * block];
        let yb = &mut ys[b * block..(b + 1) * block];
        for (nn, ((xr, hr), yr)) in xb
            .chunks_exact(emb)
            .zip(hb.chunks_exact_mut(emb))
            .zip(yb.chunks_exact_mut(emb))
            .enumerate()
        {
            let (g, bt) = (gamma[nn], beta[nn]);
            for e in 0..emb {
                let xh = (xr[e] - mean[e]) * inv[e];
                hr[e] = xh;
                yr[e] = xh * g + bt;
            }
        }
    }
    (y, LayerNormItemsCache { xhat, inv_std })
}

/// Backward of [`forward_items`]: accumulates `dgamma[n] += sum_{b,e} dy * xhat`,
/// `dbeta[n] += sum_{b,e} dy`; returns `dx [B, N, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn backward_items<T: Real>(
    cache: &LayerNormItemsCache<T>,
    gamma: ArrayView1<T>,
    dy: ArrayView3<T>,
    mut dgamma: ArrayViewMut1<T>,
    mut dbeta: ArrayViewMut1<T>,
) -> Array3<T> {
    let (batch, items, emb) = cache.xhat.dim();
    assert_eq!(
        dy.dim(),
        (batch, items, emb),
        "layernorm items backward: dy is {:?}, cache {:?}",
        dy.dim(),
        cache.xhat.dim()
    );
    assert_eq!(
        gamma.len(),
        items,
        "layernorm items backward: gamma has {} entries for {items} items",
        gamma.len()
    );
    assert_eq!(
        dgamma.len(),
        items,
        "layernorm items backward: dgamma has {} entries for {items} items",
        dgamma.len()
    );
    assert_eq!(
        dbeta.len(),
        items,
        "layernorm items backward: dbeta has {} entries for {items} items",
        dbeta.len()
    );
    let n = T::from_usize(items).unwrap_or_else(T::one);
    let dy = super::layout::standard_items(dy);
    let ds = dy
        .as_slice()
        .expect("a standard-layout array is contiguous");
    let hs = cache
        .xhat
        .as_slice()
        .expect("the cache is allocated contiguous");
    let is = cache
        .inv_std
        .as_slice()
        .expect("the cache is allocated contiguous");
    let mut dx = Array3::zeros((batch, items, emb));
    let xs = dx.as_slice_mut().expect("a fresh array is contiguous");
    let mut m1 = vec![T::zero(); emb];
    let mut m2 = vec![T::zero(); emb];
    let block = items * emb;
    for b in 0..batch {
        let dyb = &ds[b * block..(b + 1) * block];
        let hb = &hs[b * block..(b + 1) * block];
        let inv = &is[b * emb..(b + 1) * emb];
        m1.iter_mut().for_each(|m| *m = T::zero());
        m2.iter_mut().for_each(|m| *m = T::zero());
        for (nn, (dr, hr)) in dyb.chunks_exact(emb).zip(hb.chunks_exact(emb)).enumerate() {
            let g = gamma[nn];
            let mut dg = T::zero();
            let mut db = T::zero();
            for e in 0..emb {
                let dh = dr[e] * g;
                m1[e] += dh;
                m2[e] += dh * hr[e];
                dg += dr[e] * hr[e];
                db += dr[e];
            }
            dgamma[nn] += dg;
            dbeta[nn] += db;
        }
        m1.iter_mut().for_each(|m| *m = *m / n);
        m2.iter_mut().for_each(|m| *m = *m / n);
        let xb = &mut xs[b * block..(b + 1) * block];
        for (nn, ((dr, hr), xr)) in dyb
            .chunks_exact(emb)
            .zip(hb.chunks_exact(emb))
            .zip(xb.chunks_exact_mut(emb))
            .enumerate()
        {
            let g = gamma[nn];
            for e in 0..emb {
                xr[e] = inv[e] * (dr[e] * g - m1[e] - hr[e] * m2[e]);
            }
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, ShapeBuilder};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The contiguous-row kernels (eight partial sums) agree with the general path (taken for
    /// column-major arrays) to rounding, for a row of two whole registers (16), one with a tail
    /// (19) and one shorter than a register (5); dgamma and dbeta accumulate onto what is there.
    #[test]
    fn contiguous_rows_match_the_general_path() {
        let mut r = ChaCha8Rng::seed_from_u64(3);
        for features in [16usize, 19, 5] {
            let rows = 7;
            let mut uniform =
                |n: usize| -> Vec<f64> { (0..n).map(|_| r.random_range(-2.0..2.0)).collect() };
            let x = Array2::from_shape_vec((rows, features), uniform(rows * features))
                .unwrap_or_default();
            let dy = Array2::from_shape_vec((rows, features), uniform(rows * features))
                .unwrap_or_default();
            let gamma = Array1::from(uniform(features));
            let beta = Array1::from(uniform(features));
            let start = Array1::from(uniform(features));
            // Column-major copies: not contiguous by rows, so the general path runs.
            let mut x_f = Array2::zeros((rows, features).f());
            x_f.assign(&x);
            let mut dy_f = Array2::zeros((rows, features).f());
            dy_f.assign(&dy);
            let run = |x: &Array2<f64>, dy: &Array2<f64>, fortran: bool| {
                let mut y = if fortran {
                    Array2::zeros((rows, features).f())
                } else {
                    Array2::zeros((rows, features))
                };
                let mut cache = LayerNormCache::empty();
                if fortran {
                    cache.xhat = Array2::zeros((rows, features).f());
                }
                forward_into(
                    x.view(),
                    gamma.view(),
                    beta.view(),
                    1e-5,
                    y.view_mut(),
                    &mut cache,
                );
                let (mut dg, mut db) = (start.clone(), start.clone());
                let mut dx = if fortran {
                    Array2::zeros((rows, features).f())
                } else {
                    Array2::zeros((rows, features))
                };
                backward_into(
                    &cache,
                    gamma.view(),
                    dy.view(),
                    dg.view_mut(),
                    db.view_mut(),
                    dx.view_mut(),
                );
                [
                    y.iter().copied().collect::<Vec<_>>(),
                    dx.iter().copied().collect(),
                    dg.to_vec(),
                    db.to_vec(),
                ]
            };
            let fast = run(&x, &dy, false);
            let general = run(&x_f, &dy_f, true);
            for (what, (a, b)) in ["y", "dx", "dgamma", "dbeta"]
                .iter()
                .zip(fast.iter().zip(&general))
            {
                for (u, v) in a.iter().zip(b) {
                    assert!((u - v).abs() < 1e-12, "F {features} {what}: {u} vs {v}");
                }
            }
        }
    }
}
