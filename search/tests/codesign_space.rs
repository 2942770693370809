//! The co-design space file: the shipped default loads, bad files fail naming file and key, and
//! sampled / mutated hardware choices are always valid hwconfigs.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::SearchSpace;
use recpim_search::codesign::genome::{mutate_hardware, sample_hardware};
use recpim_search::codesign::space::CodesignSpace;

fn spaces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hwconfigs/spaces")
}

fn load_text(text: &str) -> Result<CodesignSpace, String> {
    CodesignSpace::from_toml_str(text, "test-space.toml", &spaces_dir()).map_err(|e| e.to_string())
}

const VALID: &str = r#"
name = "t"
base_hwconfig = "../default.toml"
[architecture]
space = "small"
bits = [8, 4, 8]
[fixed]
dac.per_crossbar = 64
[hardware]
crossbar.rows = [64, 128]
adc.bits = [5, 7]
"#;

#[test]
fn default_space_loads_with_every_documented_key() {
    let space = CodesignSpace::load(&spaces_dir().join("default.toml")).unwrap();
    assert_eq!(space.arch_space, SearchSpace::Small);
    assert_eq!(space.bits, vec![4, 8]);
    let keys: Vec<&str> = space.hardware.iter().map(|h| h.key.as_str()).collect();
    // Sorted key order: the genome indexes hardware genes in it.
    assert_eq!(
        keys,
        [
            "adc.bits",
            "adc.per_crossbar",
            "crossbar.active_rows",
            "crossbar.cols",
            "crossbar.rows",
            "dac.preset",
            "device.cell_bits"
        ]
    );
    // README: 3*3*3*3*2*5*3 hardware designs.
    assert_eq!(space.hardware_design_count(), 2430);
}

#[test]
fn bits_are_sorted_and_deduplicated_and_choices_resolve() {
    let space = load_text(VALID).unwrap();
    assert_eq!(space.bits, vec![4, 8]);
    // adc.bits sorts before crossbar.rows.
    let hw = space.hwconfig_of(&[1, 0]).unwrap();
    assert_eq!(hw.adc().bits, 7);
    assert_eq!(hw.crossbar().rows, 64);
    assert_eq!(hw.dac().per_crossbar, 64);
    assert_eq!(space.settings_text(&[1, 0]), "adc.bits=7;crossbar.rows=64");
    assert!(space.hwconfig_of(&[2, 0]).is_err());
    assert!(space.hwconfig_of(&[0]).is_err());
}

#[test]
fn unknown_keys_are_named() {
    let e = load_text(&VALID.replace("name = \"t\"", "name = \"t\"\nspeed = 1")).unwrap_err();
    assert!(e.contains("test-space.toml") && e.contains("speed"), "{e}");
    let e = load_text(&VALID.replace("adc.bits = [5, 7]", "adc.bitz = [5, 7]")).unwrap_err();
    assert!(
        e.contains("test-space.toml") && e.contains("hardware.adc.bitz"),
        "{e}"
    );
}

#[test]
fn bad_values_are_named_with_the_allowed_range() {
    let e = load_text(&VALID.replace("adc.bits = [5, 7]", "adc.bits = [5, 40]")).unwrap_err();
    assert!(e.contains("hardware.adc.bits") && e.contains("40"), "{e}");
    let e = load_text(&VALID.replace("adc.bits = [5, 7]", "adc.bits = []")).unwrap_err();
    assert!(
        e.contains("hardware.adc.bits") && e.contains("empty"),
        "{e}"
    );
    let e = load_text(&VALID.replace("adc.bits = [5, 7]", "adc.bits = 5")).unwrap_err();
    assert!(e.contains("hardware.adc.bits") && e.contains("list"), "{e}");
    let e = load_text(&VALID.replace("bits = [8, 4, 8]", "bits = [1, 8]")).unwrap_err();
    assert!(
        e.contains("architecture.bits") && e.contains("2..=16"),
        "{e}"
    );
    let e = load_text(&VALID.replace("space = \"small\"", "space = \"huge\"")).unwrap_err();
    assert!(
        e.contains("architecture.space") && e.contains("small"),
        "{e}"
    );
    let e = load_text(&VALID.replace("../default.toml", "../missing.toml")).unwrap_err();
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn parse_errors_give_the_line() {
    let e = load_text("name = \"t\"\nbase_hwconfig = \n").unwrap_err();
    assert!(e.starts_with("test-space.toml:2"), "{e}");
}

#[test]
fn sampled_and_mutated_hardware_is_always_valid() {
    // 64 active rows are invalid on... nothing here, so force a conflict: active_rows 128 on
    // 64-row arrays must never be proposed.
    let text = VALID.replace(
        "adc.bits = [5, 7]",
        "adc.bits = [5, 7]\ncrossbar.active_rows = [32, 128]",
    );
    let space = load_text(&text).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut choice = sample_hardware(&space, &mut rng).unwrap();
    for _ in 0..200 {
        let hw = space.hwconfig_of(&choice).unwrap();
        assert!(hw.crossbar().active_rows <= hw.crossbar().rows);
        choice = mutate_hardware(&space, &choice, &mut rng).unwrap();
    }
}
