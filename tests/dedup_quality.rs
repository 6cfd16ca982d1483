//! The dedup quality benchmark's targets (#24) as a test over the shared
//! corpus: 0 false merges on the different-publisher and split-feed sets
//! and among the copies; recall >= 90% on the truncated and boilerplate
//! variants of medium and long posts, >= 95% over every variant of medium
//! and long posts, >= 95% over the nine ways the issue names in every
//! band. Needs SYNDIC_CORPUS; skipped (and counted) without it (the run is
//! `benches/dedup_quality.rs`).
//!
//! The benchmark adds a tenth way, the title rewritten, which the rules
//! leave apart for texts under 30 words on purpose (such texts need the
//! same title to be one story); with it the whole set measured 94%
//! (408/436, BENCHMARKS.md "Dedup quality (issue 24)"), held at >= 90% so
//! that a regression still fails.

#[path = "../benches/dedup_quality.rs"]
#[allow(dead_code)]
mod quality;
#[path = "common/skip.rs"]
mod skip;

#[test]
fn shared_dedup_quality_meets_its_targets() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        skip::skip(
            "shared_dedup_quality_meets_its_targets",
            "SYNDIC_CORPUS is not set",
        );
        return;
    };
    let r = quality::evaluate(std::path::Path::new(&root));
    let table = quality::markdown(&r);
    // The selection (101 publishers, 468 items when this was written).
    assert!(
        r.feeds >= 90 && r.items >= 400,
        "too few corpus feeds: {table}"
    );
    assert_eq!(r.publisher_merges, 0, "{table}");
    assert_eq!(r.split_merges, 0, "{table}");
    assert_eq!(r.wrong_merges, 0, "{table}");
    let all: Vec<usize> = (0..quality::VARIANTS.len()).collect();
    let (found, total) = r.found(&all, &[1, 2]);
    assert!(total > 0 && found * 100 >= total * 95, "{table}");
    let (found, total) = r.found(&all, &[0, 1, 2]);
    assert!(found * 100 >= total * 90, "{table}");
    let (found, total) = r.found(&quality::issue_variants(), &[0, 1, 2]);
    assert!(total > 0 && found * 100 >= total * 95, "{table}");
    let index = |name: &str| quality::VARIANTS.iter().position(|v| *v == name).unwrap();
    for variant in ["first two sentences", "boilerplate block"] {
        let (found, total) = r.found(&[index(variant)], &[1, 2]);
        assert!(total > 0 && found * 100 >= total * 90, "{variant}: {table}");
    }
}
