//! The `[daemon]` table: listen addresses, store, public URL.

use super::*;

#[test]
fn default_public_url_follows_listen() {
    let config = parse(&with_minimal("[daemon]\nlisten = \"[::1]:9999\"")).unwrap();
    assert_eq!(config.daemon.public_base(), "http://[::1]:9999");
    let config = parse(&with_minimal("[daemon]\nlisten = \"0.0.0.0:80\"")).unwrap();
    assert_eq!(config.daemon.public_base(), "http://0.0.0.0");
}

#[test]
fn relative_store_resolves_against_config_folder_and_absolute_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conf").join("feeds.toml");
    let text = with_minimal("[daemon]\nstore = \"../var/syndic\"");
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(
        config.daemon.store,
        dir.path()
            .join("conf")
            .join("..")
            .join("var")
            .join("syndic")
    );
    let text = with_minimal("[daemon]\nstore = \"/var/lib/syndic\"");
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(config.daemon.store, PathBuf::from("/var/lib/syndic"));
}

#[test]
fn store_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("afile"), "x").unwrap();
    let file = dir.path().join("feeds.toml");
    let text = with_minimal("[daemon]\nstore = \"afile\"");
    let errs = Config::parse(&text, &file).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (2, 9));
    assert!(errs[0].message.contains("store"), "{}", errs[0].message);
    assert!(
        errs[0]
            .message
            .contains(&dir.path().join("afile").display().to_string()),
        "{}",
        errs[0].message
    );
}

#[test]
fn daemon_values_are_checked() {
    let text = with_minimal(
        "[daemon]\nlisten = \"localhost:8080\"\npublic_url = \"ftp://example.org\"\ncontact = \"me\\nyou\"\nlog_level = \" \"\n",
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (2, 10));
    assert_eq!(
        errs[0].message,
        "daemon: listen `localhost:8080` is not a socket address"
    );
    assert!(help(&errs[0]).contains("127.0.0.1:8080"));
    assert_eq!((errs[1].line, errs[1].column), (3, 14));
    assert_eq!(
        errs[1].message,
        "daemon: public_url must be http or https, got `ftp://example.org`"
    );
    assert_eq!((errs[2].line, errs[2].column), (4, 11));
    assert!(
        errs[2].message.starts_with("daemon: contact"),
        "{}",
        errs[2].message
    );
    assert_eq!((errs[3].line, errs[3].column), (5, 13));
    assert_eq!(errs[3].message, "daemon: log_level is empty");
}

#[test]
fn public_url_rejects_query_and_fragment() {
    let err = one_error(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org/?a=1\"",
    ));
    assert_eq!((err.line, err.column), (2, 14));
    assert_eq!(
        err.message,
        "daemon: public_url must not have a query, got `https://example.org/?a=1`"
    );
    let err = one_error(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org/#top\"",
    ));
    assert_eq!(
        err.message,
        "daemon: public_url must not have a fragment, got `https://example.org/#top`"
    );
    let config = parse(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org\"",
    ))
    .unwrap();
    assert_eq!(config.daemon.public_base(), "https://example.org");
}

#[test]
fn admin_listen_defaults_beside_the_public_port_on_loopback() {
    let daemon = |extra: &str| {
        let text = format!(
            "[daemon]\nlisten = \"0.0.0.0:9000\"\n{extra}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n"
        );
        Config::parse(&text, Path::new("/tmp/feeds.toml")).map(|c| c.daemon)
    };
    let d = daemon("").unwrap();
    assert_eq!(d.admin_listen, AdminListen::Beside);
    assert!(!d.public_status);
    assert_eq!(
        d.admin_addr("0.0.0.0:9000".parse().unwrap()),
        Some("127.0.0.1:9001".parse().unwrap())
    );
    assert_eq!(
        d.admin_addr("127.0.0.1:0".parse().unwrap()),
        Some("127.0.0.1:0".parse().unwrap())
    );
    assert_eq!(
        d.admin_addr("[::]:65535".parse().unwrap()),
        Some("127.0.0.1:0".parse().unwrap())
    );
    let d = daemon("admin_listen = \"[::1]:9100\"\npublic_status = true").unwrap();
    assert_eq!(
        d.admin_listen,
        AdminListen::At("[::1]:9100".parse().unwrap())
    );
    assert!(d.public_status);
    assert_eq!(
        d.admin_addr("0.0.0.0:9000".parse().unwrap()),
        Some("[::1]:9100".parse().unwrap())
    );
    let d = daemon("admin_listen = \"off\"\nsecret_params = [\"Session\", \"x\", \"session\"]")
        .unwrap();
    assert_eq!(d.secret_params, vec!["session", "x"]);
    let errs = daemon("secret_params = [\"a=b\"]").unwrap_err().0;
    assert_eq!(
        errs[0].message,
        "daemon: secret_params: `a=b` is not a parameter name"
    );
    assert_eq!(d.admin_addr("0.0.0.0:9000".parse().unwrap()), None);
    let errs = daemon("admin_listen = \"localhost\"").unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].line, 3);
    assert_eq!(
        errs[0].message,
        "daemon: admin_listen `localhost` is not a socket address"
    );
    let errs = daemon("admin_listen = \"0.0.0.0:9000\"").unwrap_err().0;
    assert_eq!(
        errs[0].message,
        "daemon: admin_listen `0.0.0.0:9000` is the public listen address"
    );
}
