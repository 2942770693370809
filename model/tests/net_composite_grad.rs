//! Finite-difference gradient checks (f64) of every composite NASRec operator (issue 3 item 1),
//! each inside a small graph: dense input -> Linear (so the operator's input gradient is checked
//! through that Linear's weights) and embeddings (checked row by row) -> operator -> logit.

mod net_support;

use net_support::fd_check;
use recpim_model::net::composite::{balanced_items, tril_len};
use recpim_model::net::graph::{Graph, GraphBuilder, ValueId};
use recpim_model::DataSchema;

fn schema() -> DataSchema {
    DataSchema {
        n_dense: 3,
        table_rows: vec![5, 4, 6],
    }
}

/// Dense input through two Linears of widths 5 and 3 (two "sources"), plus the embeddings.
fn sources(b: &mut GraphBuilder) -> (ValueId, ValueId, ValueId) {
    let d0 = b.dense_input();
    let a = b.linear("pre_a", &[(d0, 0)], 3, 5, 5, true);
    let c = b.linear("pre_b", &[(d0, 0)], 3, 3, 3, true);
    let sp = b.embed(16);
    (a, c, sp)
}

fn head_flat(mut b: GraphBuilder, y: ValueId) -> Graph {
    let w = b.axis_len(y);
    let logit = b.linear("head", &[(y, 0)], w, 1, 1, true);
    b.finish(logit)
}

fn head_items(mut b: GraphBuilder, y: ValueId) -> Graph {
    let f = b.flatten(y);
    let w = b.axis_len(f);
    let logit = b.linear("head", &[(f, 0)], w, 1, 1, true);
    b.finish(logit)
}

fn has_key(g: &Graph, key: &str) -> bool {
    g.params.iter().any(|p| p.key == key)
}

#[test]
fn sum_pads_adds_and_projects() {
    for ln in [false, true] {
        let mut b = GraphBuilder::new(3, 3);
        let (a, c, _) = sources(&mut b);
        let y = b.nasrec_sum("sum", a, c, 4, 1024, ln);
        let g = head_flat(b, y);
        assert!(has_key(&g, "sum.proj.w"));
        assert_eq!(has_key(&g, "sum.proj.b"), !ln, "bias = not LN");
        assert_eq!(has_key(&g, "sum.ln.g"), ln);
        assert!(fd_check(g, &schema(), 4, 11, 40) > 50);
    }
    // Padded width equals d: no projection.
    let mut b = GraphBuilder::new(3, 3);
    let (a, c, _) = sources(&mut b);
    let y = b.nasrec_sum("sum", a, c, 5, 1024, false);
    let g = head_flat(b, y);
    assert!(!has_key(&g, "sum.proj.w"));
    fd_check(g, &schema(), 4, 12, 40);
}

#[test]
fn sigmoid_gating_gates_and_projects_with_bias() {
    for ln in [false, true] {
        let mut b = GraphBuilder::new(3, 3);
        let (a, c, _) = sources(&mut b);
        // left narrower than right: the gate is Linear(3 -> 5) of the padded left.
        let y = b.nasrec_gating("gate", c, a, 4, 1024, ln);
        let g = head_flat(b, y);
        assert_eq!(
            g.params
                .iter()
                .find(|p| p.key == "gate.gate.w")
                .map(|p| p.shape),
            Some((3, 5))
        );
        assert!(
            has_key(&g, "gate.gate.b") && has_key(&g, "gate.proj.b"),
            "gating Linears always have a bias"
        );
        assert!(fd_check(g, &schema(), 4, 13, 40) > 50);
    }
}

#[test]
fn dot_product_with_and_without_balancing() {
    assert_eq!(
        (
            balanced_items(1024),
            balanced_items(768),
            balanced_items(128)
        ),
        (45, 39, 16),
        "nasrec-spec §1 examples"
    );
    for (ln, balancing) in [(false, true), (true, true), (false, false), (true, false)] {
        let mut b = GraphBuilder::new(3, 3);
        let (a, c, sp) = sources(&mut b);
        let y = b.nasrec_dot_product("dp", &[(a, 0), (c, 5)], 8, &[(sp, 0)], 3, 8, ln, balancing);
        let g = head_flat(b, y);
        assert!(
            has_key(&g, "dp.dense_proj.w"),
            "dense width 8 != 16 is projected"
        );
        assert_eq!(has_key(&g, "dp.item_proj.w"), balancing);
        let items = if balancing { balanced_items(8) } else { 3 };
        let tril = g
            .params
            .iter()
            .find(|p| p.key == "dp.out_proj.w")
            .map(|p| p.shape.0);
        assert_eq!(tril, Some(tril_len(items + 1)));
        assert!(fd_check(g, &schema(), 4, 14, 40) > 50);
    }
}

#[test]
fn dot_product_with_16_wide_dense_input_concatenates_without_projection() {
    let mut b = GraphBuilder::new(3, 3);
    let d0 = b.dense_input();
    let a = b.linear("pre_a", &[(d0, 0)], 3, 10, 10, true);
    let c = b.linear("pre_b", &[(d0, 0)], 3, 6, 6, true);
    let sp = b.embed(16);
    let y = b.nasrec_dot_product("dp", &[(a, 0), (c, 10)], 16, &[(sp, 0)], 3, 6, false, true);
    let g = head_flat(b, y);
    assert!(!has_key(&g, "dp.dense_proj.w"));
    fd_check(g, &schema(), 4, 15, 40);
}

#[test]
fn transformer_block() {
    for ln in [false, true] {
        let mut b = GraphBuilder::new(3, 3);
        let (_, _, sp) = sources(&mut b);
        let extra = b.nasrec_linear_3d("l3", &[(sp, 0)], 3, 2, false);
        let y = b.nasrec_transformer("tr", &[(sp, 0), (extra, 3)], 5, 3, ln);
        let g = head_items(b, y);
        let gain = g
            .params
            .iter()
            .position(|p| p.key == "tr.attn.ln1.g")
            .expect("ln1");
        assert_eq!(
            g.params[gain].init,
            recpim_model::net::params::Init::Constant(0.17)
        );
        assert!(fd_check(g, &schema(), 3, 16, 30) > 100);
    }
}

#[test]
fn linear_3d_and_linear_2d() {
    for ln in [false, true] {
        let mut b = GraphBuilder::new(3, 3);
        let (a, c, sp) = sources(&mut b);
        let s3 = b.nasrec_linear_3d("l3", &[(sp, 0)], 3, 4, ln);
        let d2 = b.nasrec_linear_2d("l2", &[(a, 0), (c, 5)], 8, 6, ln);
        let mut bb = b;
        let logit = bb.logit_layer("head", d2, s3, 6, 4);
        let g = bb.finish(logit);
        assert_eq!(has_key(&g, "l2.fc.b"), !ln);
        assert!(fd_check(g, &schema(), 4, 17, 40) > 50);
    }
}

#[test]
fn dense_to_sparse_and_sparse_to_dense_mergers() {
    for ln in [false, true] {
        let mut b = GraphBuilder::new(3, 3);
        let (a, _, sp) = sources(&mut b);
        let s3 = b.nasrec_linear_3d("l3", &[(sp, 0)], 3, 4, false);
        let merged = b.nasrec_dense_to_sparse("dsi", a, s3, ln);
        assert_eq!(b.axis_len(merged), 4 + 8, "8 items appended");
        let fm = b.nasrec_sparse_to_dense("fm", s3, 5, ln);
        let dense = b.add_padded(&[a, fm]);
        let logit = b.logit_layer("head", dense, merged, 5, 12);
        let g = b.finish(logit);
        assert_eq!(
            g.params
                .iter()
                .find(|p| p.key == "dsi.fc.w")
                .map(|p| p.shape),
            Some((5, 128))
        );
        assert!(fd_check(g, &schema(), 4, 18, 40) > 50);
    }
}
