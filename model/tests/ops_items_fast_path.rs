//! Finite-difference gradient check of the embedded FC at E = 16, the width that runs the
//! register-blocked kernels of `ops::linear_items` (the other gradient tests use E = 4, which
//! takes the GEMM path). A supernet-style sliced weight (not contiguous) and a plain one.

use ndarray::{s, Array1, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::ops::linear_items::{self, FAST_EMB};

fn uniform3(r: &mut ChaCha8Rng, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| r.random_range(-1.0..1.0))
}

fn uniform2(r: &mut ChaCha8Rng, shape: (usize, usize)) -> Array2<f64> {
    Array2::from_shape_fn(shape, |_| r.random_range(-1.0..1.0))
}

/// `sum(y * dy)` for `y = linear_items(x, w, b)`.
fn loss(x: &Array3<f64>, w: &Array2<f64>, b: &Array1<f64>, dy: &Array3<f64>) -> f64 {
    let y = linear_items::forward(x.view(), w.view(), Some(b.view()));
    (&y * dy).sum()
}

fn assert_close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
        "{what}: analytic {got} vs numeric {want}"
    );
}

#[test]
fn gradients_at_the_fast_width_match_finite_differences() {
    let mut r = ChaCha8Rng::seed_from_u64(21);
    let (batch, items, outs) = (3, 5, 19);
    let x = uniform3(&mut r, (batch, items, FAST_EMB));
    let dy = uniform3(&mut r, (batch, outs, FAST_EMB));
    let w_max = uniform2(&mut r, (items + 2, outs + 3));
    let b = Array1::from_shape_fn(outs, |_| r.random_range(-1.0..1.0));
    for sliced in [true, false] {
        let w_owned = w_max.slice(s![..items, ..outs]).to_owned();
        let mut dw_max = Array2::<f64>::zeros((items + 2, outs + 3));
        let mut dw_plain = Array2::<f64>::zeros((items, outs));
        let mut db = Array1::<f64>::zeros(outs);
        let dx = if sliced {
            linear_items::backward(
                x.view(),
                w_max.slice(s![..items, ..outs]),
                dy.view(),
                dw_max.slice_mut(s![..items, ..outs]),
                Some(db.view_mut()),
            )
        } else {
            linear_items::backward(
                x.view(),
                w_owned.view(),
                dy.view(),
                dw_plain.view_mut(),
                Some(db.view_mut()),
            )
        };
        let dw = if sliced {
            // Nothing outside the live block moves.
            assert!(dw_max.slice(s![items.., ..]).iter().all(|&v| v == 0.0));
            assert!(dw_max.slice(s![.., outs..]).iter().all(|&v| v == 0.0));
            dw_max.slice(s![..items, ..outs]).to_owned()
        } else {
            dw_plain
        };
        let h = 1e-6;
        for (idx, &g) in dx.indexed_iter() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[idx] += h;
            xm[idx] -= h;
            let num = (loss(&xp, &w_owned, &b, &dy) - loss(&xm, &w_owned, &b, &dy)) / (2.0 * h);
            assert_close(&format!("dx{idx:?} sliced {sliced}"), g, num);
        }
        for (idx, &g) in dw.indexed_iter() {
            let (mut wp, mut wm) = (w_owned.clone(), w_owned.clone());
            wp[idx] += h;
            wm[idx] -= h;
            let num = (loss(&x, &wp, &b, &dy) - loss(&x, &wm, &b, &dy)) / (2.0 * h);
            assert_close(&format!("dw{idx:?} sliced {sliced}"), g, num);
        }
        for (m, &g) in db.iter().enumerate() {
            let want: f64 = dy.slice(s![.., m, ..]).sum();
            assert_close(&format!("db[{m}] sliced {sliced}"), g, want);
        }
    }
}

/// `forward_add_into` at the fast width adds the product to what the output held.
#[test]
fn forward_add_into_accumulates_at_the_fast_width() {
    let mut r = ChaCha8Rng::seed_from_u64(22);
    let x = uniform3(&mut r, (2, 6, FAST_EMB));
    let w = uniform2(&mut r, (6, 17));
    let start = uniform3(&mut r, (2, 17, FAST_EMB));
    let mut y = start.clone();
    linear_items::forward_add_into(x.view(), w.view(), y.view_mut());
    let product = linear_items::forward(x.view(), w.view(), None);
    for ((a, s0), p) in y.iter().zip(start.iter()).zip(product.iter()) {
        assert!((a - (s0 + p)).abs() < 1e-12);
    }
}
