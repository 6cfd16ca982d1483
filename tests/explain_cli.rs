//! `syndic explain` as a user runs it.

mod common;

use common::syndic;

#[test]
fn explain_answers_for_a_published_id_and_a_key_and_refuses_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(
        dir.path().join("articles/hello.md"),
        "+++\ntitle = \"Hello\"\ndate = 2026-03-01T00:00:00Z\n+++\nBody.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[[source]]\nid = \"local\"\npath = \"articles\"\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
    )
    .unwrap();
    assert!(syndic(dir.path(), &["fetch"]).status.success());
    let out = syndic(dir.path(), &["render", "all", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = json["items"][0]["id"].as_str().unwrap().to_string();

    let out = syndic(dir.path(), &["explain", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("public id:   {id}")), "{text}");
    assert!(text.contains("source:      local"), "{text}");
    assert!(text.contains("local id hello.md"), "{text}");
    assert!(
        text.contains("sources: local (no duplicates merged)"),
        "{text}"
    );
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("item key:    "))
        .unwrap()
        .to_string();
    let by_key = syndic(dir.path(), &["explain", &key]);
    assert_eq!(String::from_utf8(by_key.stdout).unwrap(), text);

    let out = syndic(dir.path(), &["explain", "urn:uuid:nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no item `urn:uuid:nope`"), "{err}");
}
