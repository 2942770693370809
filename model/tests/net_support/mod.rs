//! Shared helpers of the net_* tests: finite-difference gradient checks in f64 and small batches.

#![allow(dead_code)]

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::net::graph::Graph;
use recpim_model::net::Network;
use recpim_model::{Batch, DataSchema};

/// Random inputs for a network: dense `[b, n_dense]`, sparse rows inside the tables, labels 0/1.
pub fn random_inputs(
    schema: &DataSchema,
    rows: usize,
    seed: u64,
) -> (Array2<f64>, Array2<u32>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dense =
        Array2::from_shape_simple_fn((rows, schema.n_dense), || rng.random_range(-1.0..1.5));
    let sparse = Array2::from_shape_fn((rows, schema.n_sparse()), |(_, f)| {
        rng.random_range(0..schema.table_rows[f] as u32)
    });
    let labels =
        Array1::from_shape_simple_fn(rows, || if rng.random_bool(0.4) { 1.0 } else { 0.0 });
    (dense, sparse, labels)
}

/// An f32 batch with the same recipe.
pub fn random_batch(schema: &DataSchema, rows: usize, seed: u64) -> Batch {
    let (d, s, l) = random_inputs(schema, rows, seed);
    Batch {
        dense: d.mapv(|v| v as f32),
        sparse: s,
        labels: l.mapv(|v| v as f32),
    }
}

fn loss_of(net: &Network<f64>, d: &Array2<f64>, s: &Array2<u32>, l: &Array1<f64>) -> f64 {
    let mut g = net.zero_grads();
    net.loss_grads_chunk(d.view(), s.view(), l.view(), 1.0, &mut g)
}

fn close(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= 1e-6 * (analytic.abs() + numeric.abs()).max(1e-2)
}

/// Checks every gradient of `graph` (up to `per_tensor` entries of each dense tensor and of each
/// touched embedding row set) against central differences; the parameters get random
/// perturbations first so that no check sits on a symmetric point. Returns how many were checked.
pub fn fd_check(
    graph: Graph,
    schema: &DataSchema,
    rows: usize,
    seed: u64,
    per_tensor: usize,
) -> usize {
    let mut net = Network::<f64>::init(graph, schema, seed).expect("network");
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    for t in net.dense.iter_mut() {
        t.mapv_inplace(|v| v + rng.random_range(-0.2..0.2));
    }
    for g in net.tables.iter_mut() {
        for t in g.iter_mut() {
            t.mapv_inplace(|v| v + rng.random_range(-0.3..0.3));
        }
    }
    let (d, s, l) = random_inputs(schema, rows, seed + 2);
    let mut grads = net.zero_grads();
    let loss = net.loss_grads_chunk(d.view(), s.view(), l.view(), 1.0, &mut grads);
    assert!(loss.is_finite());
    let h = 1e-6;
    let mut checked = 0;
    for t in 0..net.dense.len() {
        let n = net.dense[t].len();
        let step = (n / per_tensor.max(1)).max(1);
        for i in (0..n).step_by(step).take(per_tensor) {
            let orig = net.dense[t].as_slice().expect("standard layout")[i];
            net.dense[t].as_slice_mut().expect("standard layout")[i] = orig + h;
            let up = loss_of(&net, &d, &s, &l);
            net.dense[t].as_slice_mut().expect("standard layout")[i] = orig - h;
            let down = loss_of(&net, &d, &s, &l);
            net.dense[t].as_slice_mut().expect("standard layout")[i] = orig;
            let numeric = (up - down) / (2.0 * h);
            let analytic = grads.dense[t].as_slice().expect("standard layout")[i];
            assert!(
                close(analytic, numeric),
                "{}[{i}]: analytic {analytic} vs numeric {numeric}",
                net.graph.params[t].key
            );
            checked += 1;
        }
    }
    for (gi, group) in grads.tables.iter().enumerate() {
        for (f, rowgrads) in group.iter().enumerate() {
            for (row, g) in rowgrads.iter().take(per_tensor) {
                for (e, &analytic) in g.iter().enumerate() {
                    let r = row as usize;
                    let orig = net.tables[gi][f][[r, e]];
                    net.tables[gi][f][[r, e]] = orig + h;
                    let up = loss_of(&net, &d, &s, &l);
                    net.tables[gi][f][[r, e]] = orig - h;
                    let down = loss_of(&net, &d, &s, &l);
                    net.tables[gi][f][[r, e]] = orig;
                    let numeric = (up - down) / (2.0 * h);
                    assert!(close(analytic, numeric), "embedding {gi}.{f} row {row}[{e}]: analytic {analytic} vs numeric {numeric}");
                    checked += 1;
                }
            }
        }
    }
    checked
}
