//! Graph -> simulator Workload mapping: hand-built tiny genotypes map to exactly the ops and
//! shapes counted by hand (HARDWARE_MAPPING.md's table), and the shipped NASRec genotypes map
//! and simulate on hwconfigs/default.toml.

use recpim_model::data::SyntheticShape;
use recpim_model::genotype::{Genotype, MacroChoice, MicroChoice};
use recpim_model::hardware::{map_genotype, map_graph, schema_for_shape, MapOptions, Placement};
use recpim_model::net::{compile_genotype, GenotypeBuild, ModelOptions};
use recpim_model::quant::{operator_names, BitAssignment, OperatorBits};
use recpim_model::DataSchema;
use recpim_sim::workload::{DigitalKind, ElementwiseKind, Op};
use std::path::PathBuf;

fn one_block(nodes: Vec<usize>, d: usize, s: usize, dsi: u8, fm: u8) -> Genotype {
    Genotype {
        micro: vec![MicroChoice {
            active_nodes: nodes,
            dense_in_dims: d,
            sparse_in_dims: s,
            dense_sparse_interact: dsi,
            deep_fm: fm,
        }],
        macro_: vec![MacroChoice {
            dense_idx: vec![0],
            sparse_idx: vec![0],
            dense_left_idx: vec![0],
            dense_right_idx: vec![0],
        }],
        num_blocks: 1,
        use_layernorm: 0,
        config: "autoctr".to_string(),
        test_loss: None,
    }
}

fn tiny_schema() -> DataSchema {
    DataSchema {
        n_dense: 3,
        table_rows: vec![10, 21],
    }
}

fn mvm(name: &str, rows: u64, cols: u64, w: u32, a: u32, count: u64) -> Op {
    Op::Mvm {
        name: name.to_string(),
        rows,
        cols,
        weight_bits: w,
        input_bits: a,
        count,
    }
}

fn ew(name: &str, kind: ElementwiseKind, elements: u64) -> Op {
    Op::Elementwise {
        name: name.to_string(),
        kind,
        elements,
    }
}

fn gather(batch: u64) -> Op {
    // 2 tables of 10 and 21 rows: ceil(31 / 2) = 16 rows each.
    Op::Gather {
        name: "embedding0".to_string(),
        tables: 2,
        rows: 16,
        dim: 16,
        lookups: batch,
        element_bits: 32,
    }
}

#[test]
fn linear_2d_and_linear_3d_block_maps_to_the_hand_counted_ops() {
    let g = one_block(vec![0, 2], 16, 16, 0, 0);
    let names = operator_names(&g).unwrap();
    assert_eq!(names, ["b0.linear-2d", "b0.linear-3d", "head"]);
    let bits = BitAssignment::new(
        names,
        vec![
            OperatorBits {
                weight_bits: 4,
                activation_bits: 8,
            },
            OperatorBits {
                weight_bits: 8,
                activation_bits: 4,
            },
            OperatorBits {
                weight_bits: 6,
                activation_bits: 7,
            },
        ],
        "test",
    )
    .unwrap();
    let batch = 5;
    let mapped = map_genotype(
        &g,
        &tiny_schema(),
        &ModelOptions::default(),
        Some(&bits),
        &MapOptions {
            batch,
            embedding_bits: 32,
        },
    )
    .unwrap();
    let expected = vec![
        gather(batch),
        // linear-2d: Linear(3 -> 16) + ReLU.
        mvm("b0.linear-2d.fc", 3, 16, 4, 8, batch),
        ew("b0.linear-2d.relu", ElementwiseKind::Relu, 16 * batch),
        // linear-3d: item-axis Linear(2 items -> 16 items), one MVM per embedding column.
        mvm("b0.linear-3d.fc", 2, 16, 8, 4, 16 * batch),
        ew("b0.linear-3d.relu", ElementwiseKind::Relu, 256 * batch),
        // head: Linear(16 + 16*16 -> 1).
        mvm("head", 272, 1, 6, 7, batch),
    ];
    assert_eq!(mapped.workload.ops, expected);
    let placements: Vec<Placement> = mapped.origins.iter().map(|o| o.placement).collect();
    assert_eq!(
        placements,
        [
            Placement::Memory,
            Placement::Crossbar,
            Placement::Digital,
            Placement::Crossbar,
            Placement::Digital,
            Placement::Crossbar
        ]
    );
    assert_eq!(mapped.origins[1].operator.as_deref(), Some("b0.linear-2d"));
    assert_eq!(mapped.origins[0].operator, None);
}

#[test]
fn dot_product_with_both_mergers_maps_projections_to_crossbars_and_interactions_to_digital() {
    let g = one_block(vec![1, 2], 32, 16, 1, 1);
    let names = operator_names(&g).unwrap();
    assert_eq!(
        names,
        ["b0.dot-product", "b0.linear-3d", "b0.fm", "b0.dsi", "head"]
    );
    let bits = BitAssignment::uniform(names, 8, 8).unwrap();
    let batch = 2;
    let mapped = map_genotype(
        &g,
        &tiny_schema(),
        &ModelOptions::default(),
        Some(&bits),
        &MapOptions {
            batch,
            embedding_bits: 32,
        },
    )
    .unwrap();
    let expected = vec![
        gather(batch),
        // Dot product: dense 3 -> 16; items 2 -> p = round(sqrt(2*32)) = 8 (balancing);
        // T = [1 + 8 items, 16]: 9*8/2 = 36 pairs of 16 MACs; 36 -> 32 projection.
        mvm("b0.dot-product.dense_proj", 3, 16, 8, 8, batch),
        mvm("b0.dot-product.item_proj", 2, 8, 8, 8, 16 * batch),
        Op::Digital {
            name: "b0.dot-product.interaction".to_string(),
            kind: DigitalKind::DotProduct,
            macs: 36 * 16 * batch,
        },
        mvm("b0.dot-product.out_proj", 36, 32, 8, 8, batch),
        mvm("b0.linear-3d.fc", 2, 16, 8, 8, 16 * batch),
        ew("b0.linear-3d.relu", ElementwiseKind::Relu, 256 * batch),
        // FM over the linear-3d output [16 items, 16]: 2 * 16 * 16 MACs, then 16 -> 32.
        Op::Digital {
            name: "b0.fm.fm".to_string(),
            kind: DigitalKind::Fm,
            macs: 2 * 16 * 16 * batch,
        },
        mvm("b0.fm.fc", 16, 32, 8, 8, batch),
        ew("glue.add", ElementwiseKind::Add, 32 * batch),
        // Dense-to-sparse merger: 32 -> 8 * 16.
        mvm("b0.dsi.fc", 32, 128, 8, 8, batch),
        // Head over 32 + (16 + 8) * 16 = 416 inputs.
        mvm("head", 416, 1, 8, 8, batch),
    ];
    assert_eq!(mapped.workload.ops, expected);
}

#[test]
fn transformer_maps_six_projections_and_the_attention_core() {
    let mut g = one_block(vec![0, 4], 16, 16, 0, 0);
    g.config = "xlarge".to_string();
    let mapped = map_genotype(
        &g,
        &tiny_schema(),
        &ModelOptions::default(),
        None,
        &MapOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = mapped.workload.ops.iter().map(|o| o.name()).collect();
    let n = 16_u64;
    let find = |name: &str| {
        mapped
            .workload
            .ops
            .iter()
            .find(|o| o.name() == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing from {names:?}"))
    };
    for w in ["wq", "wk", "wv", "wo", "ffn1_w", "ffn2_w"] {
        assert_eq!(
            find(&format!("b0.transformer.attn.{w}")),
            mvm(&format!("b0.transformer.attn.{w}"), 16, 16, 8, 8, n)
        );
    }
    assert_eq!(
        find("b0.transformer.attn.scores"),
        Op::Digital {
            name: "b0.transformer.attn.scores".to_string(),
            kind: DigitalKind::AttentionScores,
            macs: n * n * 16,
        }
    );
    assert_eq!(
        find("b0.transformer.attn.softmax"),
        Op::Digital {
            name: "b0.transformer.attn.softmax".to_string(),
            kind: DigitalKind::Softmax,
            macs: 8 * n * n,
        }
    );
    assert_eq!(
        find("b0.transformer.item_proj"),
        mvm("b0.transformer.item_proj", 2, 16, 8, 8, 16)
    );
}

#[test]
fn mapping_reads_shapes_from_the_graph_so_a_shrunk_graph_maps_smaller() {
    let g = one_block(vec![0, 2], 16, 16, 0, 0);
    let mut graph = compile_genotype(
        &g,
        3,
        2,
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .unwrap();
    let fc = graph
        .params
        .iter()
        .position(|p| p.key == "b0.linear-2d.fc.w")
        .unwrap();
    // As a pruning pass would: the FC keeps 2 of its 3 input rows.
    graph.params[fc].shape = (2, 16);
    let bits = BitAssignment::uniform(graph.operators.clone(), 8, 8).unwrap();
    let mapped = map_graph(&graph, &[10, 21], &bits, &MapOptions::default()).unwrap();
    assert_eq!(
        mapped.workload.ops[1],
        mvm("b0.linear-2d.fc", 2, 16, 8, 8, 1)
    );
}

#[test]
fn bad_inputs_are_errors_naming_the_problem() {
    let g = one_block(vec![0, 2], 16, 16, 0, 0);
    let bits = BitAssignment::uniform_8(&g).unwrap();
    let err = map_genotype(
        &g,
        &tiny_schema(),
        &ModelOptions::default(),
        Some(&bits),
        &MapOptions {
            batch: 0,
            embedding_bits: 32,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("batch"), "{err}");
    // Bits of another genotype do not cover this model's operators.
    let other = BitAssignment::uniform_8(&one_block(vec![1, 2], 16, 16, 0, 0)).unwrap();
    let err = map_genotype(
        &g,
        &tiny_schema(),
        &ModelOptions::default(),
        Some(&other),
        &MapOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("b0.linear-2d"), "{err}");
    let graph = compile_genotype(
        &g,
        3,
        2,
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .unwrap();
    let err = map_graph(&graph, &[10], &bits, &MapOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 embedding tables"), "{err}");
}

fn genotype_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/nasrec_genotypes"
    ));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

#[test]
fn shipped_criteo_genotypes_map_and_simulate_on_the_default_hwconfig() {
    let Some(dir) = genotype_dir() else { return };
    let hw = recpim_sim::HwConfig::load(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/default.toml"
    )))
    .unwrap();
    let schema = schema_for_shape(SyntheticShape::Criteo);
    for name in [
        "ea_criteo_kaggle_autoctr_best_1shot.json",
        "ea_criteo_kaggle_xlarge_best_1shot.json",
    ] {
        let g = Genotype::read_file(&dir.join(name)).unwrap();
        let bits = BitAssignment::uniform_8(&g).unwrap();
        let mapped = map_genotype(
            &g,
            &schema,
            &ModelOptions::default(),
            Some(&bits),
            &MapOptions::default(),
        )
        .unwrap();
        let ops = &mapped.workload.ops;
        assert_eq!(mapped.origins.len(), ops.len());
        assert!(matches!(ops[0], Op::Gather { tables: 26, .. }), "{name}");
        assert_eq!(ops.last().map(|o| o.name()), Some("head"), "{name}");
        let mvms = ops.iter().filter(|o| matches!(o, Op::Mvm { .. })).count();
        assert!(mvms >= 7, "{name}: {mvms} MVMs");
        // Every MVM's weight count equals the graph's Linear/LinearItems/attention weights.
        let graph = compile_genotype(
            &g,
            schema.n_dense,
            schema.n_sparse(),
            GenotypeBuild {
                layernorm: false,
                operator_balancing: true,
            },
        )
        .unwrap();
        let weights: u64 = graph
            .params
            .iter()
            .filter(|p| p.is_matrix)
            .map(|p| p.numel() as u64)
            .sum();
        let mapped_weights: u64 = ops
            .iter()
            .map(|o| match o {
                Op::Mvm { rows, cols, .. } => rows * cols,
                _ => 0,
            })
            .sum();
        assert_eq!(mapped_weights, weights, "{name}");
        let analytic = recpim_sim::simulate_analytic(&hw, &mapped.workload).unwrap();
        let cycle = recpim_sim::simulate_cycle(&hw, &mapped.workload, None).unwrap();
        assert!(
            analytic.latency_ns > 0.0 && analytic.energy_pj > 0.0,
            "{name}"
        );
        assert_eq!(analytic.latency_ns, cycle.latency_ns, "{name}");
        assert_eq!(analytic.layers.len(), ops.len());
        // Lower precision: fewer weight slices, so less crossbar energy and fewer crossbars.
        let low = BitAssignment::uniform(bits.operators().to_vec(), 4, 4).unwrap();
        let mapped_low = map_genotype(
            &g,
            &schema,
            &ModelOptions::default(),
            Some(&low),
            &MapOptions::default(),
        )
        .unwrap();
        let low_report = recpim_sim::simulate_analytic(&hw, &mapped_low.workload).unwrap();
        assert!(low_report.crossbars <= analytic.crossbars, "{name}");
        assert!(low_report.energy_pj < analytic.energy_pj, "{name}");
    }
}
