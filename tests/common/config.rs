//! The one config writer of the tests: `feeds.toml` from a `[daemon]`
//! table, a `[defaults]` table, sources and feeds. [`ConfigFile::new`] is
//! the usual daemon on 127.0.0.1:0 with one `all` feed; each key can be
//! replaced or dropped, and [`ConfigFile::bare`] starts from nothing.

use std::path::{Path, PathBuf};

/// A `feeds.toml` being built.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    daemon: Vec<(String, String)>,
    defaults: Vec<(String, String)>,
    sources: String,
    /// The `all` feed, first of the feeds.
    all_feed: Option<String>,
    feeds: String,
}

/// The usual `all` feed: everything, 100 items.
pub const ALL_FEED: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ndescription = \"Everything\"\ninclude = [\"*\"]\nlimit = 100\n";

fn key_of(line: &str) -> String {
    line.split('=').next().unwrap_or(line).trim().to_string()
}

/// Sets the `key = value` lines of `text` in `table`, replacing a key's
/// earlier line.
fn set_lines(table: &mut Vec<(String, String)>, text: &str) {
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let key = key_of(line);
        match table.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = line.to_string(),
            None => table.push((key, line.to_string())),
        }
    }
}

impl Default for ConfigFile {
    fn default() -> ConfigFile {
        ConfigFile::new()
    }
}

impl ConfigFile {
    /// The daemon on 127.0.0.1:0 over `store`, public at
    /// `http://feeds.test`, refresh 1h, min_interval 1m, timeout 5s, and
    /// [`ALL_FEED`].
    pub fn new() -> ConfigFile {
        ConfigFile::bare()
            .daemon(
                "listen = \"127.0.0.1:0\"\nstore = \"store\"\npublic_url = \"http://feeds.test\"\n\
                 contact = \"mailto:test@example.org\"",
            )
            .defaults("refresh = \"1h\"\nmin_interval = \"1m\"\ntimeout = \"5s\"")
            .all_feed(ALL_FEED)
    }

    /// No key, no source, no feed.
    pub fn bare() -> ConfigFile {
        ConfigFile {
            daemon: Vec::new(),
            defaults: Vec::new(),
            sources: String::new(),
            all_feed: None,
            feeds: String::new(),
        }
    }

    /// Sets `[daemon]` keys: `key = value` lines, each replacing its key.
    pub fn daemon(mut self, lines: &str) -> ConfigFile {
        set_lines(&mut self.daemon, lines);
        self
    }

    /// Drops `[daemon]` keys.
    pub fn without_daemon(mut self, keys: &[&str]) -> ConfigFile {
        self.daemon.retain(|(k, _)| !keys.contains(&k.as_str()));
        self
    }

    /// Sets `[defaults]` keys: `key = value` lines, each replacing its key.
    pub fn defaults(mut self, lines: &str) -> ConfigFile {
        set_lines(&mut self.defaults, lines);
        self
    }

    /// Drops `[defaults]` keys.
    pub fn without_defaults(mut self, keys: &[&str]) -> ConfigFile {
        self.defaults.retain(|(k, _)| !keys.contains(&k.as_str()));
        self
    }

    /// Adds `[[source]]` tables (or any TOML after the tables above).
    pub fn sources(mut self, toml: &str) -> ConfigFile {
        self.sources.push_str(toml);
        self.sources.push('\n');
        self
    }

    /// Adds a remote source.
    pub fn remote(self, id: &str, url: &str) -> ConfigFile {
        self.sources(&format!("[[source]]\nid = \"{id}\"\nurl = \"{url}\"\n"))
    }

    /// Adds a folder source.
    pub fn local(self, id: &str, path: &str) -> ConfigFile {
        self.sources(&format!("[[source]]\nid = \"{id}\"\npath = \"{path}\"\n"))
    }

    /// Replaces the `all` feed with this `[[feed]]` table.
    pub fn all_feed(mut self, toml: &str) -> ConfigFile {
        self.all_feed = Some(toml.to_string());
        self
    }

    /// No `all` feed (the sources text brings its own feeds).
    pub fn no_all_feed(mut self) -> ConfigFile {
        self.all_feed = None;
        self
    }

    /// Adds `[[feed]]` tables after the `all` feed.
    pub fn feeds(mut self, toml: &str) -> ConfigFile {
        self.feeds.push_str(toml);
        self.feeds.push('\n');
        self
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        if !self.daemon.is_empty() {
            text.push_str("[daemon]\n");
            for (_, line) in &self.daemon {
                text.push_str(line);
                text.push('\n');
            }
            text.push('\n');
        }
        if !self.defaults.is_empty() {
            text.push_str("[defaults]\n");
            for (_, line) in &self.defaults {
                text.push_str(line);
                text.push('\n');
            }
            text.push('\n');
        }
        text.push_str(&self.sources);
        text.push('\n');
        if let Some(all) = &self.all_feed {
            text.push_str(all);
            text.push('\n');
        }
        text.push_str(&self.feeds);
        text
    }

    /// Writes `dir/feeds.toml`; its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        self.write_to(&dir.join("feeds.toml"))
    }

    /// Writes the config at `path` (its folder made if need be).
    pub fn write_to(&self, path: &Path) -> PathBuf {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, self.text()).unwrap();
        path.to_path_buf()
    }

    /// Writes `dir/feeds.toml` and loads it.
    pub fn load(&self, dir: &Path) -> syndic::config::Config {
        let path = self.write(dir);
        syndic::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parses the text as if it were at `/nonexistent/feeds.toml`.
    pub fn parse(&self) -> syndic::config::Config {
        syndic::config::Config::parse(&self.text(), Path::new("/nonexistent/feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Writes `feeds.toml` in `dir` with the given sources and one `all` feed
/// ([`ConfigFile::new`]).
pub fn write_config(dir: &Path, sources: &str) -> PathBuf {
    ConfigFile::new().sources(sources).write(dir)
}

/// Writes `text` at `dir/rel`, making its folders: an article, a config.
pub fn write_file(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}
