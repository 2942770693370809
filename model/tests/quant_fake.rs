//! Fake quantization: the quantizers' codes, the straight-through estimator's gradients through a
//! whole (hand-checked) network, quantization-aware training through the trainer's `CtrModel`
//! and the supernet, and the quantized inference path.

use ndarray::{array, Array1, Array2, Axis};
use recpim_model::genotype::{Genotype, SearchSpace};
use recpim_model::net::graph::GraphBuilder;
use recpim_model::net::{build_nasrec, ModelOptions, Network, Supernet};
use recpim_model::quant::fake_quant::{fake_quant_weight, quantize_rows, weight_codes};
use recpim_model::quant::{
    quantize_model, quantize_network, quantized_log_loss, ActivationRange, BitAssignment,
    QuantConfig,
};
use recpim_model::{CtrModel, DataSchema, StepHyper};
use std::sync::Arc;

mod quant_support;
use quant_support::{batch, schema, tiny_genotype};

#[test]
fn weight_codes_are_symmetric_per_tensor() {
    let w = array![[0.5_f32, -1.0], [0.26, 0.0]];
    let (codes, scale) = weight_codes(w.view(), 4);
    // 4 bits: codes -7..=7, scale = max|w| / 7.
    assert!((scale - 1.0 / 7.0).abs() < 1e-12);
    // 0.5 * 7 = 3.5 -> 4 (half away from zero), 0.26 * 7 = 1.82 -> 2.
    assert_eq!(codes, vec![4, -7, 2, 0]);
    let q = fake_quant_weight(w.view(), 4);
    assert!((q[[0, 1]] + 1.0).abs() < 1e-7);
    assert!((q[[0, 0]] - 4.0 / 7.0).abs() < 1e-6);
    // An all-zero tensor stays zero.
    let z = Array2::<f32>::zeros((2, 2));
    assert_eq!(fake_quant_weight(z.view(), 8), z);
}

#[test]
fn activation_codes_signed_unsigned_and_clipped() {
    let x = array![[1.0_f64, -0.5, 0.25], [0.0, 0.0, 0.0]];
    // Signed 3 bits: codes -3..=3, per-row scale max|x| / 3.
    let q = quantize_rows(x.view(), 3, true, ActivationRange::Dynamic);
    assert_eq!(&q.codes[..3], &[3, -2, 1]); // -1.5 -> -2, 0.75 -> 1
    assert_eq!(q.scales[1], 0.0);
    assert!(q.mask.iter().all(|&m| m == 1.0));
    // Unsigned 2 bits: codes 0..=3; a negative value clips to 0 and loses its gradient.
    let q = quantize_rows(x.view(), 2, false, ActivationRange::Dynamic);
    assert_eq!(&q.codes[..3], &[3, 0, 1]);
    assert_eq!(q.mask.row(0).to_vec(), vec![1.0, 0.0, 1.0]);
    // Fixed clip at 0.5: 1.0 clips (mask 0), -0.5 is on the edge (mask 1).
    let q = quantize_rows(x.view(), 3, true, ActivationRange::Clip(0.5));
    assert_eq!(&q.codes[..3], &[3, -3, 2]); // 0.25 / (0.5/3) = 1.5 -> 2
    assert_eq!(q.mask.row(0).to_vec(), vec![0.0, 1.0, 1.0]);
}

/// dense(3) -> Linear(3->4) -> ReLU -> Linear(4->1) = logit, built by hand so that the STE
/// gradients can be computed independently below.
fn two_layer_net() -> Network<f64> {
    let mut b = GraphBuilder::new(3, 1);
    let x = b.dense_input();
    b.begin_operator("fc1");
    let h = b.linear("fc1", &[(x, 0)], 3, 4, 4, true);
    let h = b.relu(h);
    b.end_operator();
    b.begin_operator("fc2");
    let y = b.linear("fc2", &[(h, 0)], 4, 1, 1, true);
    b.end_operator();
    let graph = b.finish(y);
    let schema = DataSchema {
        n_dense: 3,
        table_rows: vec![2],
    };
    Network::<f64>::init(graph, &schema, 7).unwrap()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn check_ste(range: ActivationRange) {
    let mut net = two_layer_net();
    // Biases away from zero so ReLU and clipping both matter.
    net.dense[1] = array![[0.3], [-0.2], [0.1], [0.05]];
    let bits = BitAssignment::new(
        vec!["fc1".to_string(), "fc2".to_string()],
        vec![
            recpim_model::quant::OperatorBits {
                weight_bits: 4,
                activation_bits: 5,
            },
            recpim_model::quant::OperatorBits {
                weight_bits: 3,
                activation_bits: 3,
            },
        ],
        "test",
    )
    .unwrap();
    let cfg = QuantConfig {
        bits,
        activation_range: range,
    };
    let dense = array![[0.9, -0.4, 1.3], [-1.1, 0.2, 0.7], [0.05, 0.6, -0.3]];
    let sparse = Array2::<u32>::zeros((3, 1));
    let labels = array![1.0, 0.0, 1.0];

    // Independent computation of the quantized forward and the STE backward.
    let w1 = &net.dense[0];
    let b1 = net.dense[1].column(0).to_owned();
    let w2 = &net.dense[2];
    let b2 = net.dense[3][[0, 0]];
    let w1q = fake_quant_weight(w1.view(), 4);
    let w2q = fake_quant_weight(w2.view(), 3);
    let xq = quantize_rows(dense.view(), 5, true, range);
    let pre = xq.xq.dot(&w1q) + &b1;
    let h = pre.mapv(|v| v.max(0.0));
    let hq = quantize_rows(h.view(), 3, false, range);
    let logit: Array1<f64> = hq.xq.dot(&w2q).column(0).mapv(|v| v + b2);
    let n = labels.len() as f64;
    let dlogit: Array2<f64> = (&logit.mapv(sigmoid) - &labels)
        .mapv(|v| v / n)
        .insert_axis(Axis(1));
    let dw2 = hq.xq.t().dot(&dlogit);
    let dh = dlogit.dot(&w2q.t()) * &hq.mask;
    let dpre = &dh * &pre.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
    let dw1 = xq.xq.t().dot(&dpre);
    let db1 = dpre.sum_axis(Axis(0));

    quantize_network_f64(&mut net, &cfg);
    let mut grads = net.zero_grads();
    let loss = net.loss_grads_chunk(dense.view(), sparse.view(), labels.view(), 1.0, &mut grads);
    let expected_loss = logit
        .iter()
        .zip(&labels)
        .map(|(&z, &y)| -(y * sigmoid(z).ln() + (1.0 - y) * (1.0 - sigmoid(z)).ln()))
        .sum::<f64>()
        / n;
    assert!(
        (loss - expected_loss).abs() < 1e-12,
        "{loss} vs {expected_loss}"
    );
    let close =
        |a: &Array2<f64>, b: &Array2<f64>| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(
        close(&grads.dense[0], &dw1),
        "{:?}\n{:?}",
        grads.dense[0],
        dw1
    );
    assert!(close(&grads.dense[2], &dw2));
    assert!(close(&grads.dense[1], &db1.insert_axis(Axis(1))));
}

/// `quantize_network` is for f32 networks; the f64 test network gets the same plan directly.
fn quantize_network_f64(net: &mut Network<f64>, cfg: &QuantConfig) {
    let plan = recpim_model::quant::QuantPlan::new(&net.graph, cfg).unwrap();
    net.graph.quant = Some(Arc::new(plan));
}

#[test]
fn ste_gradients_match_the_hand_computed_quantized_backward() {
    check_ste(ActivationRange::Dynamic);
}

#[test]
fn ste_gradients_are_zero_where_activations_clip() {
    // Clip at 0.5: many inputs (|x| up to 1.3) and hidden units clip; their gradients vanish.
    check_ste(ActivationRange::Clip(0.5));
}

#[test]
fn high_precision_quantization_is_close_to_float_and_two_bits_is_not() {
    let g = tiny_genotype(1);
    let model = build_nasrec(&g, &schema(), &ModelOptions::default(), 3).unwrap();
    let b = batch(300, 1);
    let float = model.predict_logits(&b);
    let float_loss =
        recpim_model::metrics::log_loss_from_logits(&b.labels.to_vec(), &float.to_vec()).unwrap();
    let ops = recpim_model::quant::operator_names(&g).unwrap();
    let q16 = QuantConfig::new(BitAssignment::uniform(ops.clone(), 16, 16).unwrap());
    let loss16 = quantized_log_loss(model.network(), &q16, &b).unwrap();
    assert!(
        (loss16 - float_loss).abs() < 1e-3,
        "{loss16} vs {float_loss}"
    );
    let q2 = QuantConfig::new(BitAssignment::uniform(ops, 2, 2).unwrap());
    let loss2 = quantized_log_loss(model.network(), &q2, &b).unwrap();
    assert!((loss2 - float_loss).abs() > 1e-3, "{loss2} vs {float_loss}");
    // The inference path leaves the model in float.
    assert_eq!(model.predict_logits(&b), float);
}

fn state_bytes(model: &dyn CtrModel) -> Vec<u8> {
    let mut out = Vec::new();
    model.save_state(&mut out).unwrap();
    out
}

#[test]
fn quantization_aware_training_through_ctr_model_learns_and_is_deterministic() {
    let g = tiny_genotype(1);
    let ops = recpim_model::quant::operator_names(&g).unwrap();
    let cfg = QuantConfig::new(BitAssignment::uniform(ops, 4, 4).unwrap());
    let hyper = StepHyper {
        lr: 0.05,
        ..StepHyper::default()
    };
    let val = batch(400, 99);
    let run = || {
        let mut model = build_nasrec(&g, &schema(), &ModelOptions::default(), 5).unwrap();
        quantize_model(&mut model, Some(&cfg)).unwrap();
        let before = quantized_log_loss(model.network(), &cfg, &val).unwrap();
        for step in 0..60 {
            let stats = model.train_step(&batch(128, step), &hyper);
            assert!(stats.loss.is_finite());
        }
        let after = quantized_log_loss(model.network(), &cfg, &val).unwrap();
        (before, after, state_bytes(&model))
    };
    let (before, after, bytes) = run();
    assert!(
        after < before - 0.02,
        "QAT did not learn: {before} -> {after}"
    );
    let (_, _, bytes_again) = run();
    assert_eq!(bytes, bytes_again, "same seed, same bytes");
    // Switching quantization off again gives the float model's predictions.
    let mut model = build_nasrec(&g, &schema(), &ModelOptions::default(), 5).unwrap();
    let float = model.predict_logits(&val);
    quantize_model(&mut model, Some(&cfg)).unwrap();
    assert_ne!(model.predict_logits(&val), float);
    quantize_network(model.network_mut(), None).unwrap();
    assert_eq!(model.predict_logits(&val), float);
}

#[test]
fn supernet_subnet_steps_train_with_fake_quantization() {
    let opts = ModelOptions {
        layernorm: true,
        operator_balancing: true,
    };
    let mut supernet = Supernet::with_blocks(SearchSpace::Small, 2, &schema(), &opts, 11).unwrap();
    let g = tiny_genotype(1);
    let ops = recpim_model::quant::operator_names(&g).unwrap();
    let q16 = QuantConfig::new(BitAssignment::uniform(ops.clone(), 16, 16).unwrap());
    let b = batch(256, 4);
    let float = supernet.forward_subnet(&g, &b).unwrap();
    let quant16 = supernet.forward_subnet_quant(&g, &b, Some(&q16)).unwrap();
    let max_diff = float
        .iter()
        .zip(&quant16)
        .map(|(a, q)| (a - q).abs())
        .fold(0.0_f32, f32::max);
    assert!(max_diff < 1e-2, "16-bit subnet differs by {max_diff}");
    let q4 = QuantConfig::new(BitAssignment::uniform(ops, 4, 4).unwrap());
    let hyper = StepHyper {
        lr: 0.05,
        ..StepHyper::default()
    };
    let first = supernet
        .train_step_subnet_quant(&g, &batch(128, 0), &hyper, Some(&q4))
        .unwrap();
    let mut last = first;
    for step in 1..40 {
        last = supernet
            .train_step_subnet_quant(&g, &batch(128, step), &hyper, Some(&q4))
            .unwrap();
    }
    assert!(
        first.loss.is_finite() && last.loss < first.loss,
        "{first:?} -> {last:?}"
    );
    // Bits for another genotype's operators are rejected, naming the missing operator.
    let other = recpim_model::quant::operator_names(&Genotype {
        micro: vec![tiny_genotype(1).micro[1].clone(); 2],
        ..tiny_genotype(1)
    })
    .unwrap();
    let wrong = QuantConfig::new(BitAssignment::uniform(other, 8, 8).unwrap());
    let err = supernet
        .train_step_subnet_quant(&g, &b, &hyper, Some(&wrong))
        .unwrap_err()
        .to_string();
    assert!(err.contains("b0.dot-product"), "{err}");
}
