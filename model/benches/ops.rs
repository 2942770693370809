//! Speed of the primitive operators at the shapes of NASRec training (batch 256, f32, one thread):
//! `cargo bench -p recpim-model --bench ops`. Figures go to BENCHMARKS.md "## Model operators".

use divan::Bencher;
use ndarray::{Array1, Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::ops::{
    attention, embedding, fm, interaction, layernorm, linear, linear_items, loss,
};

const BATCH: usize = 256;
const EMB: usize = 16;

fn main() {
    divan::main();
}

fn uniform2(seed: u64, shape: (usize, usize)) -> Array2<f32> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn(shape, || r.random_range(-1.0..1.0))
}

fn uniform3(seed: u64, shape: (usize, usize, usize)) -> Array3<f32> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    Array3::from_shape_simple_fn(shape, || r.random_range(-1.0..1.0))
}

/// Linear 512 -> 1024 at batch 256 (the widest dense node).
#[divan::bench]
fn linear_forward_512x1024(bencher: Bencher) {
    let (x, w, b) = (
        uniform2(1, (BATCH, 512)),
        uniform2(2, (512, 1024)),
        Array1::<f32>::zeros(1024),
    );
    let mut y = Array2::zeros((BATCH, 1024));
    bencher.bench_local(|| linear::forward_into(x.view(), w.view(), Some(b.view()), y.view_mut()));
}

#[divan::bench]
fn linear_backward_512x1024(bencher: Bencher) {
    let (x, w, dy) = (
        uniform2(1, (BATCH, 512)),
        uniform2(2, (512, 1024)),
        uniform2(3, (BATCH, 1024)),
    );
    let mut dw = Array2::<f32>::zeros((512, 1024));
    let mut db = Array1::<f32>::zeros(1024);
    let mut dx = Array2::<f32>::zeros((BATCH, 512));
    bencher.bench_local(|| {
        linear::backward_params(x.view(), dy.view(), dw.view_mut(), Some(db.view_mut()));
        linear::backward_input_into(w.view(), dy.view(), dx.view_mut(), false);
    });
}

/// Embedded FC 64 -> 48 items at E = 16.
#[divan::bench]
fn linear_items_forward_64to48(bencher: Bencher) {
    let (x, w, b) = (
        uniform3(4, (BATCH, 64, EMB)),
        uniform2(5, (64, 48)),
        Array1::<f32>::zeros(48),
    );
    bencher.bench_local(|| linear_items::forward(x.view(), w.view(), Some(b.view())));
}

/// Backward (dx, dW, db) of the item-axis Linear `items -> outs` on `batch` examples.
fn bench_linear_items_backward(bencher: Bencher, batch: usize, items: usize, outs: usize) {
    let (x, w, dy) = (
        uniform3(4, (batch, items, EMB)),
        uniform2(5, (items, outs)),
        uniform3(6, (batch, outs, EMB)),
    );
    let mut dw = Array2::<f32>::zeros((items, outs));
    let mut db = Array1::<f32>::zeros(outs);
    bencher.bench_local(|| {
        linear_items::backward(
            x.view(),
            w.view(),
            dy.view(),
            dw.view_mut(),
            Some(db.view_mut()),
        )
    });
}

#[divan::bench]
fn linear_items_backward_64to48(bencher: Bencher) {
    bench_linear_items_backward(bencher, BATCH, 64, 48);
}

/// Criteo-Full's balancing projection (162 items -> 39, a width with a partial column block) on
/// a 128-example chunk.
#[divan::bench]
fn linear_items_backward_162to39_chunk128(bencher: Bencher) {
    bench_linear_items_backward(bencher, 128, 162, 39);
}

/// LayerNorm over rows of 16 (the transformer's two LayerNorms on a 128-example chunk of 64
/// items: 8,192 rows), forward then backward, into preallocated buffers.
#[divan::bench]
fn layernorm_rows16_forward_backward_8192(bencher: Bencher) {
    let (x, dy) = (uniform2(7, (8192, EMB)), uniform2(8, (8192, EMB)));
    let (gamma, beta) = (Array1::<f32>::ones(EMB), Array1::<f32>::zeros(EMB));
    let (mut y, mut dx) = (
        Array2::<f32>::zeros((8192, EMB)),
        Array2::<f32>::zeros((8192, EMB)),
    );
    let (mut dgamma, mut dbeta) = (Array1::<f32>::zeros(EMB), Array1::<f32>::zeros(EMB));
    let mut cache = layernorm::LayerNormCache::empty();
    bencher.bench_local(|| {
        layernorm::forward_into(
            x.view(),
            gamma.view(),
            beta.view(),
            1e-5,
            y.view_mut(),
            &mut cache,
        );
        layernorm::backward_into(
            &cache,
            gamma.view(),
            dy.view(),
            dgamma.view_mut(),
            dbeta.view_mut(),
            dx.view_mut(),
        );
    });
}

/// The attention layer's 16 x 16 projections on 8,192 rows: forward, and backward (dW, db, dx).
#[divan::bench]
fn linear16_forward_8192(bencher: Bencher) {
    let (x, w, b) = (
        uniform2(7, (8192, EMB)),
        uniform2(9, (EMB, EMB)),
        Array1::<f32>::zeros(EMB),
    );
    let mut y = Array2::<f32>::zeros((8192, EMB));
    bencher.bench_local(|| linear::forward_into(x.view(), w.view(), Some(b.view()), y.view_mut()));
}

#[divan::bench]
fn linear16_backward_8192(bencher: Bencher) {
    let (x, dy, w) = (
        uniform2(7, (8192, EMB)),
        uniform2(8, (8192, EMB)),
        uniform2(9, (EMB, EMB)),
    );
    let (mut dw, mut db) = (Array2::<f32>::zeros((EMB, EMB)), Array1::<f32>::zeros(EMB));
    bencher.bench_local(|| {
        linear::backward(
            x.view(),
            w.view(),
            dy.view(),
            dw.view_mut(),
            Some(db.view_mut()),
        )
    });
}

#[divan::bench]
fn layernorm_forward_backward_1024(bencher: Bencher) {
    let x = uniform2(7, (BATCH, 1024));
    let dy = uniform2(8, (BATCH, 1024));
    let (g, b) = (Array1::<f32>::ones(1024), Array1::<f32>::zeros(1024));
    let (mut dg, mut db) = (Array1::<f32>::zeros(1024), Array1::<f32>::zeros(1024));
    let mut y = Array2::zeros((BATCH, 1024));
    let mut cache = layernorm::LayerNormCache::empty();
    let mut dx = Array2::zeros((BATCH, 1024));
    bencher.bench_local(|| {
        layernorm::forward_into(x.view(), g.view(), b.view(), 1e-5, y.view_mut(), &mut cache);
        layernorm::backward_into(
            &cache,
            g.view(),
            dy.view(),
            dg.view_mut(),
            db.view_mut(),
            dx.view_mut(),
        );
    });
}

/// LN over 48 items of [256, 48, 16] (linear-3d / transformer projection).
#[divan::bench]
fn layernorm_items_forward_backward_48(bencher: Bencher) {
    let x = uniform3(9, (BATCH, 48, EMB));
    let dy = uniform3(10, (BATCH, 48, EMB));
    let (g, b) = (Array1::<f32>::ones(48), Array1::<f32>::zeros(48));
    let (mut dg, mut db) = (Array1::<f32>::zeros(48), Array1::<f32>::zeros(48));
    bencher.bench_local(|| {
        let (_, cache) = layernorm::forward_items(x.view(), g.view(), b.view(), 1e-5);
        layernorm::backward_items(&cache, g.view(), dy.view(), dg.view_mut(), db.view_mut())
    });
}

/// Dot-product interaction over P = 46 items (45 balanced items + the dense vector, d = 1024).
#[divan::bench]
fn interaction_forward_p46(bencher: Bencher) {
    let t = uniform3(11, (BATCH, 46, EMB));
    bencher.bench_local(|| interaction::forward(t.view()));
}

#[divan::bench]
fn interaction_backward_p46(bencher: Bencher) {
    let t = uniform3(11, (BATCH, 46, EMB));
    let dz = uniform2(12, (BATCH, interaction::tril_len(46)));
    bencher.bench_local(|| interaction::backward(t.view(), dz.view()));
}

#[divan::bench]
fn fm_forward_backward_64(bencher: Bencher) {
    let x = uniform3(13, (BATCH, 64, EMB));
    let dy = uniform2(14, (BATCH, EMB));
    bencher.bench_local(|| {
        let y = fm::forward(x.view());
        (y, fm::backward(x.view(), dy.view()))
    });
}

/// Encoder layer on N = 64 items (the transformer node at its widest).
#[divan::bench]
fn attention_forward_n64(bencher: Bencher) {
    let x = uniform3(15, (BATCH, 64, EMB));
    let w = attention::AttentionWeights::<f32>::init(EMB, &mut ChaCha8Rng::seed_from_u64(16));
    bencher.bench_local(|| attention::forward(x.view(), &w.params(), 1e-5));
}

#[divan::bench]
fn attention_forward_backward_n64(bencher: Bencher) {
    let x = uniform3(15, (BATCH, 64, EMB));
    let dy = uniform3(17, (BATCH, 64, EMB));
    let w = attention::AttentionWeights::<f32>::init(EMB, &mut ChaCha8Rng::seed_from_u64(16));
    let mut g = attention::AttentionWeights::<f32>::zeros(EMB);
    bencher.bench_local(|| {
        let (_, cache) = attention::forward(x.view(), &w.params(), 1e-5);
        attention::backward(&cache, &w.params(), dy.view(), &mut g.grads())
    });
}

/// The same on a 128-example chunk (as the training engine shards a batch), where the forward
/// keeps the softmax probabilities for the backward instead of recomputing them.
#[divan::bench]
fn attention_forward_backward_n64_chunk128(bencher: Bencher) {
    let x = uniform3(15, (128, 64, EMB));
    let dy = uniform3(17, (128, 64, EMB));
    let w = attention::AttentionWeights::<f32>::init(EMB, &mut ChaCha8Rng::seed_from_u64(16));
    let mut g = attention::AttentionWeights::<f32>::zeros(EMB);
    bencher.bench_local(|| {
        let (_, cache) = attention::forward(x.view(), &w.params(), 1e-5);
        attention::backward(&cache, &w.params(), dy.view(), &mut g.grads())
    });
}

/// 26 Criteo fields into [256, 26, 16], with the sparse backward into per-table row gradients.
#[divan::bench]
fn embedding_gather_scatter_26_fields(bencher: Bencher) {
    let tables: Vec<Array2<f32>> = (0..26).map(|f| uniform2(100 + f, (10_000, EMB))).collect();
    let mut r = ChaCha8Rng::seed_from_u64(18);
    let sparse = Array2::from_shape_simple_fn((BATCH, 26), || r.random_range(0..10_000u32));
    let dy = uniform3(19, (BATCH, 26, EMB));
    let mut grads: Vec<embedding::SparseRowGrad<f32>> = (0..26)
        .map(|_| embedding::SparseRowGrad::new(EMB))
        .collect();
    bencher.bench_local(|| {
        let x = embedding::gather_fields(&tables, sparse.view());
        grads.iter_mut().for_each(|g| g.clear());
        embedding::scatter_fields(sparse.view(), dy.view(), &mut grads);
        x
    });
}

#[divan::bench]
fn bce_with_logits_256(bencher: Bencher) {
    let z = uniform2(20, (1, BATCH)).row(0).to_owned();
    let y = z.mapv(|v| if v > 0.0 { 1.0f32 } else { 0.0 });
    bencher.bench_local(|| loss::bce_with_logits(z.view(), y.view()));
}

/// Strategy comparison for the doc of `linear_items`: the embedded FC as ONE large GEMM after
/// permuting `x` to `[B*E, N]` and the result back (measured slower than the per-example GEMMs
/// the library uses; kept so the claim can be re-measured).
#[divan::bench]
fn linear_items_forward_64to48_one_gemm_alternative(bencher: Bencher) {
    let (x, w) = (uniform3(4, (BATCH, 64, EMB)), uniform2(5, (64, 48)));
    bencher.bench_local(|| {
        let xp = x
            .view()
            .permuted_axes([0, 2, 1])
            .as_standard_layout()
            .into_owned();
        let xp = xp.into_shape_with_order((BATCH * EMB, 64)).ok()?;
        let yp = xp.dot(&w).into_shape_with_order((BATCH, EMB, 48)).ok()?;
        Some(
            yp.permuted_axes([0, 2, 1])
                .as_standard_layout()
                .into_owned(),
        )
    });
}
