//! Every genotype validation rule gives an error naming the block and the key.

use recpim_model::genotype::{Genotype, MacroChoice, MicroChoice};
use recpim_model::ModelError;

/// A valid NASRec-Full genotype: block i runs linear-2d (node 0) + linear-3d (node 5) and reads
/// output i (the previous block) and the raw input.
fn valid() -> Genotype {
    Genotype {
        micro: (0..7)
            .map(|_| MicroChoice {
                active_nodes: vec![0, 5],
                dense_in_dims: 64,
                sparse_in_dims: 16,
                dense_sparse_interact: 1,
                deep_fm: 0,
            })
            .collect(),
        macro_: (0..7)
            .map(|i| MacroChoice {
                dense_idx: if i == 0 { vec![0] } else { vec![i, 0] },
                sparse_idx: vec![i],
                dense_left_idx: vec![0],
                dense_right_idx: vec![i],
            })
            .collect(),
        num_blocks: 7,
        use_layernorm: 1,
        config: "xlarge".into(),
        test_loss: None,
    }
}

fn message_of(g: &Genotype) -> String {
    match g.validate("test.json") {
        Err(ModelError::InvalidGenotype { origin, message }) => {
            assert_eq!(origin, "test.json");
            message
        }
        other => panic!("expected an InvalidGenotype error, got {other:?}"),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} should mention {part:?}"
        );
    }
}

#[test]
fn the_base_genotype_is_valid_and_round_trips() {
    let g = valid();
    g.validate("test.json").unwrap();
    assert_eq!(
        Genotype::from_json_str(&g.to_json_string(), "mem").unwrap(),
        g
    );
}

#[test]
fn source_index_out_of_range() {
    let mut g = valid();
    g.macro_[2].dense_idx = vec![0, 6];
    assert_mentions(
        &message_of(&g),
        &[
            "block 2",
            "\"dense_idx\"",
            "index 6",
            "later block 5",
            "0..=2",
        ],
    );
}

#[test]
fn a_block_reading_itself() {
    let mut g = valid();
    g.macro_[3].sparse_idx = vec![4];
    assert_mentions(
        &message_of(&g),
        &["block 3", "\"sparse_idx\"", "its own output"],
    );
}

#[test]
fn left_and_right_need_one_earlier_source() {
    let mut g = valid();
    g.macro_[1].dense_left_idx = vec![];
    assert_mentions(
        &message_of(&g),
        &["block 1", "\"dense_left_idx\"", "exactly one"],
    );
    let mut g = valid();
    g.macro_[0].dense_right_idx = vec![1];
    assert_mentions(
        &message_of(&g),
        &["block 0", "\"dense_right_idx\"", "its own output"],
    );
}

#[test]
fn an_empty_input_set() {
    let mut g = valid();
    g.macro_[5].dense_idx.clear();
    assert_mentions(&message_of(&g), &["block 5", "\"dense_idx\"", "empty"]);
}

#[test]
fn duplicate_and_too_many_sources() {
    let mut g = valid();
    g.macro_[4].sparse_idx = vec![1, 1];
    assert_mentions(&message_of(&g), &["block 4", "\"sparse_idx\"", "twice"]);
    let mut g = valid();
    g.macro_[6].dense_idx = vec![0, 1, 2, 3, 4];
    assert_mentions(
        &message_of(&g),
        &["block 6", "\"dense_idx\"", "5 sources", "1 to 4"],
    );
}

#[test]
fn wrong_number_of_blocks() {
    let mut g = valid();
    g.micro.pop();
    assert_mentions(&message_of(&g), &["\"num_blocks\" = 7", "\"micro\" has 6"]);
    let mut g = valid();
    g.num_blocks = 8;
    assert_mentions(&message_of(&g), &["\"num_blocks\" = 8"]);
}

#[test]
fn node_index_not_in_the_space() {
    let mut g = valid();
    g.micro[2].active_nodes = vec![0, 6];
    assert_mentions(
        &message_of(&g),
        &["block 2", "\"active_nodes\"", "node 6", "xlarge", "0..=5"],
    );
    // NASRec-Small has only three nodes.
    let mut g = valid();
    g.config = "autoctr".into();
    for m in &mut g.micro {
        m.active_nodes = vec![0, 2];
    }
    g.validate("test.json").unwrap();
    g.micro[0].active_nodes = vec![0, 3];
    assert_mentions(&message_of(&g), &["block 0", "node 3", "autoctr", "0..=2"]);
}

#[test]
fn a_dense_node_in_the_sparse_slot() {
    let mut g = valid();
    g.micro[1].active_nodes = vec![5, 0];
    assert_mentions(
        &message_of(&g),
        &["block 1", "\"active_nodes\"", "dense node 0", "sparse slot"],
    );
    let mut g = valid();
    g.micro[1].active_nodes = vec![0, 1];
    assert_mentions(&message_of(&g), &["block 1", "no sparse node"]);
    let mut g = valid();
    g.micro[1].active_nodes = vec![4];
    assert_mentions(&message_of(&g), &["block 1", "no dense node"]);
    let mut g = valid();
    g.micro[1].active_nodes = vec![];
    assert_mentions(&message_of(&g), &["block 1", "empty"]);
}

#[test]
fn widths_not_in_the_space() {
    let mut g = valid();
    g.micro[6].dense_in_dims = 100;
    assert_mentions(
        &message_of(&g),
        &["block 6", "\"dense_in_dims\" = 100", "1024"],
    );
    let mut g = valid();
    g.micro[0].sparse_in_dims = 8;
    assert_mentions(
        &message_of(&g),
        &["block 0", "\"sparse_in_dims\" = 8", "[16, 32, 48, 64]"],
    );
}

#[test]
fn flags_must_be_zero_or_one() {
    let mut g = valid();
    g.micro[3].dense_sparse_interact = 2;
    assert_mentions(
        &message_of(&g),
        &["block 3", "\"dense_sparse_interact\" = 2", "0 or 1"],
    );
    let mut g = valid();
    g.micro[3].deep_fm = 7;
    assert_mentions(&message_of(&g), &["block 3", "\"deep_fm\" = 7"]);
    let mut g = valid();
    g.use_layernorm = 3;
    assert_mentions(&message_of(&g), &["\"use_layernorm\" = 3"]);
}

#[test]
fn unknown_config_name() {
    let mut g = valid();
    g.config = "xxl".into();
    assert_mentions(
        &message_of(&g),
        &["\"config\" = \"xxl\"", "autoctr, xlarge"],
    );
}

#[test]
fn malformed_json_and_unknown_keys_are_errors_not_panics() {
    for text in [
        "",
        "{",
        "[1, 2]",
        r#"{"micro": [], "macro": [], "num_blocks": 0, "use_layernorm": 1, "config": "xlarge"}"#,
        r#"{"micro": "x"}"#,
    ] {
        assert!(matches!(
            Genotype::from_json_str(text, "bad.json"),
            Err(ModelError::InvalidGenotype { .. })
        ));
    }
    let mut text = valid().to_json_string();
    text.insert_str(1, "\"extra\": 1, ");
    let err = Genotype::from_json_str(&text, "bad.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.json") && err.contains("extra"), "{err}");
}

#[test]
fn a_genotype_that_is_invalid_on_disk_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    let mut g = valid();
    g.macro_[3].dense_idx = vec![9];
    std::fs::write(&path, g.to_json_string()).unwrap();
    let err = Genotype::read_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("broken.json") && err.contains("block 3"),
        "{err}"
    );
}
