//! Genotype JSON: the six reference files (/work/shared/data/nasrec_genotypes/, copied from
//! facebookresearch/NasRec @ 79bf6f99) read, validate and write back to identical bytes.

use recpim_model::genotype::{Genotype, SearchSpace};
use std::path::PathBuf;

const FILES: [&str; 6] = [
    "ea_avazu_kaggle_autoctr_best_1shot.json",
    "ea_avazu_kaggle_xlarge_best_1shot.json",
    "ea_criteo_kaggle_autoctr_best_1shot.json",
    "ea_criteo_kaggle_xlarge_best_1shot.json",
    "ea_kdd_kaggle_autoctr_best_1shot.json",
    "ea_kdd_kaggle_xlarge_best_1shot.json",
];

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
fn all_six_reference_files_round_trip_to_identical_bytes() {
    let Some(dir) = genotype_dir() else { return };
    let scratch = tempfile::tempdir().unwrap();
    for name in FILES {
        let path = dir.join(name);
        let original = std::fs::read_to_string(&path).unwrap();
        let genotype = Genotype::read_file(&path).unwrap();
        // One file of the six ends with a newline, which json.dump never writes: the
        // comparison is on the JSON text itself.
        let text = original.strip_suffix('\n').unwrap_or(&original);
        assert_eq!(genotype.to_json_string(), text, "{name}");
        let copy = scratch.path().join(name);
        genotype.write_file(&copy).unwrap();
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            text,
            "{name} via write_file"
        );
        assert_eq!(Genotype::read_file(&copy).unwrap(), genotype);
    }
}

#[test]
fn criteo_full_genotype_has_the_documented_content() {
    let Some(dir) = genotype_dir() else { return };
    let g = Genotype::read_file(&dir.join("ea_criteo_kaggle_xlarge_best_1shot.json")).unwrap();
    assert_eq!(g.search_space(), Some(SearchSpace::Full));
    assert_eq!(g.num_blocks, 7);
    assert_eq!(g.use_layernorm, 1);
    // nasrec-spec.md §2: b0 [gate, transformer] 128 64 1 0; b6 dense_idx [0,3,2] left 6.
    assert_eq!(g.micro[0].active_nodes, vec![2, 4]);
    assert_eq!(g.micro[0].dense_in_dims, 128);
    assert_eq!(g.micro[0].sparse_in_dims, 64);
    assert_eq!(g.micro[0].dense_sparse_interact, 1);
    assert_eq!(g.macro_[6].dense_idx, vec![0, 3, 2]);
    assert_eq!(g.macro_[6].dense_left_idx, vec![6]);
    assert_eq!(g.test_loss, Some(0.4511473774909973));
}

#[test]
fn test_loss_keeps_every_digit() {
    let Some(dir) = genotype_dir() else { return };
    // The exact f64 nearest to the file's decimal text (Rust's parser is correctly rounded).
    let g = Genotype::read_file(&dir.join("ea_avazu_kaggle_autoctr_best_1shot.json")).unwrap();
    assert_eq!(
        g.test_loss,
        Some("0.39075323939323425".parse::<f64>().unwrap())
    );
}

#[test]
fn a_genotype_without_test_loss_writes_no_test_loss_key() {
    let Some(dir) = genotype_dir() else { return };
    let mut g = Genotype::read_file(&dir.join("ea_kdd_kaggle_xlarge_best_1shot.json")).unwrap();
    g.test_loss = None;
    let text = g.to_json_string();
    assert!(text.ends_with("\"config\": \"xlarge\"}"), "{text}");
    assert_eq!(Genotype::from_json_str(&text, "mem").unwrap(), g);
}

#[test]
fn hash_is_stable_and_ignores_order_and_non_architecture_keys() {
    let Some(dir) = genotype_dir() else { return };
    let g = Genotype::read_file(&dir.join("ea_criteo_kaggle_xlarge_best_1shot.json")).unwrap();
    // Regression value: FNV-1a 64 of the token stream as defined in genotype/hash.rs.
    // Pinned so that a change of the token layout (which would break dedup against stored
    // search records) is noticed.
    assert_eq!(g.arch_hash_hex(), "96e0ec60312a7279");
    let mut reordered = g.clone();
    reordered.macro_[4].dense_idx.reverse();
    reordered.macro_[2].sparse_idx.rotate_left(1);
    reordered.test_loss = Some(0.1);
    reordered.use_layernorm = 0;
    assert_eq!(reordered.arch_hash(), g.arch_hash());
    let mut wider = g.clone();
    wider.micro[3].dense_in_dims = 1024;
    assert_ne!(wider.arch_hash(), g.arch_hash());
    let mut flag = g.clone();
    flag.micro[3].deep_fm ^= 1;
    assert_ne!(flag.arch_hash(), g.arch_hash());
    let mut rewired = g.clone();
    rewired.macro_[6].dense_left_idx = vec![5];
    assert_ne!(rewired.arch_hash(), g.arch_hash());
    // All six architectures differ.
    let mut hashes: Vec<u64> = FILES
        .iter()
        .map(|f| Genotype::read_file(&dir.join(f)).unwrap().arch_hash())
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 6);
}
