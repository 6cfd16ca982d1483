//! A private source's `headers`, `basic_auth` and `user_agent`: read from
//! the environment and from files, checked, and never shown.

use super::*;

fn source_with(lines: &str) -> String {
    format!(
        "[[source]]\nid = \"p\"\nurl = \"https://example.org/feed\"\n{lines}\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"
    )
}

#[test]
fn headers_read_the_environment_and_no_dump_shows_them() {
    let path = std::env::var("PATH").expect("PATH is set where tests run");
    let config = parse(&source_with(
        "headers = { \"X-Api-Key\" = \"k-${PATH}-k\", Accept-Language = \"en\" }\nuser_agent = \" me/1.0 \"\n",
    ))
    .unwrap();
    let c = &config.sources[0].credentials;
    let headers: Vec<(&str, &str)> = c
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()))
        .collect();
    assert_eq!(
        headers,
        vec![
            ("Accept-Language", "en"),
            ("X-Api-Key", format!("k-{path}-k").as_str())
        ]
    );
    assert_eq!(c.user_agent.as_deref(), Some("me/1.0"));
    let dump = format!("{:?} {:#?}", config.sources[0], config);
    assert!(!dump.contains(&path), "a secret in a config dump");
    assert!(dump.contains("***"));
}

#[test]
fn a_password_file_is_read_and_its_errors_name_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("news.pass"), "hunter2\n").unwrap();
    let file = dir.path().join("feeds.toml");
    std::fs::write(
        &file,
        source_with("basic_auth = { user = \"me\", password_file = \"news.pass\" }\n"),
    )
    .unwrap();
    let config = Config::load(&file).unwrap();
    let (user, password) = config.sources[0].credentials.basic_auth.clone().unwrap();
    assert_eq!((user.as_str(), password.expose()), ("me", "hunter2"));
    assert!(!format!("{config:?}").contains("hunter2"));

    std::fs::write(
        &file,
        source_with("basic_auth = { user = \"me\", password_file = \"gone.pass\" }\n"),
    )
    .unwrap();
    let errs = Config::load(&file).unwrap_err();
    assert_eq!(errs.0.len(), 1, "{errs:?}");
    assert!(
        errs.0[0]
            .message
            .starts_with("source `p`: basic_auth: password_file `")
            && errs.0[0].message.contains("gone.pass"),
        "{}",
        errs.0[0].message
    );
}

/// An unset variable is no error for the commands that only read the
/// store; `serve`, `check`, `fetch` and a reload refuse it (tested with
/// the binary in `tests/private.rs`).
#[test]
fn an_unset_variable_is_listed_with_its_place() {
    let config = parse(&source_with(
        "headers = { \"X-Api-Key\" = \"${SYNDIC_TEST_SURELY_UNSET}\" }",
    ))
    .unwrap();
    assert_eq!(
        config.unset_variables(),
        vec![
            "feeds.toml:4:27: source `p`: headers.X-Api-Key: the environment variable \
             `SYNDIC_TEST_SURELY_UNSET` is not set\n  help: set it in the daemon's environment \
             (under systemd: `Environment=` or `EnvironmentFile=` in a drop-in), or write the \
             value in its place"
        ]
    );
    assert!(
        parse(&source_with("headers = { A = \"${PATH}\" }"))
            .unwrap()
            .unset_variables()
            .is_empty()
    );
}

#[test]
fn bad_credentials_are_reported_without_their_values() {
    let cases: &[(&str, &str)] = &[
        (
            "headers = { \"X-Api-Key\" = \"${NOT CLOSED\" }",
            "source `p`: headers.X-Api-Key: `${` without its `}`",
        ),
        (
            "headers = { \"Bad Name\" = \"x\" }",
            "source `p`: headers: `Bad Name` is not a header name",
        ),
        (
            "headers = { Host = \"x\" }",
            "source `p`: headers: syndic sets `Host` itself",
        ),
        (
            "basic_auth = { user = \"me\" }",
            "source `p`: basic_auth: give `password_file` or `password`, one of them",
        ),
        (
            "basic_auth = { user = \"a:b\", password = \"x\" }",
            "source `p`: basic_auth: user has a `:` or a control character",
        ),
        (
            "user_agent = \"\"",
            "source `p`: user_agent is empty or has a control character",
        ),
    ];
    for (lines, message) in cases {
        let err = one_error(&source_with(lines));
        assert_eq!(err.message, *message, "{lines}");
        assert_eq!(err.line, 4, "{lines}");
        assert!(err.help.is_some(), "{lines}");
    }
    let err = one_error(
        "[[source]]\nid = \"p\"\npath = \".\"\nuser_agent = \"x\"\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
    );
    assert_eq!(
        err.message,
        "source `p`: headers, basic_auth and user_agent apply to `url` sources, not to a `path`"
    );
}
