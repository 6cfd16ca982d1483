use super::*;
use chrono::TimeZone;

fn md(path: &str, text: &str) -> Article {
    parse_article(path, text.as_bytes()).expect("parses")
}

fn md_err(path: &str, text: &str) -> String {
    parse_article(path, text.as_bytes())
        .expect_err("should fail")
        .to_string()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

// ----- Markdown -----

#[test]
fn toml_front_matter_every_key() {
    let a = md(
        "posts/hello.md",
        "+++\n\
             title = \"Hello & <World>\"\n\
             date = 2024-03-01T10:20:30+02:00\n\
             updated = \"2024-03-02\"\n\
             author = [\"Ann\", \"Bob\"]\n\
             tags = [\"rust\", \"feeds\"]\n\
             summary = \"A <short> intro & more\"\n\
             slug = \"Hello World!\"\n\
             draft = true\n\
             +++\n\
             # Body heading\n\nSome *text*.\n",
    );
    let e = &a.entry;
    assert_eq!(e.upstream_id.as_deref(), Some("posts/hello.md"));
    assert_eq!(e.title.as_deref(), Some("Hello & <World>"));
    assert_eq!(e.published, Some(utc(2024, 3, 1, 8, 20, 30)));
    assert_eq!(e.updated, Some(utc(2024, 3, 2, 0, 0, 0)));
    assert_eq!(e.authors, vec!["Ann", "Bob"]);
    assert_eq!(e.categories, vec!["rust", "feeds"]);
    assert_eq!(
        e.summary_html.as_deref(),
        Some("<p>A &lt;short&gt; intro &amp; more</p>")
    );
    assert_eq!(e.slug.as_deref(), Some("hello-world"));
    assert!(a.draft);
    assert_eq!(e.link, None);
    assert!(e.enclosures.is_empty());
    let html = e.content_html.as_deref().unwrap();
    // The front matter title wins, so the body heading stays.
    assert!(html.contains("<h1>Body heading</h1>"), "{html}");
    assert!(html.contains("<p>Some <em>text</em>.</p>"), "{html}");
    assert!(!html.contains("+++"));
}

#[test]
fn yaml_front_matter_every_key() {
    let a = md(
        "yaml.markdown",
        "---\n\
             title: 'Über: YAML'\n\
             date: 2023-12-31 23:59\n\
             updated: 2024-01-01T12:00:00Z\n\
             author: Jane Doe\n\
             tags:\n  - one\n  - two\n\
             summary: Short & sweet\n\
             slug: Custom Slug\n\
             draft: false\n\
             ---\n\
             Body text.\n",
    );
    let e = &a.entry;
    assert_eq!(e.title.as_deref(), Some("Über: YAML"));
    assert_eq!(e.published, Some(utc(2023, 12, 31, 23, 59, 0)));
    assert_eq!(e.updated, Some(utc(2024, 1, 1, 12, 0, 0)));
    assert_eq!(e.authors, vec!["Jane Doe"]);
    assert_eq!(e.categories, vec!["one", "two"]);
    assert_eq!(e.summary_html.as_deref(), Some("<p>Short &amp; sweet</p>"));
    assert_eq!(e.slug.as_deref(), Some("custom-slug"));
    assert!(!a.draft);
    assert_eq!(e.content_html.as_deref(), Some("<p>Body text.</p>\n"));
}

#[test]
fn no_front_matter_uses_stem_and_path() {
    let a = md("notes/My Note.md", "Just a paragraph.\n");
    let e = &a.entry;
    assert_eq!(e.title.as_deref(), Some("My Note"));
    assert_eq!(e.slug.as_deref(), Some("notes-my-note"));
    assert_eq!(e.published, None);
    assert_eq!(e.updated, None);
    assert!(e.authors.is_empty());
    assert!(e.categories.is_empty());
    assert_eq!(e.summary_html, None);
    assert!(!a.draft);
    assert_eq!(
        e.content_html.as_deref(),
        Some("<p>Just a paragraph.</p>\n")
    );
}

#[test]
fn title_from_first_h1_is_removed_from_body() {
    let a = md(
        "t.md",
        "Intro line.\n\n# The `Real` *Title*\n\n## Sub\n\nText.\n\n# Second\n",
    );
    assert_eq!(a.entry.title.as_deref(), Some("The Real Title"));
    let html = a.entry.content_html.unwrap();
    assert!(!html.contains("Real"), "{html}");
    assert!(html.contains("<p>Intro line.</p>"));
    assert!(html.contains("<h2>Sub</h2>"));
    assert!(html.contains("<h1>Second</h1>"));
    // Setext H1 counts too.
    let b = md("s.md", "Setext Title\n============\n\nBody.\n");
    assert_eq!(b.entry.title.as_deref(), Some("Setext Title"));
    assert_eq!(b.entry.content_html.as_deref(), Some("<p>Body.</p>\n"));
}

#[test]
fn draft_flag() {
    assert!(md("d.md", "+++\ndraft = true\n+++\nx\n").draft);
    assert!(md("d.md", "---\ndraft: true\n---\nx\n").draft);
    assert!(!md("d.md", "+++\ndraft = false\n+++\nx\n").draft);
    // YAML 1.2 reads `yes` as a string: still a draft, and it says why.
    let a = md("d.md", "---\ntitle: x\ndraft: yes\n---\nx\n");
    assert!(a.draft);
    assert_eq!(
        a.draft_reason.as_deref(),
        Some("d.md: line 3: not published: `draft` is \"yes\"")
    );
}

#[test]
fn draft_like_keys_keep_the_article_unpublished() {
    for (text, key) in [
        ("+++\ndrafts = true\n+++\nx\n", "drafts"),
        ("---\nDraft: true\n---\nx\n", "Draft"),
        ("---\nDRAFT: true\n---\nx\n", "DRAFT"),
        ("+++\ndarft = true\n+++\nx\n", "darft"),
        ("+++\ndraf = true\n+++\nx\n", "draf"),
        ("---\nis_draft: true\n---\nx\n", "is_draft"),
        ("---\ndraft: maybe\n---\nx\n", "draft"),
        ("---\npublished: false\n---\nx\n", "published"),
    ] {
        let a = md("d.md", text);
        assert!(a.draft, "{text}");
        let reason = a.draft_reason.unwrap();
        assert!(
            reason.starts_with("d.md: line 2: not published: `"),
            "{reason}"
        );
        assert!(reason.contains(&format!("`{key}`")), "{reason}");
    }
    // A clear false publishes; a look-alike says how it was read.
    let a = md("d.md", "+++\ndrafts = false\n+++\nx\n");
    assert!(!a.draft);
    assert_eq!(
        a.warnings,
        ["d.md: line 2: `drafts` read as `draft` (false)"]
    );
    assert!(!md("d.md", "---\npublished: true\n---\nx\n").draft);
    // Keys that merely start alike are not drafts.
    assert!(!md("d.md", "---\ndate: 2024-01-01\n---\nx\n").draft);
}

#[test]
fn hugo_jekyll_and_zola_keys_are_mapped_or_knowingly_ignored() {
    let a = md(
        "h.md",
        "---\ntitle: Hugo post\ndescription: The summary\ncategories: [a, b]\ntags: [b, c]\n\
             lastmod: 2024-02-02\npublishDate: 2024-01-01\nexpiryDate: 2030-01-01\n\
             aliases: [/old]\nlayout: post\npermalink: /x/\nweight: 3\ntype: post\n\
             authors: [Ann]\n---\nx\n",
    );
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let e = &a.entry;
    assert_eq!(e.summary_html.as_deref(), Some("<p>The summary</p>"));
    assert_eq!(e.categories, ["a", "b", "c"]);
    assert_eq!(e.updated, Some(utc(2024, 2, 2, 0, 0, 0)));
    assert_eq!(e.published, Some(utc(2024, 1, 1, 0, 0, 0)));
    assert_eq!(a.publish_at, Some(utc(2024, 1, 1, 0, 0, 0)));
    assert_eq!(a.expires, Some(utc(2030, 1, 1, 0, 0, 0)));
    assert_eq!(e.authors, ["Ann"]);
    // zola: TOML with tables.
    let z = md(
        "z.md",
        "+++\ntitle = \"Z\"\ndate = 2024-05-05\ntemplate = \"page.html\"\n\
             [taxonomies]\ntags = [\"x\"]\n[extra]\nfoo = 1\n+++\nx\n",
    );
    assert!(z.warnings.is_empty(), "{:?}", z.warnings);
    // expires beats publish date ordering: both kept.
    let b = md(
        "e.md",
        "+++\ndate = 2024-01-01\nexpires = 2024-06-01\n+++\nx\n",
    );
    assert_eq!(b.expires, Some(utc(2024, 6, 1, 0, 0, 0)));
}

#[test]
fn unknown_keys_are_reported_with_did_you_mean() {
    let a = md(
        "u.md",
        "+++\ntitle = \"T\"\ntilte = \"x\"\nsumary = \"s\"\nzzqx = 1\n+++\nx\n",
    );
    assert_eq!(
        a.warnings,
        [
            "u.md: line 3: unknown front matter key `tilte` ignored; did you mean `title`?",
            "u.md: line 4: unknown front matter key `sumary` ignored; did you mean `summary`?",
            "u.md: line 5: unknown front matter key `zzqx` ignored",
        ]
    );
}
#[test]
fn bad_date_names_value_and_line() {
    let err = md_err(
        "p/bad.md",
        "+++\ntitle = \"x\"\ndate = \"next tuesday\"\n+++\n",
    );
    assert!(err.contains("p/bad.md"), "{err}");
    assert!(err.contains("next tuesday"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("`date`"), "{err}");

    let err = md_err("y.md", "---\nupdated: 2024-13-45\n---\n");
    assert!(err.contains("2024-13-45"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("`updated`"), "{err}");

    // A TOML local time has no date.
    let err = md_err("t.md", "+++\ndate = 07:32:00\n+++\n");
    assert!(err.contains("07:32:00"), "{err}");
}

#[test]
fn date_formats() {
    let cases = [
        ("2024-05-06", utc(2024, 5, 6, 0, 0, 0)),
        ("2024-05-06 07:08", utc(2024, 5, 6, 7, 8, 0)),
        ("2024-05-06 07:08:09", utc(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06T07:08:09Z", utc(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06T07:08:09-01:30", utc(2024, 5, 6, 8, 38, 9)),
    ];
    for (text, want) in cases {
        let a = md("d.md", &format!("---\ndate: \"{text}\"\n---\n"));
        assert_eq!(a.entry.published, Some(want), "{text}");
    }
    // TOML native datetimes: offset, local datetime, local date.
    let toml_cases = [
        ("1979-05-27T07:32:00Z", utc(1979, 5, 27, 7, 32, 0)),
        ("1979-05-27T00:32:00-07:00", utc(1979, 5, 27, 7, 32, 0)),
        ("1979-05-27 07:32:00", utc(1979, 5, 27, 7, 32, 0)),
        ("1979-05-27", utc(1979, 5, 27, 0, 0, 0)),
    ];
    for (text, want) in toml_cases {
        let a = md("d.md", &format!("+++\ndate = {text}\n+++\n"));
        assert_eq!(a.entry.published, Some(want), "{text}");
    }
}

#[test]
fn unterminated_front_matter_is_an_error() {
    let err = md_err("u.md", "+++\ntitle = \"x\"\n\nBody never closes it.\n");
    assert!(err.contains("u.md"), "{err}");
    assert!(err.contains("line 1"), "{err}");
    assert!(err.contains("never closed"), "{err}");
    let err = md_err("u.md", "---\ntitle: x\n");
    assert!(err.contains("never closed"), "{err}");
}

#[test]
fn malformed_front_matter_gives_line() {
    let err = md_err("m.md", "+++\ntitle = \"ok\"\ntags = [\"a\",\n+++\nbody\n");
    assert!(err.contains("m.md"), "{err}");
    assert!(err.contains("invalid TOML"), "{err}");
    assert!(err.contains("line 3") || err.contains("line 4"), "{err}");

    let err = md_err("m.md", "+++\ntitle = \"ok\"\nthis is not toml\n+++\n");
    assert!(err.contains("line 3"), "{err}");

    let err = md_err("y.md", "---\ntitle: ok\nbad: [unclosed\n---\n");
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(err.starts_with("y.md: line 4: "), "{err}");
    assert_eq!(err.matches("line").count(), 1, "{err}");

    let err = md_err("y.md", "---\ntitle: ok\ntitle: dup\n---\n");
    assert!(err.contains("duplicate"), "{err}");
    assert!(err.contains("title"), "{err}");

    let err = md_err("y.md", "---\n- just\n- a list\n---\n");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("mapping"), "{err}");

    let err = md_err("w.md", "+++\ntitle = \"a\"\ntags = { a = 1 }\n+++\n");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("`tags`"), "{err}");
}

#[test]
fn unknown_keys_ignored_and_empty_front_matter() {
    let a = md(
        "k.md",
        "+++\nweight = 10\n[extra]\nfoo = \"bar\"\n+++\n# Heading\n",
    );
    assert_eq!(a.entry.title.as_deref(), Some("Heading"));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let b = md("k.md", "---\ncustom: {a: 1}\nlayout: post\n---\ntext\n");
    assert_eq!(b.entry.title.as_deref(), Some("k"));
    assert_eq!(
        b.warnings,
        ["k.md: line 2: unknown front matter key `custom` ignored"]
    );
    let c = md("k.md", "---\n---\ntext\n");
    assert_eq!(c.entry.content_html.as_deref(), Some("<p>text</p>\n"));
    let d = md("k.md", "+++\n+++\ntext\n");
    assert_eq!(d.entry.content_html.as_deref(), Some("<p>text</p>\n"));
}

#[test]
fn bom_and_crlf_before_front_matter() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(b"+++\r\ntitle = \"With BOM\"\r\n+++\r\nBody\r\n");
    let a = parse_article("b.md", &bytes).unwrap();
    assert_eq!(a.entry.title.as_deref(), Some("With BOM"));
    assert_eq!(a.entry.content_html.as_deref(), Some("<p>Body</p>\n"));

    let mut bytes = "\u{FEFF}".as_bytes().to_vec();
    bytes.extend_from_slice(b"---\ntitle: Yaml BOM\n---\n");
    let a = parse_article("b.md", &bytes).unwrap();
    assert_eq!(a.entry.title.as_deref(), Some("Yaml BOM"));
}

#[test]
fn markdown_extensions_and_raw_html() {
    let a = md(
        "x.md",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ ok[^1]\n\n[^1]: note\n\n<div class=\"raw\">kept</div>\n",
    );
    let html = a.entry.content_html.unwrap();
    assert!(html.contains("<table>"), "{html}");
    assert!(html.contains("<del>gone</del>"), "{html}");
    assert!(html.contains("footnote"), "{html}");
    assert!(html.contains("<div class=\"raw\">kept</div>"), "{html}");
}

#[test]
fn slug_rules() {
    assert_eq!(
        md("a/b/Some Post.md", "x").entry.slug.as_deref(),
        Some("a-b-some-post")
    );
    assert_eq!(
        md("2024/01/x.y.MD", "x").entry.slug.as_deref(),
        Some("2024-01-x-y")
    );
    assert_eq!(
        md("p.md", "+++\nslug = \"  Café Déjà Vu  \"\n+++\n")
            .entry
            .slug
            .as_deref(),
        Some("cafe-deja-vu")
    );
    assert_eq!(
        md("p.md", "---\nslug: \"!!!\"\n---\n")
            .entry
            .slug
            .as_deref(),
        Some("article")
    );
    assert_eq!(md("日本.md", "x").entry.slug.as_deref(), Some("article"));
}

#[test]
fn slugify_rules() {
    assert_eq!(slugify("Hello, World!"), "hello-world");
    assert_eq!(slugify("  --Already--Slugged--  "), "already-slugged");
    assert_eq!(slugify("Crème Brûlée"), "creme-brulee");
    assert_eq!(slugify("Straße"), "strasse");
    assert_eq!(slugify("ÉCOLE"), "ecole");
    assert_eq!(slugify("e\u{301}t\u{e9}"), "ete");
    assert_eq!(slugify("Tokyo 東京 trip"), "tokyo-trip");
    assert_eq!(slugify("a—b"), "a-b");
    assert_eq!(slugify("Israel’s Border"), "israel-s-border");
    assert_eq!(slugify("Rust 2024"), "rust-2024");
    assert_eq!(slugify(""), "article");
    assert_eq!(slugify("???"), "article");
    assert_eq!(slugify("日本語"), "article");
}

#[test]
fn invalid_utf8_and_bad_extension() {
    let err = parse_article("bad.md", b"ok\nline two \xff\xfe\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.md"), "{err}");
    assert!(err.contains("UTF-8"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(parse_article("bad.txt", b"\xc3(").is_err());
    let err = parse_article("pic.png", b"x").unwrap_err().to_string();
    assert!(err.contains("pic.png"), "{err}");
}

// ----- Plain text -----

fn txt(text: &str) -> Article {
    parse_article("dir/Some File.txt", text.as_bytes()).unwrap()
}

fn body(text: &str) -> String {
    txt(text).entry.content_html.unwrap()
}

#[test]
fn text_title_and_entry_fields() {
    let a = txt("\n  \n   The Title  \n\nFirst paragraph.\n");
    let e = &a.entry;
    assert_eq!(e.title.as_deref(), Some("The Title"));
    assert_eq!(e.upstream_id.as_deref(), Some("dir/Some File.txt"));
    assert_eq!(e.slug.as_deref(), Some("dir-some-file"));
    assert_eq!(e.published, None);
    assert_eq!(e.updated, None);
    assert_eq!(e.summary_html, None);
    assert!(!a.draft);
    assert_eq!(e.content_html.as_deref(), Some("<p>First paragraph.</p>\n"));
    // Empty file: the stem is the title.
    let empty = txt("");
    assert_eq!(empty.entry.title.as_deref(), Some("Some File"));
    assert_eq!(empty.entry.content_html.as_deref(), Some(""));
    // A front-matter-looking start is just text in a .txt file.
    assert_eq!(txt("+++\ntitle\n").entry.title.as_deref(), Some("+++"));
}

#[test]
fn text_headings_vs_paragraphs() {
    let html = body(
        "Title\n\nA Heading\n\nEnds with period.\n\nEnds with colon:\n\nEnds with comma,\n\n\
             Ends with semicolon;\n\nIs this a question?\n\nWow!\n\nAnd so…\n\n\
             “A quoted sentence.”\n\nPUTIN: “Quoted headline”\n",
    );
    assert!(html.contains("<h2>A Heading</h2>"), "{html}");
    assert!(html.contains("<p>Ends with period.</p>"), "{html}");
    assert!(html.contains("<p>Ends with colon:</p>"), "{html}");
    assert!(html.contains("<p>Ends with comma,</p>"), "{html}");
    assert!(html.contains("<p>Ends with semicolon;</p>"), "{html}");
    assert!(html.contains("<h2>Is this a question?</h2>"), "{html}");
    assert!(html.contains("<h2>Wow!</h2>"), "{html}");
    assert!(html.contains("<h2>And so…</h2>"), "{html}");
    assert!(html.contains("<p>“A quoted sentence.”</p>"), "{html}");
    assert!(html.contains("<h2>PUTIN: “Quoted headline”</h2>"), "{html}");

    let long = "word ".repeat(25); // 125 chars, no final period
    let html = body(&format!("T\n\n{long}\n\n{}\n", "x".repeat(100)));
    assert!(html.contains(&format!("<p>{}</p>", long.trim())), "{html}");
    assert!(
        html.contains(&format!("<h2>{}</h2>", "x".repeat(100))),
        "{html}"
    );

    // Two short lines are a paragraph with a line break, not a heading.
    let html = body("T\n\nLine one\nLine two\n");
    assert_eq!(html, "<p>Line one<br>\nLine two</p>\n");
}

#[test]
fn text_bullets() {
    let html = body(
        "T\n\n  • First item\n  •  Second item\n\n- dash\n* star\n\nIntro:\n\n-not a bullet\n",
    );
    assert!(
        html.contains("<ul>\n<li>First item</li>\n<li>Second item</li>\n</ul>"),
        "{html}"
    );
    assert!(
        html.contains("<ul>\n<li>dash</li>\n<li>star</li>\n</ul>"),
        "{html}"
    );
    assert!(html.contains("<h2>-not a bullet</h2>"), "{html}");
    assert_eq!(html.matches("<ul>").count(), 2);
    // A block mixing bullets and text is a paragraph.
    let html = body("T\n\n• item\nnot an item.\n");
    assert_eq!(html, "<p>• item<br>\nnot an item.</p>\n");
}

#[test]
fn text_nbsp_only_lines_are_blank() {
    let html =
        body("T\n\nFirst para.\n\u{a0}\nSecond para.\n\n\u{a0} \n\n\u{2003}\t\n\nThird para.\n");
    assert_eq!(
        html,
        "<p>First para.</p>\n<p>Second para.</p>\n<p>Third para.</p>\n"
    );
    assert!(!html.contains('\u{a0}'));
}

#[test]
fn text_escaping_and_exact_characters() {
    let html = body(
        "Title <b> & co\n\nIf a < b && c > d then \"x\" isn't y.\n\n\
             “Curly” ‘quotes’ stay… and\u{a0}NBSP inside stays.\n",
    );
    assert!(
        html.contains("<p>If a &lt; b &amp;&amp; c &gt; d then &quot;x&quot; isn&#39;t y.</p>"),
        "{html}"
    );
    assert!(
        html.contains("“Curly” ‘quotes’ stay… and\u{a0}NBSP inside stays."),
        "{html}"
    );
    // The title is plain text, not HTML.
    assert_eq!(
        txt("Title <b> & co\n").entry.title.as_deref(),
        Some("Title <b> & co")
    );
}

#[test]
fn text_bom_and_line_endings() {
    let a = parse_article("x.txt", "\u{FEFF}Title\r\n\r\nOne\rTwo.\r\n".as_bytes()).unwrap();
    assert_eq!(a.entry.title.as_deref(), Some("Title"));
    assert_eq!(
        a.entry.content_html.as_deref(),
        Some("<p>One<br>\nTwo.</p>\n")
    );
}

#[test]
fn shared_sample_article_file() {
    let Some(dir) = std::env::var_os("SYNDIC_SAMPLES") else {
        crate::test_skip::skip("shared_sample_article_file", "SYNDIC_SAMPLES is not set");
        return;
    };
    let path = Path::new(&dir).join("articles/000_fdf7ef05633fa2b1.txt");
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = parse_article("000_fdf7ef05633fa2b1.txt", &bytes).unwrap();
    assert_eq!(
        a.entry.title.as_deref(),
        Some("SYRIAN CEASEFIRE: Russia Now in Charge of Israel’s Border")
    );
    let html = a.entry.content_html.as_deref().unwrap();
    assert_eq!(html.matches("<ul>").count(), 1, "{html}");
    assert_eq!(html.matches("<li>").count(), 3, "{html}");

    let text = std::str::from_utf8(&bytes).unwrap().replace("\r\n", "\n");
    let mut checked = 0;
    for para in text.split("\n\n").skip(1) {
        for line in para.lines() {
            if is_blank(line) {
                continue;
            }
            let line = bullet_item(line).unwrap_or(line);
            let want = escape_html(line.trim_matches(is_blank_char));
            assert!(html.contains(&want), "missing {want:?}");
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} lines checked");
    assert!(html.contains("<h2>Is the Ceasefire Really Good for Israel?</h2>"));
    assert!(html.contains("<p>Israel Defense Analyst Tal Inbar wrote in May:</p>"));
    assert!(html.contains("<p>It is either now or never.</p>"));
    assert!(!html.contains("<p>\u{a0}</p>"));
}

// ----- scan_folder -----

fn touch(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

#[test]
fn scan_nested_sorted_and_filtered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    touch(root, "b.md", "bb");
    touch(root, "a.txt", "a");
    touch(root, "sub/deeper/c.MARKDOWN", "ccc");
    touch(root, "sub/A.Md", "dddd");
    touch(root, "sub/image.png", "x");
    touch(root, "noext", "x");
    touch(root, ".hidden.md", "x");
    touch(root, ".git/config.md", "x");
    touch(root, "sub/.drafts/x.md", "x");
    touch(root, "backup.md~", "x");
    touch(root, "sub/notes.md.swp", "x");

    let (files, skipped) = scan_folder(root).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(rels, ["a.txt", "b.md", "sub/A.Md", "sub/deeper/c.MARKDOWN"]);

    let c = &files[3];
    assert_eq!(c.size, 3);
    assert_eq!(
        c.abs_path,
        root.join("sub").join("deeper").join("c.MARKDOWN")
    );
    assert!(c.abs_path.is_absolute());
    let want_mtime = fs::metadata(&c.abs_path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert_eq!(c.mtime_ns, want_mtime);
    assert!(c.mtime_ns > 1_600_000_000_000_000_000);
    assert_eq!(files[0].size, 1);
    assert_eq!(files[1].size, 2);
}

#[test]
fn scan_unreadable_root_names_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dir");
    let err = scan_folder(&missing).unwrap_err().to_string();
    assert!(err.contains("no-such-dir"), "{err}");
    // A file is not a folder either.
    touch(tmp.path(), "file.md", "x");
    let err = scan_folder(&tmp.path().join("file.md"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("file.md"), "{err}");
}

#[cfg(unix)]
#[test]
fn scan_symlinks_and_unreadable_entries() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    touch(&outside, "x.md", "x");
    let root = tmp.path().join("root");
    touch(&root, "real.md", "r");
    symlink(&outside, root.join("linked-dir")).unwrap();
    symlink(outside.join("x.md"), root.join("linked-file.md")).unwrap();
    symlink(root.join("gone.md"), root.join("dangling.md")).unwrap();
    touch(&root, "locked/inner.md", "x");
    let locked = root.join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any folder whatever its mode: this thread gives up the
    // capabilities that let it (Linux keeps them per thread; libtest runs
    // each test on a thread of its own), so the unreadable branch runs as
    // root too, as on CI.
    #[cfg(target_os = "linux")]
    let saved = {
        use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
        let saved = capabilities(None).unwrap();
        let mut lowered = saved;
        lowered.effective -= CapabilitySet::DAC_OVERRIDE | CapabilitySet::DAC_READ_SEARCH;
        set_capabilities(None, lowered).unwrap();
        saved
    };
    assert!(
        fs::read_dir(&locked).is_err(),
        "a mode-000 folder is still readable"
    );

    let (files, skipped) = scan_folder(&root).unwrap();
    #[cfg(target_os = "linux")]
    rustix::thread::set_capabilities(None, saved).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();

    let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(rels, ["real.md"]);
    assert!(skipped.iter().any(|(p, _)| p == "locked"), "{skipped:?}");
    assert!(
        skipped.iter().any(|(p, _)| p == "dangling.md"),
        "{skipped:?}"
    );
    // The link out is skipped, and the warning names it and its target.
    let out = skipped
        .iter()
        .find(|(p, _)| p == "linked-file.md")
        .unwrap_or_else(|| panic!("{skipped:?}"));
    assert!(out.1.contains("outside the folder"), "{out:?}");
    assert!(out.1.contains("x.md"), "{out:?}");
    assert!(!rels.iter().any(|r| r.starts_with("linked-dir")));
}

#[cfg(unix)]
#[test]
fn confinement_is_by_real_path() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let real_root = tmp.path().join("real-root");
    touch(&real_root, "a.md", "a");
    touch(&real_root, "sub/b.md", "b");
    // A link inside pointing to another file inside is followed, and
    // listed under its real path.
    symlink(real_root.join("sub/b.md"), real_root.join("c.md")).unwrap();
    // A link out through `..` is not.
    touch(tmp.path(), "out.md", "secret");
    symlink("../out.md", real_root.join("sub/up.md")).unwrap();
    // The folder itself reached through a link is fine.
    let via = tmp.path().join("via");
    symlink(&real_root, &via).unwrap();
    let (files, skipped) = scan_folder(&via).unwrap();
    let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(rels, ["a.md", "c.md", "sub/b.md"]);
    let real = fs::canonicalize(real_root.join("sub/b.md")).unwrap();
    assert_eq!(files[1].abs_path, real);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "sub/up.md");
    for file in &files {
        assert!(read_article_file(&via, file, 1024).is_ok());
    }
    // A file swapped for a link out after the scan is refused on read.
    let a = real_root.join("a.md");
    fs::remove_file(&a).unwrap();
    symlink(tmp.path().join("out.md"), &a).unwrap();
    let err = read_article_file(&via, &files[0], 1024).unwrap_err();
    assert!(matches!(err, ArticleError::Outside { .. }), "{err}");
    assert!(
        err.to_string().starts_with("a.md: symlink leads outside"),
        "{err}"
    );
}

#[test]
fn read_is_bounded_by_max_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    touch(tmp.path(), "a.md", &"x".repeat(100));
    let (files, _) = scan_folder(tmp.path()).unwrap();
    assert_eq!(
        read_article_file(tmp.path(), &files[0], 100).unwrap().len(),
        100
    );
    let err = read_article_file(tmp.path(), &files[0], 99).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.md: 100 bytes, more than max_article_bytes (99): not read"
    );
}
