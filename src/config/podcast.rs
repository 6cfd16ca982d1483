//! A feed that is a podcast (`podcast = true` on a `[[feed]]`): its keys,
//! checked against what Apple Podcasts and the W3C feed validator require
//! of one (cover art, language, a category from Apple's list, the explicit
//! flag, an owner's e-mail address).

use std::ops::Range;

use super::raw::RawFeed;
use super::suggest::nearest;
use super::validate::Ctx;

/// A podcast feed's settings. The feed's `image` is its cover art and its
/// `language` is required; its `author` (else title) is the podcast's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Podcast {
    /// `category`: Apple's category, `"Technology"` or with a subcategory
    /// `"Society & Culture/Documentary"`.
    pub category: String,
    pub subcategory: Option<String>,
    /// `explicit`: whether episodes contain explicit content. Default: false.
    pub explicit: bool,
    /// `owner_email`: where Apple and other directories reach the owner.
    pub owner_email: String,
}

/// Apple Podcasts' categories and their subcategories (the list the W3C
/// feed validator checks `itunes:category` against).
pub const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "Arts",
        &[
            "Books",
            "Design",
            "Fashion & Beauty",
            "Food",
            "Performing Arts",
            "Visual Arts",
        ],
    ),
    (
        "Business",
        &[
            "Careers",
            "Entrepreneurship",
            "Investing",
            "Management",
            "Marketing",
            "Non-Profit",
        ],
    ),
    ("Comedy", &["Comedy Interviews", "Improv", "Stand-Up"]),
    (
        "Education",
        &["Courses", "How To", "Language Learning", "Self-Improvement"],
    ),
    ("Fiction", &["Comedy Fiction", "Drama", "Science Fiction"]),
    ("Government", &[]),
    ("History", &[]),
    (
        "Health & Fitness",
        &[
            "Alternative Health",
            "Fitness",
            "Medicine",
            "Mental Health",
            "Nutrition",
            "Sexuality",
        ],
    ),
    (
        "Kids & Family",
        &[
            "Education for Kids",
            "Parenting",
            "Pets & Animals",
            "Stories for Kids",
        ],
    ),
    (
        "Leisure",
        &[
            "Animation & Manga",
            "Automotive",
            "Aviation",
            "Crafts",
            "Games",
            "Hobbies",
            "Home & Garden",
            "Video Games",
        ],
    ),
    (
        "Music",
        &["Music Commentary", "Music History", "Music Interviews"],
    ),
    (
        "News",
        &[
            "Business News",
            "Daily News",
            "Entertainment News",
            "News Commentary",
            "Politics",
            "Sports News",
            "Tech News",
        ],
    ),
    (
        "Religion & Spirituality",
        &[
            "Buddhism",
            "Christianity",
            "Hinduism",
            "Islam",
            "Judaism",
            "Spirituality",
        ],
    ),
    (
        "Science",
        &[
            "Astronomy",
            "Chemistry",
            "Earth Sciences",
            "Life Sciences",
            "Mathematics",
            "Natural Sciences",
            "Nature",
            "Physics",
            "Social Sciences",
        ],
    ),
    (
        "Society & Culture",
        &[
            "Documentary",
            "Personal Journals",
            "Philosophy",
            "Places & Travel",
            "Relationships",
        ],
    ),
    (
        "Sports",
        &[
            "Baseball",
            "Basketball",
            "Cricket",
            "Fantasy Sports",
            "Football",
            "Golf",
            "Hockey",
            "Rugby",
            "Running",
            "Soccer",
            "Swimming",
            "Tennis",
            "Volleyball",
            "Wilderness",
            "Wrestling",
        ],
    ),
    ("Technology", &[]),
    ("True Crime", &[]),
    (
        "TV & Film",
        &[
            "After Shows",
            "Film History",
            "Film Interviews",
            "Film Reviews",
            "TV Reviews",
        ],
    ),
];

/// The keys that only a podcast feed takes.
const KEYS: [&str; 3] = ["category", "explicit", "owner_email"];

/// Checks the podcast keys of a `[[feed]]`: `None` when it is not a podcast
/// (or has errors, which are reported).
pub(super) fn build(
    ctx: &mut Ctx<'_>,
    raw: &RawFeed,
    span: Range<usize>,
    label: &str,
    ok: &mut bool,
) -> Option<Podcast> {
    if raw.podcast != Some(true) {
        let set = [
            raw.category.as_ref().map(|c| c.span()),
            raw.explicit.as_ref().map(|e| e.span()),
            raw.owner_email.as_ref().map(|e| e.span()),
        ];
        for (key, at) in KEYS.iter().zip(set) {
            if let Some(at) = at {
                ctx.error(
                    at,
                    format!("{label}: `{key}` is a podcast key, but the feed is not a podcast"),
                    Some("add podcast = true, or remove the key".to_string()),
                );
                *ok = false;
            }
        }
        return None;
    }
    let missing = |ctx: &mut Ctx<'_>, ok: &mut bool, key: &str, help: &str| {
        ctx.error(
            span.clone(),
            format!("{label}: a podcast needs `{key}`"),
            Some(help.to_string()),
        );
        *ok = false;
    };
    if raw.image.is_none() {
        missing(
            ctx,
            ok,
            "image",
            "image = \"https://...\": the cover art, a square JPEG or PNG of 1400 to 3000 pixels",
        );
    }
    if raw.language.is_none() {
        missing(
            ctx,
            ok,
            "language",
            "language = \"en\" (the episodes' language)",
        );
    }
    let owner_email = match &raw.owner_email {
        Some(email) => {
            let text = email.get_ref().trim();
            let plausible = text.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && host.contains('.') && !text.contains(char::is_whitespace)
            });
            if !plausible {
                ctx.error(
                    email.span(),
                    format!("{label}: owner_email `{text}` is not an e-mail address"),
                    Some("write an address such as \"podcast@example.org\"".to_string()),
                );
                *ok = false;
            }
            text.to_string()
        }
        None => {
            missing(
                ctx,
                ok,
                "owner_email",
                "owner_email = \"...\": where podcast directories reach you (published in the feed)",
            );
            String::new()
        }
    };
    let (category, subcategory) = match &raw.category {
        Some(written) => match check_category(written.get_ref()) {
            Ok(pair) => pair,
            Err(help) => {
                ctx.error(
                    written.span(),
                    format!(
                        "{label}: category `{}` is not one of Apple Podcasts' categories",
                        written.get_ref()
                    ),
                    Some(help),
                );
                *ok = false;
                (String::new(), None)
            }
        },
        None => {
            missing(
                ctx,
                ok,
                "category",
                "category = \"Technology\", or with a subcategory \"Society & Culture/Documentary\"",
            );
            (String::new(), None)
        }
    };
    Some(Podcast {
        category,
        subcategory,
        explicit: raw.explicit.as_ref().is_some_and(|e| *e.get_ref()),
        owner_email,
    })
}

/// `"Top"` or `"Top/Sub"` from Apple's list, else what to write instead.
fn check_category(written: &str) -> Result<(String, Option<String>), String> {
    let (top, sub) = match written.split_once('/') {
        Some((top, sub)) => (top.trim(), Some(sub.trim())),
        None => (written.trim(), None),
    };
    let Some((name, subs)) = CATEGORIES.iter().find(|(name, _)| *name == top) else {
        let tops = CATEGORIES.iter().map(|(name, _)| *name);
        return Err(match nearest(top, tops.clone()) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("the categories are {}", tops.collect::<Vec<_>>().join(", ")),
        });
    };
    match sub {
        None => Ok((name.to_string(), None)),
        Some(sub) => match subs.iter().find(|s| **s == sub) {
            Some(s) => Ok((name.to_string(), Some(s.to_string()))),
            None if subs.is_empty() => Err(format!("\"{name}\" has no subcategories")),
            None => Err(match nearest(sub, subs.iter().copied()) {
                Some(near) => format!("did you mean \"{name}/{near}\"?"),
                None => format!("the subcategories of \"{name}\" are {}", subs.join(", ")),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    const HEAD: &str = "[[source]]\nid = \"a\"\npath = \".\"\n\n[[feed]]\nname = \"show\"\ntitle = \"Show\"\ninclude = [\"*\"]\n";

    fn errors(feed_keys: &str) -> Vec<String> {
        let text = format!("{HEAD}{feed_keys}");
        match Config::parse(&text, Path::new("feeds.toml")) {
            Ok(config) => panic!("expected errors, got {:?}", config.feeds[0].podcast),
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_podcast_takes_its_keys_from_the_feed_table() {
        let text = format!(
            "{HEAD}podcast = true\nimage = \"https://example.org/cover.png\"\nlanguage = \"en\"\n\
             category = \"Society & Culture/Documentary\"\nexplicit = true\nowner_email = \"me@example.org\"\n"
        );
        let config =
            Config::parse(&text, Path::new("feeds.toml")).unwrap_or_else(|e| panic!("{e}"));
        let podcast = config.feeds[0].podcast.clone().unwrap();
        assert_eq!(podcast.category, "Society & Culture");
        assert_eq!(podcast.subcategory.as_deref(), Some("Documentary"));
        assert!(podcast.explicit);
        assert_eq!(podcast.owner_email, "me@example.org");
    }

    #[test]
    fn a_podcast_missing_what_directories_require_is_an_error_per_key() {
        let errs = errors("podcast = true\n");
        assert_eq!(errs.len(), 4, "{errs:?}");
        for key in ["image", "language", "owner_email", "category"] {
            assert!(
                errs.iter().any(
                    |e| e.starts_with("feeds.toml:5:1: feed `show`: a podcast needs")
                        && e.contains(&format!("needs `{key}`"))
                ),
                "{key}: {errs:?}"
            );
        }
    }

    #[test]
    fn categories_come_from_apples_list_with_a_near_miss() {
        let base = "podcast = true\nimage = \"https://example.org/c.png\"\nlanguage = \"en\"\n";
        let email = "owner_email = \"me@example.org\"\n";
        let errs = errors(&format!("{base}{email}category = \"Technolgy\"\n"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("category `Technolgy` is not one of Apple Podcasts' categories"),
            "{errs:?}"
        );
        assert!(
            errs[0].contains("help: did you mean \"Technology\"?"),
            "{errs:?}"
        );
        let errs = errors(&format!("{base}{email}category = \"Arts/Book\"\n"));
        assert!(errs[0].contains("did you mean \"Arts/Books\"?"), "{errs:?}");
        let errs = errors(&format!("{base}{email}category = \"Technology/Gadgets\"\n"));
        assert!(
            errs[0].contains("\"Technology\" has no subcategories"),
            "{errs:?}"
        );
        let errs = errors(&format!(
            "{base}category = \"News\"\nowner_email = \"nobody\"\n"
        ));
        assert!(errs.iter().any(|e| e.contains("owner_email")), "{errs:?}");
    }

    #[test]
    fn podcast_keys_on_a_feed_that_is_not_one_are_errors() {
        let errs = errors("category = \"News\"\nexplicit = false\n");
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].contains("`category` is a podcast key, but the feed is not a podcast"),
            "{errs:?}"
        );
        assert!(errs[1].contains("`explicit` is a podcast key"), "{errs:?}");
        assert!(
            errs[0].contains("help: add podcast = true, or remove the key"),
            "{errs:?}"
        );
    }
}
