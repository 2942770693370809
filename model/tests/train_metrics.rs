//! Log loss and AUC against hand-computed values and a brute-force pair count.

use recpim_model::metrics::{bayes_log_loss, log_loss, log_loss_from_logits, roc_auc, LOGLOSS_EPS};

#[test]
fn log_loss_hand_computed() {
    // -(ln 0.9 + ln 0.8 + ln 0.6 + ln 0.6) / 4 = 1.3501553 / 4
    let l = log_loss(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.2, 0.6, 0.4]).unwrap();
    assert!((l - 0.337_538_8).abs() < 1e-6, "{l}");
}

#[test]
fn log_loss_is_clamped() {
    // A certain, wrong prediction costs -ln(1e-15) = 34.5388 nats, not infinity.
    let l = log_loss(&[1.0, 0.0], &[0.0, 1.0]).unwrap();
    assert!((l + LOGLOSS_EPS.ln()).abs() < 1e-3, "{l}");
    assert!((l - 34.538_776).abs() < 1e-3, "{l}");
    assert_eq!(log_loss(&[], &[]), None);
    assert_eq!(log_loss(&[1.0], &[0.5, 0.5]), None);
}

#[test]
fn log_loss_from_logits_matches_probabilities_and_survives_extremes() {
    // z = 0 -> p = 0.5 -> ln 2 for either label.
    let l = log_loss_from_logits(&[1.0, 0.0], &[0.0, 0.0]).unwrap();
    assert!((l - std::f64::consts::LN_2).abs() < 1e-12);
    let labels = [1.0, 0.0, 1.0, 0.0, 1.0];
    let logits = [2.0f32, -1.0, 0.3, 0.7, -3.0];
    let probs: Vec<f32> = logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect();
    let a = log_loss_from_logits(&labels, &logits).unwrap();
    let b = log_loss(&labels, &probs).unwrap();
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    // A wrong logit of 100 costs exactly 100 nats; no overflow, no clamp.
    let l = log_loss_from_logits(&[0.0], &[100.0]).unwrap();
    assert!((l - 100.0).abs() < 1e-9, "{l}");
}

#[test]
fn auc_hand_computed() {
    assert_eq!(
        roc_auc(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.2, 0.6, 0.4]),
        Some(1.0)
    );
    assert_eq!(
        roc_auc(&[1.0, 0.0, 1.0, 0.0], &[0.1, 0.2, 0.3, 0.4]),
        Some(0.25)
    );
    // Ties count one half. Pairs (pos, neg): 0.5 vs {0.5, 0.1, 0.8} = 0.5 + 1 + 0,
    // 0.8 vs {0.5, 0.1, 0.8} = 1 + 1 + 0.5; total 4 of 6.
    let auc = roc_auc(&[1.0, 0.0, 1.0, 0.0, 0.0], &[0.5, 0.5, 0.8, 0.1, 0.8]).unwrap();
    assert!((auc - 4.0 / 6.0).abs() < 1e-12, "{auc}");
    // All scores equal: 0.5.
    assert_eq!(roc_auc(&[1.0, 0.0, 0.0], &[0.3, 0.3, 0.3]), Some(0.5));
}

#[test]
fn auc_undefined_cases() {
    assert_eq!(roc_auc(&[1.0, 1.0], &[0.1, 0.2]), None);
    assert_eq!(roc_auc(&[], &[]), None);
    assert_eq!(roc_auc(&[1.0, 0.0], &[f32::NAN, 0.2]), None);
}

#[test]
fn auc_equals_brute_force_pair_count_with_many_ties() {
    // Deterministic pseudo-random labels and scores quantised to 10 levels (many ties).
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let n = 2000;
    let labels: Vec<f32> = (0..n).map(|_| (next() % 3 == 0) as u8 as f32).collect();
    let scores: Vec<f32> = (0..n).map(|_| (next() % 10) as f32 / 10.0).collect();
    let mut wins = 0.0f64;
    let mut pairs = 0.0f64;
    for i in 0..n {
        if labels[i] != 1.0 {
            continue;
        }
        for j in 0..n {
            if labels[j] != 0.0 {
                continue;
            }
            pairs += 1.0;
            if scores[i] > scores[j] {
                wins += 1.0;
            } else if scores[i] == scores[j] {
                wins += 0.5;
            }
        }
    }
    let auc = roc_auc(&labels, &scores).unwrap();
    assert!(
        (auc - wins / pairs).abs() < 1e-12,
        "{auc} vs {}",
        wins / pairs
    );
}

#[test]
fn bayes_log_loss_is_the_log_loss_of_the_true_probabilities() {
    let labels = [1.0, 0.0, 0.0, 1.0];
    let p = [0.7, 0.1, 0.4, 0.5];
    assert_eq!(bayes_log_loss(&labels, &p), log_loss(&labels, &p));
}
