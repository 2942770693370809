//! Shard slicing and where `i/N` comes from (flags, SLURM arrays, Kubernetes Indexed Jobs).

use std::collections::HashMap;

use recpim_search::sweep::Shard;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn shards_partition_the_points() {
    for total in [0u64, 1, 7, 100, 101] {
        for count in [1u64, 2, 3, 8, 150] {
            let mut seen = vec![0u32; total as usize];
            let mut sum = 0;
            for index in 0..count {
                let shard = Shard::new(index, count, "test").unwrap();
                let len = shard.len(total);
                sum += len;
                for k in 0..len {
                    let p = shard.point(k);
                    assert!(p < total && shard.contains(p));
                    seen[p as usize] += 1;
                }
            }
            assert_eq!(sum, total);
            assert!(seen.iter().all(|&n| n == 1), "total {total} count {count}");
        }
    }
}

#[test]
fn flag_parses_and_rejects_bad_values() {
    assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
    assert_eq!(Shard::parse(" 0 / 1 ").unwrap(), Shard::WHOLE);
    for bad in ["5/5", "1/0", "a/3", "3", "-1/4", "1/2/3"] {
        let error = Shard::parse(bad).unwrap_err().to_string();
        assert!(error.contains("--shard"), "{bad}: {error}");
    }
    assert!(Shard::parse("5/5")
        .unwrap_err()
        .to_string()
        .contains("0..=4"));
}

#[test]
fn the_flag_wins_over_the_environment() {
    let slurm = env(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    let shard = Shard::resolve(Some("1/2"), None, slurm).unwrap();
    assert_eq!(shard, Shard { index: 1, count: 2 });
    let error = Shard::resolve(Some("1/2"), Some(3), env(&[])).unwrap_err();
    assert!(error.to_string().contains("--shards"), "{error}");
}

#[test]
fn slurm_arrays_with_offsets_and_steps() {
    let plain = env(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    assert_eq!(
        Shard::resolve(None, None, plain).unwrap(),
        Shard { index: 3, count: 4 }
    );
    // `--array=1-8` numbers tasks from 1.
    let one_based = env(&[
        ("SLURM_ARRAY_TASK_ID", "1"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "8"),
    ]);
    assert_eq!(
        Shard::resolve(None, None, one_based).unwrap(),
        Shard { index: 0, count: 8 }
    );
    // `--array=0-9:2`: tasks 0,2,4,6,8.
    let stepped = env(&[
        ("SLURM_ARRAY_TASK_ID", "6"),
        ("SLURM_ARRAY_TASK_STEP", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "5"),
    ]);
    assert_eq!(
        Shard::resolve(None, None, stepped).unwrap(),
        Shard { index: 3, count: 5 }
    );
    let no_count = env(&[("SLURM_ARRAY_TASK_ID", "2")]);
    let error = Shard::resolve(None, None, no_count)
        .unwrap_err()
        .to_string();
    assert!(error.contains("SLURM_ARRAY_TASK_COUNT"), "{error}");
    let too_big = env(&[
        ("SLURM_ARRAY_TASK_ID", "4"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    let error = Shard::resolve(None, None, too_big).unwrap_err().to_string();
    assert!(error.contains("0..=3"), "{error}");
    let garbage = env(&[
        ("SLURM_ARRAY_TASK_ID", "x"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    let error = Shard::resolve(None, None, garbage).unwrap_err().to_string();
    assert!(error.contains("SLURM_ARRAY_TASK_ID"), "{error}");
}

#[test]
fn kubernetes_indexed_jobs_need_the_count() {
    let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
    let error = Shard::resolve(None, None, &k8s).unwrap_err().to_string();
    assert!(
        error.contains("--shards") && error.contains("RECPIM_SHARDS"),
        "{error}"
    );
    assert_eq!(
        Shard::resolve(None, Some(5), &k8s).unwrap(),
        Shard { index: 2, count: 5 }
    );
    let with_var = env(&[("JOB_COMPLETION_INDEX", "2"), ("RECPIM_SHARDS", "3")]);
    assert_eq!(
        Shard::resolve(None, None, with_var).unwrap(),
        Shard { index: 2, count: 3 }
    );
}

#[test]
fn no_flag_and_no_environment_is_the_whole_sweep() {
    assert_eq!(Shard::resolve(None, None, env(&[])).unwrap(), Shard::WHOLE);
    assert_eq!(
        Shard::resolve(None, Some(1), env(&[])).unwrap(),
        Shard::WHOLE
    );
    assert!(Shard::resolve(None, Some(4), env(&[])).is_err());
    assert_eq!(
        Shard {
            index: 3,
            count: 10
        }
        .dir_name(),
        "shard-0003-of-0010"
    );
}
