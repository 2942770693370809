//! The learned mask `M = sigmoid(W2 ReLU(W1 W))` applied as `M ⊙ W`: hand-written backward into
//! `W` (directly and through the MLP), `W1` and `W2` against central finite differences in f64.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::prune::MaskMlp;

fn random(rows: usize, cols: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
}

/// `L = sum(C ⊙ M(W) ⊙ W)`.
fn loss(mlp: &MaskMlp<f64>, w: &Array2<f64>, c: &Array2<f64>) -> f64 {
    let m = mlp.forward(w.view()).mask;
    (&m * w * c).sum()
}

/// Analytic gradients of [`loss`]: `dW = C ⊙ M + (through the mask)`, `dW1`, `dW2`.
fn grads(
    mlp: &MaskMlp<f64>,
    w: &Array2<f64>,
    c: &Array2<f64>,
) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let cache = mlp.forward(w.view());
    let d_mask = c * w;
    let g = mlp.backward(&cache, w.view(), d_mask.view());
    let dw = c * &cache.mask + &g.w_via_mask;
    (dw, g.w1, g.w2)
}

fn assert_close(analytic: f64, numeric: f64, what: &str) {
    let err = (analytic - numeric).abs() / (1e-6 + analytic.abs().max(numeric.abs()));
    assert!(
        err < 1e-6,
        "{what}: analytic {analytic} vs finite difference {numeric}"
    );
}

#[test]
fn mask_backward_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (rows, cols, hidden) = (6, 5, 4);
    let mut mlp = MaskMlp {
        w1: random(hidden, rows, &mut rng),
        w2: random(rows, hidden, &mut rng),
    };
    let mut w = random(rows, cols, &mut rng);
    let c = random(rows, cols, &mut rng);
    let (dw, dw1, dw2) = grads(&mlp, &w, &c);
    let h = 1e-6;
    // Pre-activations must stay away from the ReLU kink for the check to be meaningful.
    let pre = mlp.w1.dot(&w);
    assert!(pre.iter().all(|u| u.abs() > 1e-3));
    for i in 0..rows {
        for j in 0..cols {
            let keep = w[[i, j]];
            w[[i, j]] = keep + h;
            let up = loss(&mlp, &w, &c);
            w[[i, j]] = keep - h;
            let down = loss(&mlp, &w, &c);
            w[[i, j]] = keep;
            assert_close(dw[[i, j]], (up - down) / (2.0 * h), &format!("dW[{i},{j}]"));
        }
    }
    for i in 0..hidden {
        for j in 0..rows {
            let keep = mlp.w1[[i, j]];
            mlp.w1[[i, j]] = keep + h;
            let up = loss(&mlp, &w, &c);
            mlp.w1[[i, j]] = keep - h;
            let down = loss(&mlp, &w, &c);
            mlp.w1[[i, j]] = keep;
            assert_close(
                dw1[[i, j]],
                (up - down) / (2.0 * h),
                &format!("dW1[{i},{j}]"),
            );
            let keep = mlp.w2[[j, i]];
            mlp.w2[[j, i]] = keep + h;
            let up = loss(&mlp, &w, &c);
            mlp.w2[[j, i]] = keep - h;
            let down = loss(&mlp, &w, &c);
            mlp.w2[[j, i]] = keep;
            assert_close(
                dw2[[j, i]],
                (up - down) / (2.0 * h),
                &format!("dW2[{j},{i}]"),
            );
        }
    }
}

#[test]
fn mask_has_the_weight_shape_and_lies_in_zero_one() {
    let mlp: MaskMlp<f64> = MaskMlp::init(7, 3, 1, "layer");
    assert_eq!(mlp.w1.dim(), (3, 7));
    assert_eq!(mlp.w2.dim(), (7, 3));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w = random(7, 9, &mut rng);
    let m = mlp.forward(w.view()).mask;
    assert_eq!(m.dim(), (7, 9));
    assert!(m.iter().all(|&v| v > 0.0 && v < 1.0));
    // Same seed and key => same init; another key => another stream.
    assert_eq!(mlp, MaskMlp::init(7, 3, 1, "layer"));
    assert_ne!(mlp, MaskMlp::init(7, 3, 1, "other"));
}
