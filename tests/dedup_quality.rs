//! The dedup quality benchmark's targets (#24) as a test over the shared
//! corpus: 0 false merges on the different-publisher and split-feed sets,
//! recall >= 95% over every variant, >= 90% on the truncated and
//! boilerplate variants of medium and long posts. Needs SYNDIC_CORPUS;
//! passes without it (the run is `benches/dedup_quality.rs`).

#[path = "../benches/dedup_quality.rs"]
#[allow(dead_code)]
mod quality;

#[test]
fn shared_dedup_quality_meets_its_targets() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        eprintln!("SYNDIC_CORPUS not set: skipped");
        return;
    };
    let r = quality::evaluate(std::path::Path::new(&root));
    let table = quality::markdown(&r);
    assert!(r.feeds >= 10, "too few corpus feeds: {table}");
    assert_eq!(r.publisher_merges, 0, "{table}");
    assert_eq!(r.split_merges, 0, "{table}");
    assert_eq!(r.wrong_merges, 0, "{table}");
    let all: Vec<usize> = (0..quality::VARIANTS.len()).collect();
    let (found, total) = r.found(&all, &[0, 1, 2]);
    assert!(found * 100 >= total * 95, "{table}");
    let index = |name: &str| quality::VARIANTS.iter().position(|v| *v == name).unwrap();
    for variant in ["first two sentences", "boilerplate block"] {
        let (found, total) = r.found(&[index(variant)], &[1, 2]);
        assert!(total > 0 && found * 100 >= total * 90, "{variant}: {table}");
    }
}
