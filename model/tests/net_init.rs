//! Initial activation scale of the NASRec networks (the no-LayerNorm divergence bug).

mod net_support;

use ndarray::Array2;
use net_support::random_inputs;
use recpim_model::genotype::Genotype;
use recpim_model::net::engine;
use recpim_model::net::graph::{Graph, Layout, Node, Op, Shape};
use recpim_model::net::params::EMBEDDING_INIT_MIN_ROWS;
use recpim_model::net::{compile_genotype, GenotypeBuild, Network};
use recpim_model::DataSchema;

const GENOTYPES: [&str; 6] = [
    "ea_criteo_kaggle_autoctr_best_1shot.json",
    "ea_criteo_kaggle_xlarge_best_1shot.json",
    "ea_avazu_kaggle_autoctr_best_1shot.json",
    "ea_avazu_kaggle_xlarge_best_1shot.json",
    "ea_kdd_kaggle_autoctr_best_1shot.json",
    "ea_kdd_kaggle_xlarge_best_1shot.json",
];

fn genotype_file(name: &str) -> Option<Genotype> {
    let path = format!(
        "{}/../../shared/data/nasrec_genotypes/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("shipped genotype parses")),
        Err(_) => {
            eprintln!("skipping: {path} not found");
            None
        }
    }
}

/// The per-field table sizes of Frappe (`frappe_valid.libsvm`, distinct values per field).
fn frappe_schema() -> DataSchema {
    DataSchema {
        n_dense: 0,
        table_rows: vec![884, 4082, 7, 7, 2, 3, 2, 9, 75, 221],
    }
}

/// Root-mean-square of every node's value (max over the batch), measured by appending
/// `Interaction(ConcatItems[x, x])` = |x|^2 per example to a copy of the graph.
fn node_rms(net: &Network<f64>, dense: &Array2<f64>, sparse: &Array2<u32>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for k in 0..net.graph.nodes.len() {
        let mut g: Graph = net.graph.clone();
        let shape = g.nodes[k].shape;
        let (flat, n) = match shape {
            Shape::Flat(f) => (k, f),
            Shape::Items(n, e) => {
                g.nodes.push(Node {
                    op: Op::Flatten(k),
                    shape: Shape::Flat(n * e),
                    layout: Layout::leading(n * e, n * e),
                });
                (g.nodes.len() - 1, n * e)
            }
        };
        if n == 0 {
            continue;
        }
        g.nodes.push(Node {
            op: Op::AsItem(flat),
            shape: Shape::Items(1, n),
            layout: Layout::leading(1, 1),
        });
        let a = g.nodes.len() - 1;
        g.nodes.push(Node {
            op: Op::ConcatItems(vec![a, a]),
            shape: Shape::Items(2, n),
            layout: Layout::leading(2, 2),
        });
        let c = g.nodes.len() - 1;
        g.nodes.push(Node {
            op: Op::Interaction(c),
            shape: Shape::Flat(1),
            layout: Layout::leading(1, 1),
        });
        g.logit = g.nodes.len() - 1;
        let sq = engine::forward(&g, net.params(), dense.view(), sparse.view()).logits(&g);
        let max_sq = sq.iter().fold(0.0f64, |m, &v| m.max(v));
        let name = format!("{:?}", net.graph.nodes[k].op);
        out.push((name.chars().take(60).collect(), (max_sq / n as f64).sqrt()));
    }
    out
}

/// Largest |logit| and largest node RMS of a genotype's network at init on `schema`.
fn init_scale(g: &Genotype, schema: &DataSchema, layernorm: bool) -> (f64, f64) {
    let graph = compile_genotype(
        g,
        schema.n_dense,
        schema.n_sparse(),
        GenotypeBuild {
            layernorm,
            operator_balancing: true,
        },
    )
    .expect("shipped genotype compiles");
    let net: Network<f64> = Network::init(graph, schema, 0).expect("schema is valid");
    let (dense, sparse, _) = random_inputs(schema, 32, 5);
    let max_logit = net
        .logits(dense.view(), sparse.view())
        .iter()
        .fold(0.0f64, |m, &v| m.max(v.abs()));
    // Per-node RMS only without LayerNorm: with it the FM output may be large before its
    // LayerNorm rescales it.
    let max_rms = if layernorm {
        0.0
    } else {
        node_rms(&net, &dense, &sparse)
            .iter()
            .fold(0.0f64, |m, (_, r)| m.max(*r))
    };
    (max_logit, max_rms)
}

/// The bug: without LayerNorm, xavier-normal embeddings of small tables (std up to 0.33) went
/// through FM (no 1/2, up to 72 items) and chained dot products; on Frappe's tables the Avazu
/// NASRec-Small genotype started at |logit| = 64 with an FM node at RMS 178 (measured before the
/// fix). With the floored embedding std every shipped genotype starts with |logit| < 10.
#[test]
fn no_layernorm_genotype_starts_with_bounded_logits() {
    let schema = frappe_schema();
    for name in GENOTYPES {
        let Some(g) = genotype_file(name) else { return };
        for layernorm in [false, true] {
            let (max_logit, max_rms) = init_scale(&g, &schema, layernorm);
            eprintln!("{name} layernorm={layernorm}: max |logit| {max_logit:.3}, max node RMS {max_rms:.3}");
            assert!(
                max_logit.is_finite() && max_logit < 10.0,
                "{name} ln={layernorm}: |logit| {max_logit}"
            );
            assert!(max_rms < 50.0, "{name}: node RMS {max_rms}");
        }
    }
}

/// Sample standard deviation of a table's entries.
fn table_std(t: &Array2<f32>) -> f64 {
    let n = t.len() as f64;
    let mean = t.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    (t.iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Tables of at least `EMBEDDING_INIT_MIN_ROWS` rows keep the reference's xavier-normal std
/// `sqrt(2 / (rows + 16))` (nasrec-spec §1 "Init"); smaller ones get the floored
/// `sqrt(2 / (1024 + 16))` instead of up to 0.33.
#[test]
fn embedding_std_is_xavier_for_big_tables_and_floored_for_small_ones() {
    assert_eq!(EMBEDDING_INIT_MIN_ROWS, 1024);
    let schema = DataSchema {
        n_dense: 1,
        table_rows: vec![2, 300, 1024, 20_000],
    };
    let g = genotype_file("ea_criteo_kaggle_autoctr_best_1shot.json");
    let Some(g) = g else { return };
    let graph = compile_genotype(
        &g,
        1,
        4,
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .expect("compiles");
    let net: Network<f32> = Network::init(graph, &schema, 3).expect("valid schema");
    let floored = (2.0 / 1040.0f64).sqrt();
    // Expected std and the relative tolerance of a sample of rows * 16 normals (about 4 sigma).
    let expected = [
        (floored, 0.5),
        (floored, 0.1),
        ((2.0 / 1040.0f64).sqrt(), 0.05),
        ((2.0 / 20_016.0f64).sqrt(), 0.02),
    ];
    for (f, (want, tol)) in expected.iter().enumerate() {
        let got = table_std(&net.tables[0][f]);
        assert!(
            (got / want - 1.0).abs() < *tol,
            "field {f}: std {got}, want {want}"
        );
    }
    // Same seed, same bytes.
    let again: Network<f32> = Network::init(net.graph.clone(), &schema, 3).expect("valid schema");
    assert_eq!(net.tables, again.tables);
}
