//! Finite-difference gradient checks (f64, central differences) and hand-computed golden values
//! for every primitive operator in `recpim_model::ops` (DESIGN.md convention 5).
//!
//! Each check uses the scalar loss `L = sum(op(inputs) * R)` with a random `R`, so `dL/dout = R`
//! is fed to the backward pass. Parameter-gradient buffers start at random values to prove that
//! backward ACCUMULATES (`+=`) rather than overwrites.

use ndarray::{s, Array, Array1, Array2, Array3, ArrayView1, Dimension, Ix1, Ix2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::ops::{
    activation, attention, embedding, fm, init, interaction, layernorm, linear, linear_items, loss,
};

const STEP: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn uniform<D: Dimension, Sh: ndarray::ShapeBuilder<Dim = D>>(
    rng: &mut ChaCha8Rng,
    shape: Sh,
) -> Array<f64, D> {
    Array::from_shape_simple_fn(shape, || rng.random_range(-1.0..1.0))
}

/// Central-difference gradient of `f` at `x`.
fn numeric_grad<D: Dimension>(
    x: &Array<f64, D>,
    f: impl Fn(&Array<f64, D>) -> f64,
) -> Array<f64, D> {
    let mut probe = x.as_standard_layout().into_owned();
    let mut grad = Array::zeros(x.raw_dim());
    let n = probe.len();
    for i in 0..n {
        let orig = probe.as_slice().unwrap()[i];
        probe.as_slice_mut().unwrap()[i] = orig + STEP;
        let up = f(&probe);
        probe.as_slice_mut().unwrap()[i] = orig - STEP;
        let down = f(&probe);
        probe.as_slice_mut().unwrap()[i] = orig;
        grad.as_slice_mut().unwrap()[i] = (up - down) / (2.0 * STEP);
    }
    grad
}

/// `||a - n|| / (||a|| + ||n||) < 1e-6`, and the gradient is not trivially zero.
fn assert_grad<D: Dimension>(what: &str, analytic: &Array<f64, D>, numeric: &Array<f64, D>) {
    assert_eq!(analytic.shape(), numeric.shape(), "{what}: shape");
    let diff = (analytic - numeric).mapv(|v| v * v).sum().sqrt();
    let na = analytic.mapv(|v| v * v).sum().sqrt();
    let nn = numeric.mapv(|v| v * v).sum().sqrt();
    assert!(
        nn > 1e-8,
        "{what}: numeric gradient is zero, the check would be vacuous"
    );
    let rel = diff / (na + nn);
    assert!(
        rel < TOLERANCE,
        "{what}: relative error {rel:e} (analytic {analytic:?}, numeric {numeric:?})"
    );
}

fn dot_loss<D: Dimension>(y: &Array<f64, D>, r: &Array<f64, D>) -> f64 {
    (y * r).sum()
}

// ---------------------------------------------------------------- linear

#[test]
fn linear_golden_hand_computed() {
    // y = x W + b: [1, 2] . [[1, 2, 3], [4, 5, 6]] = [9, 12, 15]; + [0.5, 0, -1].
    let x = ndarray::array![[1.0, 2.0]];
    let w = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let b = ndarray::array![0.5, 0.0, -1.0];
    let y = linear::forward(x.view(), w.view(), Some(b.view()));
    assert_eq!(y, ndarray::array![[9.5, 12.0, 14.0]]);
    assert_eq!(
        linear::forward(x.view(), w.view(), None),
        ndarray::array![[9.0, 12.0, 15.0]]
    );
}

#[test]
fn linear_gradients_accumulate() {
    let mut r = rng(1);
    let x: Array2<f64> = uniform(&mut r, (3, 4));
    let w: Array2<f64> = uniform(&mut r, (4, 5));
    let b: Array1<f64> = uniform(&mut r, 5);
    let dy: Array2<f64> = uniform(&mut r, (3, 5));
    let dw0: Array2<f64> = uniform(&mut r, (4, 5));
    let db0: Array1<f64> = uniform(&mut r, 5);
    let (mut dw, mut db) = (dw0.clone(), db0.clone());
    let dx = linear::backward(
        x.view(),
        w.view(),
        dy.view(),
        dw.view_mut(),
        Some(db.view_mut()),
    );
    let loss = |x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>| {
        dot_loss(&linear::forward(x.view(), w.view(), Some(b.view())), &dy)
    };
    assert_grad("linear dx", &dx, &numeric_grad(&x, |x| loss(x, &w, &b)));
    assert_grad(
        "linear dw",
        &(&dw - &dw0),
        &numeric_grad(&w, |w| loss(&x, w, &b)),
    );
    assert_grad(
        "linear db",
        &(&db - &db0),
        &numeric_grad(&b, |b| loss(&x, &w, b)),
    );
}

#[test]
fn linear_on_sliced_max_width_weights_lands_gradients_in_the_slice() {
    // A supernet passes the leading [..in, ..out] block of a max-width weight; the gradient must
    // land in the same block of the max-width gradient buffer and nowhere else.
    let mut r = rng(2);
    let x: Array2<f64> = uniform(&mut r, (3, 4));
    let w_max: Array2<f64> = uniform(&mut r, (7, 9));
    let b_max: Array1<f64> = uniform(&mut r, 9);
    let dy: Array2<f64> = uniform(&mut r, (3, 5));
    let w = w_max.slice(s![..4, ..5]);
    let b = b_max.slice(s![..5]);
    let mut dw_max = Array2::<f64>::zeros((7, 9));
    let mut db_max = Array1::<f64>::zeros(9);
    let dx = linear::backward(
        x.view(),
        w,
        dy.view(),
        dw_max.slice_mut(s![..4, ..5]),
        Some(db_max.slice_mut(s![..5])),
    );
    let (w_own, b_own) = (w.to_owned(), b.to_owned());
    let mut dw_own = Array2::<f64>::zeros((4, 5));
    let mut db_own = Array1::<f64>::zeros(5);
    let dx_own = linear::backward(
        x.view(),
        w_own.view(),
        dy.view(),
        dw_own.view_mut(),
        Some(db_own.view_mut()),
    );
    assert_eq!(dx, dx_own);
    assert_eq!(dw_max.slice(s![..4, ..5]), dw_own);
    assert_eq!(db_max.slice(s![..5]), db_own);
    assert_eq!(
        dw_max.slice(s![4.., ..]).sum() + dw_max.slice(s![..4, 5..]).sum(),
        0.0
    );
    assert!(db_max.slice(s![5..]).iter().all(|&v| v == 0.0));
    assert_eq!(
        linear::forward(x.view(), w, Some(b)),
        linear::forward(x.view(), w_own.view(), Some(b_own.view()))
    );
}

#[test]
fn linear_backward_input_into_accumulates() {
    let mut r = rng(3);
    let w: Array2<f64> = uniform(&mut r, (4, 5));
    let dy: Array2<f64> = uniform(&mut r, (3, 5));
    let dx0: Array2<f64> = uniform(&mut r, (3, 4));
    let mut dx = dx0.clone();
    linear::backward_input_into(w.view(), dy.view(), dx.view_mut(), true);
    let expected = &dx0 + &dy.dot(&w.t());
    assert!((&dx - &expected).iter().all(|v| v.abs() < 1e-12));
    linear::backward_input_into(w.view(), dy.view(), dx.view_mut(), false);
    assert!((&dx - &dy.dot(&w.t())).iter().all(|v| v.abs() < 1e-12));
}

// ---------------------------------------------------------------- activations

#[test]
fn activation_golden_values() {
    let x = ndarray::array![-2.0, 0.0, 3.0];
    assert_eq!(activation::relu(x.view()), ndarray::array![0.0, 0.0, 3.0]);
    let s = activation::sigmoid(ndarray::array![0.0, 1000.0, -1000.0, 2.0].view());
    assert_eq!(s[0], 0.5);
    assert_eq!(s[1], 1.0);
    assert_eq!(s[2], 0.0);
    assert!((s[3] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    assert!(s.iter().all(|v| v.is_finite()));
}

#[test]
fn relu_gradient_any_dimension() {
    let mut r = rng(4);
    // Keep inputs away from the kink at 0, where the derivative is undefined.
    let x: Array3<f64> =
        uniform(&mut r, (2, 3, 4)).mapv(|v: f64| if v.abs() < 0.05 { v + 0.1 } else { v });
    let dy: Array3<f64> = uniform(&mut r, (2, 3, 4));
    let y = activation::relu(x.view());
    let dx = activation::relu_backward(y.view(), dy.view());
    assert_grad(
        "relu dx",
        &dx,
        &numeric_grad(&x, |x| dot_loss(&activation::relu(x.view()), &dy)),
    );
    let mut inplace = x.clone();
    activation::relu_inplace(inplace.view_mut());
    assert_eq!(inplace, y);
}

#[test]
fn sigmoid_gradient_any_dimension() {
    let mut r = rng(5);
    let x: Array2<f64> = uniform(&mut r, (3, 4)).mapv(|v| 3.0 * v);
    let dy: Array2<f64> = uniform(&mut r, (3, 4));
    let y = activation::sigmoid(x.view());
    let dx = activation::sigmoid_backward(y.view(), dy.view());
    assert_grad(
        "sigmoid dx",
        &dx,
        &numeric_grad(&x, |x| dot_loss(&activation::sigmoid(x.view()), &dy)),
    );
    let x1: Array1<f64> = uniform(&mut r, 6);
    let dy1: Array1<f64> = uniform(&mut r, 6);
    let dx1 = activation::sigmoid_backward(activation::sigmoid(x1.view()).view(), dy1.view());
    assert_grad(
        "sigmoid dx 1d",
        &dx1,
        &numeric_grad(&x1, |x| dot_loss(&activation::sigmoid(x.view()), &dy1)),
    );
}

// ---------------------------------------------------------------- layernorm

#[test]
fn layernorm_golden_hand_computed() {
    // Row [1, 2, 3]: mean 2, biased variance 2/3, so xhat = [-sqrt(1.5), 0, sqrt(1.5)].
    let x = ndarray::array![[1.0, 2.0, 3.0]];
    let gamma = ndarray::array![1.0, 2.0, 1.0];
    let beta = ndarray::array![0.0, 0.5, -1.0];
    let (y, cache) = layernorm::forward(x.view(), gamma.view(), beta.view(), 0.0);
    let a = 1.5f64.sqrt();
    let expected = [-a, 0.5, a - 1.0];
    for (v, e) in y.iter().zip(expected) {
        assert!((v - e).abs() < 1e-12, "{y:?}");
    }
    assert!((cache.inv_std[0] - a).abs() < 1e-12);
}

#[test]
fn layernorm_gradients_accumulate() {
    let mut r = rng(6);
    let x: Array2<f64> = uniform(&mut r, (4, 6));
    let gamma: Array1<f64> = uniform(&mut r, 6);
    let beta: Array1<f64> = uniform(&mut r, 6);
    let dy: Array2<f64> = uniform(&mut r, (4, 6));
    let eps = 1e-5;
    let (_, cache) = layernorm::forward(x.view(), gamma.view(), beta.view(), eps);
    let dg0: Array1<f64> = uniform(&mut r, 6);
    let db0: Array1<f64> = uniform(&mut r, 6);
    let (mut dg, mut db) = (dg0.clone(), db0.clone());
    let dx = layernorm::backward(
        &cache,
        gamma.view(),
        dy.view(),
        dg.view_mut(),
        db.view_mut(),
    );
    let loss = |x: &Array2<f64>, g: &Array1<f64>, b: &Array1<f64>| {
        dot_loss(
            &layernorm::forward(x.view(), g.view(), b.view(), eps).0,
            &dy,
        )
    };
    assert_grad(
        "layernorm dx",
        &dx,
        &numeric_grad(&x, |x| loss(x, &gamma, &beta)),
    );
    assert_grad(
        "layernorm dgamma",
        &(&dg - &dg0),
        &numeric_grad(&gamma, |g| loss(&x, g, &beta)),
    );
    assert_grad(
        "layernorm dbeta",
        &(&db - &db0),
        &numeric_grad(&beta, |b| loss(&x, &gamma, b)),
    );
}

#[test]
fn layernorm_into_reuses_cache_and_matches() {
    let mut r = rng(7);
    let x: Array2<f64> = uniform(&mut r, (5, 8));
    let (g, b) = init::layernorm_params::<f64>(8, 1.0);
    let (y, cache) = layernorm::forward(x.view(), g.view(), b.view(), 1e-5);
    let mut y2 = Array2::zeros((5, 8));
    let mut cache2 = layernorm::LayerNormCache::empty();
    layernorm::forward_into(
        x.view(),
        g.view(),
        b.view(),
        1e-5,
        y2.view_mut(),
        &mut cache2,
    );
    assert_eq!(y, y2);
    assert_eq!(cache.xhat, cache2.xhat);
    // Normalised rows have mean 0 and (biased) variance 1 - eps/(var+eps).
    for row in y.rows() {
        assert!(row.mean().unwrap().abs() < 1e-12);
        assert!((row.mapv(|v| v * v).mean().unwrap() - 1.0).abs() < 1e-3);
    }
}

#[test]
fn layernorm_items_matches_transposed_row_layernorm() {
    // LN over the item axis of [B, N, E] equals row LN of the transposed [B*E, N] layout.
    let mut r = rng(8);
    let x: Array3<f64> = uniform(&mut r, (2, 5, 3));
    let gamma: Array1<f64> = uniform(&mut r, 5);
    let beta: Array1<f64> = uniform(&mut r, 5);
    let (y, _) = layernorm::forward_items(x.view(), gamma.view(), beta.view(), 1e-5);
    let xt = x
        .view()
        .permuted_axes([0, 2, 1])
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((6, 5))
        .unwrap();
    let (yt, _) = layernorm::forward(xt.view(), gamma.view(), beta.view(), 1e-5);
    let yt = yt.into_shape_with_order((2, 3, 5)).unwrap();
    for ((b, n, e), v) in y.indexed_iter() {
        assert!((v - yt[[b, e, n]]).abs() < 1e-12);
    }
}

#[test]
fn layernorm_items_gradients_accumulate() {
    let mut r = rng(9);
    let x: Array3<f64> = uniform(&mut r, (3, 5, 4));
    let gamma: Array1<f64> = uniform(&mut r, 5);
    let beta: Array1<f64> = uniform(&mut r, 5);
    let dy: Array3<f64> = uniform(&mut r, (3, 5, 4));
    let eps = 1e-5;
    let (_, cache) = layernorm::forward_items(x.view(), gamma.view(), beta.view(), eps);
    let dg0: Array1<f64> = uniform(&mut r, 5);
    let db0: Array1<f64> = uniform(&mut r, 5);
    let (mut dg, mut db) = (dg0.clone(), db0.clone());
    let dx = layernorm::backward_items(
        &cache,
        gamma.view(),
        dy.view(),
        dg.view_mut(),
        db.view_mut(),
    );
    let loss = |x: &Array3<f64>, g: &Array1<f64>, b: &Array1<f64>| {
        dot_loss(
            &layernorm::forward_items(x.view(), g.view(), b.view(), eps).0,
            &dy,
        )
    };
    assert_grad(
        "layernorm_items dx",
        &dx,
        &numeric_grad(&x, |x| loss(x, &gamma, &beta)),
    );
    assert_grad(
        "layernorm_items dgamma",
        &(&dg - &dg0),
        &numeric_grad(&gamma, |g| loss(&x, g, &beta)),
    );
    assert_grad(
        "layernorm_items dbeta",
        &(&db - &db0),
        &numeric_grad(&beta, |b| loss(&x, &gamma, b)),
    );
}

// ---------------------------------------------------------------- loss

#[test]
fn bce_golden_and_stable() {
    // logit 0: loss ln 2 for either label; grad (0.5 - y) / B.
    let (l, g) = loss::bce_with_logits(
        ndarray::array![0.0, 0.0].view(),
        ndarray::array![1.0, 0.0].view(),
    );
    assert!((l - 2f64.ln()).abs() < 1e-15);
    assert_eq!(g, ndarray::array![-0.25, 0.25]);
    // Extreme logits stay finite: loss = |z| for the wrong label, 0 for the right one.
    let (l, g) = loss::bce_with_logits(
        ndarray::array![1000.0f64, -1000.0, 1000.0].view(),
        ndarray::array![0.0, 0.0, 1.0].view(),
    );
    assert!((l - 1000.0 / 3.0).abs() < 1e-9, "{l}");
    assert!(g.iter().all(|v| v.is_finite()));
    let (l32, _) = loss::bce_with_logits(
        ndarray::array![100.0f32, -100.0].view(),
        ndarray::array![0.0f32, 1.0].view(),
    );
    assert!((l32 - 100.0).abs() < 1e-4);
    let (l, g) = loss::bce_with_logits(
        Array1::<f64>::zeros(0).view(),
        Array1::<f64>::zeros(0).view(),
    );
    assert_eq!((l, g.len()), (0.0, 0));
}

#[test]
fn bce_gradient() {
    let mut r = rng(10);
    let z: Array1<f64> = uniform(&mut r, 7).mapv(|v| 4.0 * v);
    let y: Array1<f64> =
        Array1::from_shape_simple_fn(7, || if r.random_bool(0.5) { 1.0 } else { 0.0 });
    let (_, g) = loss::bce_with_logits(z.view(), y.view());
    assert_grad(
        "bce dlogits",
        &g,
        &numeric_grad(&z, |z| loss::bce_with_logits(z.view(), y.view()).0),
    );
}

// ---------------------------------------------------------------- embedding

#[test]
fn embedding_gather_and_sparse_scatter_merge_rows() {
    let table = Array2::from_shape_fn((5, 3), |(i, j)| (10 * i + j) as f64);
    let rows = ndarray::array![3u32, 1, 3];
    let out = embedding::gather(table.view(), rows.view());
    assert_eq!(
        out,
        ndarray::array![[30.0, 31.0, 32.0], [10.0, 11.0, 12.0], [30.0, 31.0, 32.0]]
    );
    let dy = ndarray::array![[1.0, 2.0, 3.0], [0.5, 0.5, 0.5], [10.0, 20.0, 30.0]];
    let mut grad = embedding::SparseRowGrad::new(3);
    embedding::scatter_add(rows.view(), dy.view(), &mut grad);
    assert_eq!(grad.rows(), &[3, 1]);
    assert_eq!(grad.grad_of_row(3).unwrap(), &[11.0, 22.0, 33.0]);
    assert_eq!(grad.grad_of_row(1).unwrap(), &[0.5, 0.5, 0.5]);
    assert!(grad.grad_of_row(0).is_none());
    let expected_sq = 11.0f64.powi(2) + 22.0f64.powi(2) + 33.0f64.powi(2) + 3.0 * 0.25;
    assert!((grad.sum_squares() - expected_sq).abs() < 1e-12);
    grad.scale(2.0);
    assert_eq!(grad.grad(1), &[1.0, 1.0, 1.0]);
    grad.clear();
    assert!(grad.is_empty());
}

#[test]
fn embedding_gradient_matches_dense_finite_difference() {
    let mut r = rng(11);
    let table: Array2<f64> = uniform(&mut r, (6, 4));
    let rows = ndarray::array![2u32, 5, 2, 0];
    let dy: Array2<f64> = uniform(&mut r, (4, 4));
    let mut grad = embedding::SparseRowGrad::new(4);
    embedding::scatter_add(rows.view(), dy.view(), &mut grad);
    let mut dense = Array2::<f64>::zeros((6, 4));
    for (row, g) in grad.iter() {
        dense.row_mut(row as usize).assign(&ArrayView1::from(g));
    }
    let numeric = numeric_grad(&table, |t| {
        dot_loss(&embedding::gather(t.view(), rows.view()), &dy)
    });
    assert_grad("embedding dtable", &dense, &numeric);
    // Untouched rows carry no gradient at all (sparse Adagrad must not visit them).
    assert_eq!(grad.len(), 3);
}

#[test]
fn embedding_fields_gather_and_scatter() {
    let mut r = rng(12);
    let tables: Vec<Array2<f64>> = vec![uniform(&mut r, (4, 16)), uniform(&mut r, (7, 16))];
    let sparse = ndarray::array![[1u32, 6], [3, 0], [1, 2]];
    let x = embedding::gather_fields(&tables, sparse.view());
    assert_eq!(x.dim(), (3, 2, 16));
    assert_eq!(x.slice(s![1, 1, ..]), tables[1].row(0));
    assert_eq!(x.slice(s![2, 0, ..]), tables[0].row(1));
    let dy: Array3<f64> = uniform(&mut r, (3, 2, 16));
    let mut grads = vec![
        embedding::SparseRowGrad::new(16),
        embedding::SparseRowGrad::new(16),
    ];
    embedding::scatter_fields(sparse.view(), dy.view(), &mut grads);
    assert_eq!(grads[0].rows(), &[1, 3]);
    assert_eq!(grads[1].rows(), &[6, 0, 2]);
    let expected = &dy.slice(s![0, 0, ..]) + &dy.slice(s![2, 0, ..]);
    assert_eq!(ArrayView1::from(grads[0].grad_of_row(1).unwrap()), expected);
}

#[test]
#[should_panic(expected = "outside the table")]
fn embedding_row_out_of_range_is_refused() {
    let table = Array2::<f64>::zeros((3, 2));
    embedding::gather(table.view(), ndarray::array![3u32].view());
}

// ---------------------------------------------------------------- linear along items

#[test]
fn linear_items_golden_hand_computed() {
    // x[0] = [[1, 10], [2, 20]] (N=2 items, E=2); w = [[1], [3]] (N=2 -> M=1); b = [1]:
    // y[0, 0, e] = 1 * x[0,0,e] + 3 * x[0,1,e] + 1 = [8, 71].
    let x = ndarray::array![[[1.0, 10.0], [2.0, 20.0]]];
    let w = ndarray::array![[1.0], [3.0]];
    let b = ndarray::array![1.0];
    let y = linear_items::forward(x.view(), w.view(), Some(b.view()));
    assert_eq!(y, ndarray::array![[[8.0, 71.0]]]);
}

#[test]
fn linear_items_matches_per_example_definition() {
    let mut r = rng(13);
    let x: Array3<f64> = uniform(&mut r, (3, 5, 16));
    let w: Array2<f64> = uniform(&mut r, (5, 4));
    let b: Array1<f64> = uniform(&mut r, 4);
    let y = linear_items::forward(x.view(), w.view(), Some(b.view()));
    assert_eq!(y.dim(), (3, 4, 16));
    for ((bb, m, e), v) in y.indexed_iter() {
        let expect: f64 = (0..5).map(|n| x[[bb, n, e]] * w[[n, m]]).sum::<f64>() + b[m];
        assert!((v - expect).abs() < 1e-12);
    }
}

#[test]
fn linear_items_gradients_accumulate() {
    let mut r = rng(14);
    let x: Array3<f64> = uniform(&mut r, (3, 5, 4));
    let w_max: Array2<f64> = uniform(&mut r, (8, 6));
    let b_max: Array1<f64> = uniform(&mut r, 6);
    let dy: Array3<f64> = uniform(&mut r, (3, 3, 4));
    // Use the leading [..5, ..3] block as a supernet would.
    let w = w_max.slice(s![..5, ..3]).to_owned();
    let b = b_max.slice(s![..3]).to_owned();
    let dw0: Array2<f64> = uniform(&mut r, (8, 6));
    let db0: Array1<f64> = uniform(&mut r, 6);
    let (mut dw, mut db) = (dw0.clone(), db0.clone());
    let dx = linear_items::backward(
        x.view(),
        w_max.slice(s![..5, ..3]),
        dy.view(),
        dw.slice_mut(s![..5, ..3]),
        Some(db.slice_mut(s![..3])),
    );
    let loss = |x: &Array3<f64>, w: &Array2<f64>, b: &Array1<f64>| {
        dot_loss(
            &linear_items::forward(x.view(), w.view(), Some(b.view())),
            &dy,
        )
    };
    assert_grad(
        "linear_items dx",
        &dx,
        &numeric_grad(&x, |x| loss(x, &w, &b)),
    );
    let ddw = &dw - &dw0;
    assert_grad(
        "linear_items dw",
        &ddw.slice(s![..5, ..3]).to_owned(),
        &numeric_grad(&w, |w| loss(&x, w, &b)),
    );
    assert_grad(
        "linear_items db",
        &(&db - &db0).slice(s![..3]).to_owned(),
        &numeric_grad(&b, |b| loss(&x, &w, b)),
    );
    assert!(ddw
        .slice(s![5.., ..])
        .iter()
        .chain(ddw.slice(s![..5, 3..]).iter())
        .all(|&v| v == 0.0));
    assert!((&db - &db0).slice(s![3..]).iter().all(|&v| v == 0.0));
}

// ---------------------------------------------------------------- FM

#[test]
fn fm_golden_two_by_two() {
    // x[0] = [[1, 2], [3, 4]]: sums [4, 6], squares [10, 20] -> [16 - 10, 36 - 20] = [6, 16]
    // (no 1/2 factor, as the reference's FactorizationMachine3D).
    let x = ndarray::array![[[1.0, 2.0], [3.0, 4.0]]];
    assert_eq!(fm::forward(x.view()), ndarray::array![[6.0, 16.0]]);
}

#[test]
fn fm_gradient() {
    let mut r = rng(15);
    let x: Array3<f64> = uniform(&mut r, (3, 5, 4));
    let dy: Array2<f64> = uniform(&mut r, (3, 4));
    let dx = fm::backward(x.view(), dy.view());
    assert_grad(
        "fm dx",
        &dx,
        &numeric_grad(&x, |x| dot_loss(&fm::forward(x.view()), &dy)),
    );
}

// ---------------------------------------------------------------- interaction

#[test]
fn interaction_tril_order_golden() {
    // Scalar items t = [1, 2, 3, 4] (E = 1): tril(offset=-1) row-major is
    // (1,0)=2, (2,0)=3, (2,1)=6, (3,0)=4, (3,1)=8, (3,2)=12.
    let t = ndarray::array![[[1.0], [2.0], [3.0], [4.0]]];
    let z = interaction::forward(t.view());
    assert_eq!(z, ndarray::array![[2.0, 3.0, 6.0, 4.0, 8.0, 12.0]]);
    assert_eq!(interaction::tril_len(46), 1035);
    assert_eq!(interaction::tril_len(1), 0);
    assert_eq!(interaction::tril_len(0), 0);
}

#[test]
fn interaction_gradient_on_strided_input() {
    let mut r = rng(16);
    let big: Array3<f64> = uniform(&mut r, (3, 6, 8));
    // A non-contiguous view (every other embedding column) must work too.
    let t = big.slice(s![.., .., ..;2]).to_owned();
    let dz: Array2<f64> = uniform(&mut r, (3, 15));
    let dt = interaction::backward(big.slice(s![.., .., ..;2]), dz.view());
    assert_eq!(
        interaction::forward(big.slice(s![.., .., ..;2])),
        interaction::forward(t.view())
    );
    assert_grad(
        "interaction dt",
        &dt,
        &numeric_grad(&t, |t| dot_loss(&interaction::forward(t.view()), &dz)),
    );
}

// ---------------------------------------------------------------- attention

fn random_attention(r: &mut ChaCha8Rng) -> attention::AttentionWeights<f64> {
    let mut w = attention::AttentionWeights::<f64>::init(16, r);
    // Non-trivial biases and LN parameters so their gradients are exercised too.
    for v in [
        &mut w.bq,
        &mut w.bk,
        &mut w.bv,
        &mut w.bo,
        &mut w.ffn1_b,
        &mut w.ffn2_b,
        &mut w.ln1_beta,
        &mut w.ln2_beta,
    ] {
        *v = uniform(r, 16).mapv(|x| 0.3 * x);
    }
    w.ln1_gamma = uniform(r, 16).mapv(|x| 1.0 + 0.5 * x);
    w.ln2_gamma = uniform(r, 16).mapv(|x| 1.0 + 0.5 * x);
    w
}

#[test]
fn attention_softmax_rows_sum_to_one_and_uniform_without_scores() {
    let mut r = rng(17);
    let x: Array3<f64> = uniform(&mut r, (2, 5, 16));
    let w = random_attention(&mut r);
    let (y, cache) = attention::forward(x.view(), &w.params(), 1e-5);
    assert_eq!(y.dim(), (2, 5, 16));
    for b in 0..2 {
        for h in 0..attention::NUM_HEADS {
            for row in cache.probs(b, h).rows() {
                assert!((row.sum() - 1.0).abs() < 1e-12);
                assert!(row.iter().all(|&p| p > 0.0));
            }
        }
    }
    // Zero query weights and biases make every score equal: each head attends uniformly (1/N).
    let mut flat = w.clone();
    flat.wq.fill(0.0);
    flat.bq.fill(0.0);
    let (_, cache) = attention::forward(x.view(), &flat.params(), 1e-5);
    assert!(cache.probs(1, 3).iter().all(|&p| (p - 0.2).abs() < 1e-12));
}

#[test]
fn attention_is_permutation_equivariant_over_items() {
    // Self-attention without positions: permuting the items permutes the output rows.
    let mut r = rng(18);
    let x: Array3<f64> = uniform(&mut r, (1, 4, 16));
    let w = random_attention(&mut r);
    let (y, _) = attention::forward(x.view(), &w.params(), 1e-5);
    let perm = [2usize, 0, 3, 1];
    let xp = Array3::from_shape_fn((1, 4, 16), |(b, n, e)| x[[b, perm[n], e]]);
    let (yp, _) = attention::forward(xp.view(), &w.params(), 1e-5);
    for n in 0..4 {
        for e in 0..16 {
            assert!((yp[[0, n, e]] - y[[0, perm[n], e]]).abs() < 1e-12);
        }
    }
}

#[test]
fn attention_gradients_accumulate() {
    let mut r = rng(19);
    let x: Array3<f64> = uniform(&mut r, (2, 4, 16));
    let w = random_attention(&mut r);
    let dy: Array3<f64> = uniform(&mut r, (2, 4, 16));
    let eps = 1e-5;
    let (_, cache) = attention::forward(x.view(), &w.params(), eps);
    let mut g0 = attention::AttentionWeights::<f64>::zeros(16);
    for m in [
        &mut g0.wq,
        &mut g0.wk,
        &mut g0.wv,
        &mut g0.wo,
        &mut g0.ffn1_w,
        &mut g0.ffn2_w,
    ] {
        *m = uniform(&mut r, (16, 16));
    }
    g0.ln1_gamma = uniform(&mut r, 16);
    g0.bk = uniform(&mut r, 16);
    let mut g = g0.clone();
    let dx = attention::backward(&cache, &w.params(), dy.view(), &mut g.grads());
    let loss_x = |x: &Array3<f64>| dot_loss(&attention::forward(x.view(), &w.params(), eps).0, &dy);
    assert_grad("attention dx", &dx, &numeric_grad(&x, loss_x));

    // One check per parameter: perturb that parameter inside a copy of the weights.
    macro_rules! check_param {
        ($field:ident, $dim:ty) => {{
            let numeric = numeric_grad::<$dim>(&w.$field, |p| {
                let mut w2 = w.clone();
                w2.$field = p.clone();
                dot_loss(&attention::forward(x.view(), &w2.params(), eps).0, &dy)
            });
            assert_grad(
                concat!("attention d", stringify!($field)),
                &(&g.$field - &g0.$field),
                &numeric,
            );
        }};
    }
    check_param!(wq, Ix2);
    check_param!(bq, Ix1);
    check_param!(wk, Ix2);
    check_param!(wv, Ix2);
    check_param!(bv, Ix1);
    check_param!(wo, Ix2);
    check_param!(bo, Ix1);
    check_param!(ln1_gamma, Ix1);
    check_param!(ln1_beta, Ix1);
    check_param!(ffn1_w, Ix2);
    check_param!(ffn1_b, Ix1);
    check_param!(ffn2_w, Ix2);
    check_param!(ffn2_b, Ix1);
    check_param!(ln2_gamma, Ix1);
    check_param!(ln2_beta, Ix1);
    // The key bias cannot change the output (softmax is shift-invariant per query row), so its
    // gradient is zero: the accumulated buffer must be unchanged up to rounding.
    assert!((&g.bk - &g0.bk).iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn attention_backward_recomputed_probabilities_match_kept_ones() {
    // Large batches do not keep the B x 8 x N x N probabilities and recompute them from the
    // log-sum-exp; both backward paths must agree.
    let mut r = rng(24);
    let x: Array3<f64> = uniform(&mut r, (3, 7, 16));
    let w = random_attention(&mut r);
    let dy: Array3<f64> = uniform(&mut r, (3, 7, 16));
    let (_, kept) = attention::forward(x.view(), &w.params(), 1e-5);
    assert!(kept.keeps_probs());
    let mut recomputed = kept.clone();
    recomputed.forget_probs();
    assert!(!recomputed.keeps_probs());
    let mut g1 = attention::AttentionWeights::<f64>::zeros(16);
    let mut g2 = attention::AttentionWeights::<f64>::zeros(16);
    let dx1 = attention::backward(&kept, &w.params(), dy.view(), &mut g1.grads());
    let dx2 = attention::backward(&recomputed, &w.params(), dy.view(), &mut g2.grads());
    assert!((&dx1 - &dx2).iter().all(|v| v.abs() < 1e-12));
    assert!((&g1.wq - &g2.wq).iter().all(|v| v.abs() < 1e-12));
    assert!((&g1.wk - &g2.wk).iter().all(|v| v.abs() < 1e-12));
    assert!((&g1.wv - &g2.wv).iter().all(|v| v.abs() < 1e-12));
    assert!(g1.wq.iter().any(|v| v.abs() > 1e-6));
}

// ---------------------------------------------------------------- init

#[test]
fn init_is_seeded_and_within_bounds() {
    let a: Array2<f32> = init::xavier_uniform(&mut rng(20), 512, 1024);
    let b: Array2<f32> = init::xavier_uniform(&mut rng(20), 512, 1024);
    assert_eq!(a, b);
    let bound = (6.0f32 / 1536.0).sqrt();
    assert!(a.iter().all(|v| v.abs() <= bound));
    // Mean of U(-a, a) is 0 and its variance a^2 / 3.
    let var = a.mapv(|v| v * v).mean().unwrap();
    assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.02, "{var}");
    let e: Array2<f64> = init::xavier_normal(&mut rng(21), 10_000, 16);
    let expect_var = 2.0 / 10_016.0;
    let var = e.mapv(|v| v * v).mean().unwrap();
    assert!(
        (var / expect_var - 1.0).abs() < 0.02,
        "{var} vs {expect_var}"
    );
    let (g, bt) = init::layernorm_params::<f32>(16, init::TRANSFORMER_LN_GAIN);
    assert!(g.iter().all(|&v| v == 0.17f32) && bt.iter().all(|&v| v == 0.0));
    let w1 = attention::AttentionWeights::<f32>::init(16, &mut rng(22));
    let w2 = attention::AttentionWeights::<f32>::init(16, &mut rng(22));
    assert_eq!(w1, w2);
    assert!(w1
        .ln1_gamma
        .iter()
        .chain(w1.ln2_gamma.iter())
        .all(|&v| v == 0.17f32));
}

// ---------------------------------------------------------------- fast exp (softmax hot loop)

#[test]
fn exp_f32_is_within_a_few_ulp_of_exact() {
    use recpim_model::ops::{exp_f32, Real};
    let mut worst = 0.0f64;
    let mut x = -87.0f32;
    while x <= 88.0 {
        let exact = (x as f64).exp();
        let rel = ((exp_f32(x) as f64) - exact).abs() / exact;
        worst = worst.max(rel);
        x += 0.001_3;
    }
    // f32 has a relative spacing of 1.19e-7; allow about three ulp.
    assert!(worst < 3.6e-7, "worst relative error {worst:e}");
    assert_eq!(exp_f32(0.0), 1.0);
    assert!(exp_f32(f32::NAN).is_nan());
    assert!(exp_f32(-1000.0) >= 0.0 && exp_f32(-1000.0) < 1e-37);
    // The fused softmax step: exp(x - shift) in place and their sum, on 8-lane and tail parts.
    let mut row: Vec<f32> = (0..19).map(|i| i as f32 * 0.37 - 3.0).collect();
    let expect: Vec<f64> = row.iter().map(|&x| (x as f64 - 2.5).exp()).collect();
    let total = f32::exp_shifted_sum(&mut row, 2.5);
    assert!(((total as f64) - expect.iter().sum::<f64>()).abs() < 1e-5);
    for (a, e) in row.iter().zip(&expect) {
        assert!(((*a as f64) - e).abs() / e < 3.6e-7);
    }
    let mut v = [0.5f64, -3.0];
    f64::exp_inplace(&mut v);
    assert_eq!(v, [0.5f64.exp(), (-3.0f64).exp()]);
}

#[test]
fn forward_add_into_sums_blocks_of_a_concatenated_input() {
    // Linear over [x1 | x2] equals x1 W[..3] + x2 W[3..], for both the 2D and the item-axis form.
    let mut r = rng(23);
    let (x1, x2): (Array2<f64>, Array2<f64>) = (uniform(&mut r, (4, 3)), uniform(&mut r, (4, 2)));
    let w: Array2<f64> = uniform(&mut r, (5, 6));
    let cat = ndarray::concatenate(ndarray::Axis(1), &[x1.view(), x2.view()]).unwrap();
    let mut y = linear::forward(x1.view(), w.slice(s![..3, ..]), None);
    linear::forward_add_into(x2.view(), w.slice(s![3.., ..]), y.view_mut());
    let expect = linear::forward(cat.view(), w.view(), None);
    assert!((&y - &expect).iter().all(|v| v.abs() < 1e-12));

    let (i1, i2): (Array3<f64>, Array3<f64>) =
        (uniform(&mut r, (2, 3, 16)), uniform(&mut r, (2, 2, 16)));
    let cat = ndarray::concatenate(ndarray::Axis(1), &[i1.view(), i2.view()]).unwrap();
    let mut y = Array3::zeros((2, 6, 16));
    linear_items::forward_into(i1.view(), w.slice(s![..3, ..]), None, y.view_mut());
    linear_items::forward_add_into(i2.view(), w.slice(s![3.., ..]), y.view_mut());
    let expect = linear_items::forward(cat.view(), w.view(), None);
    assert!((&y - &expect).iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn attention_backward_of_a_strided_gradient_equals_its_contiguous_copy() {
    // The backward reads a contiguous dy in place and copies any other layout: both the same.
    let mut r = rng(23);
    let x: Array3<f64> = uniform(&mut r, (2, 5, 16));
    let w = random_attention(&mut r);
    let (_, cache) = attention::forward(x.view(), &w.params(), 1e-5);
    let wide: Array3<f64> = uniform(&mut r, (2, 9, 16));
    let dy = wide.slice(ndarray::s![.., 2..7, ..]);
    assert!(!dy.is_standard_layout());
    let mut g1 = attention::AttentionWeights::<f64>::zeros(16);
    let mut g2 = attention::AttentionWeights::<f64>::zeros(16);
    let dx1 = attention::backward(&cache, &w.params(), dy, &mut g1.grads());
    let dx2 = attention::backward(&cache, &w.params(), dy.to_owned().view(), &mut g2.grads());
    assert_eq!(dx1, dx2);
    assert_eq!(g1.wq, g2.wq);
    assert_eq!(g1.ln2_gamma, g2.ln2_gamma);
}
