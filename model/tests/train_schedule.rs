//! The warm-up + cosine schedule at known steps (nasrec-spec.md §3: warm-up over 10% of the
//! steps linearly from 1e-8, then cosine down to 1e-8).

use recpim_model::train::CosineWarmup;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn values_at_known_steps() {
    let s = CosineWarmup::new(0.1, 1e-8, 100, 0.1);
    assert_eq!(s.warmup_steps, 10);
    let span = 0.1 - 1e-8;
    assert!(close(s.lr_at(0), 1e-8));
    assert!(close(s.lr_at(5), 1e-8 + span * 0.5));
    assert!(close(s.lr_at(10), 0.1));
    // Cosine over steps 10..100: a quarter of the way (step 32.5) is not a step; halfway is 55.
    assert!(close(s.lr_at(55), 1e-8 + span * 0.5));
    // cos(pi/3) = 0.5 at 30 of 90 decay steps: 1e-8 + span * 0.75.
    assert!(close(s.lr_at(40), 1e-8 + span * 0.75));
    assert!(close(s.lr_at(100), 1e-8));
    assert!(close(s.lr_at(1000), 1e-8));
}

#[test]
fn monotone_up_then_down() {
    let s = CosineWarmup::new(0.16, 1e-8, 1000, 0.1);
    for step in 1..100 {
        assert!(s.lr_at(step) > s.lr_at(step - 1));
    }
    for step in 101..1000 {
        assert!(s.lr_at(step) < s.lr_at(step - 1));
    }
}

#[test]
fn edge_cases() {
    // No warm-up: starts at the peak.
    let s = CosineWarmup::new(0.1, 1e-8, 50, 0.0);
    assert!(close(s.lr_at(0), 0.1));
    // All warm-up: climbs and never decays.
    let s = CosineWarmup::new(0.1, 0.0, 10, 1.0);
    assert!(close(s.lr_at(5), 0.05));
    assert!(close(s.lr_at(10), 0.1));
    // A single step.
    let s = CosineWarmup::new(0.1, 1e-8, 1, 0.1);
    assert_eq!(s.warmup_steps, 0);
    assert!(close(s.lr_at(0), 0.1));
}
