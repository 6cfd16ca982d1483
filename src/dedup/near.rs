//! Near-duplicate detection: MinHash over word 3-shingles of the normalized
//! title and text, with locality-sensitive hashing (LSH) bands so that the
//! store finds candidates by exact key lookups, never by a scan.
//!
//! - Normalization: HTML tags and entities dropped, lower-cased, split into
//!   words of letters and digits.
//! - A [`Signature`] holds [`HASHES`] minimum hashes; the share of equal
//!   positions in two signatures estimates the Jaccard similarity of their
//!   shingle sets.
//! - LSH: [`BANDS`] bands of [`ROWS`] rows; two items whose similarity is
//!   `s` share at least one band with probability `1 - (1 - s^4)^16`
//!   (0.89 at s = 0.6, 0.998 at s = 0.75, below 0.0002 at s = 0.1). Band
//!   matches are only candidates: the estimate is checked against the
//!   threshold.
//! - Texts under [`MIN_WORDS`] words get no signature: too short to tell a
//!   shared story from a shared headline (they are matched by their title
//!   and text, see `dedup`).
//! - Boilerplate is left out of what is compared ([`story_words`]): share
//!   bars, and sentences such as "The post X appeared first on Y",
//!   "Continue reading", newsletter and copyright lines (a block made mostly
//!   of them goes whole).
//! - A lookup returns at most [`MAX_CANDIDATES`]; the caller re-checks the
//!   best few exactly ([`Shingles`]: exact Jaccard and containment), so the
//!   estimate's error near the threshold decides nothing.
//!
//! Every hash here is defined in this file (FNV-1a and SplitMix64), so
//! signatures stored by one build are valid for the next.

/// Minimum hashes per signature.
pub const HASHES: usize = 64;
/// LSH bands per signature.
pub const BANDS: usize = 16;
/// Rows (minimum hashes) per band.
pub const ROWS: usize = HASHES / BANDS;
/// Fewest words a text needs to get a signature.
pub const MIN_WORDS: usize = 12;
/// Most candidates one lookup returns (those sharing most bands first),
/// however many near-identical items are stored: with [`BANDS`] buckets of
/// at most `store::BAND_CAP` keys, the lookup reads at most 16 buckets and
/// this many signatures.
pub const MAX_CANDIDATES: usize = 32;
/// Words per shingle.
const SHINGLE: usize = 3;

/// The MinHash signature of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature(pub [u32; HASHES]);

impl Signature {
    /// The signature of a title and an HTML text; `None` when the text is
    /// too short to compare.
    pub fn of(title: &str, html: &str) -> Option<Signature> {
        let mut words = words(title);
        words.extend(story_words(html));
        if words.len() < MIN_WORDS {
            return None;
        }
        let mut mins = [u32::MAX; HASHES];
        for h in shingle_hashes(&words) {
            for (i, slot) in mins.iter_mut().enumerate() {
                let v = (splitmix64(h ^ SEEDS_BASE.wrapping_mul(i as u64 + 1)) >> 32) as u32;
                if v < *slot {
                    *slot = v;
                }
            }
        }
        Some(Signature(mins))
    }

    /// The estimated Jaccard similarity with `other`, in percent.
    pub fn similarity_pct(&self, other: &Signature) -> u8 {
        let same = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        ((same * 100 + HASHES / 2) / HASHES) as u8
    }

    /// The LSH band keys: band number (1 byte) + hash of its rows (8 bytes).
    pub fn bands(&self) -> Vec<[u8; 9]> {
        self.0
            .chunks(ROWS)
            .enumerate()
            .map(|(b, rows)| {
                let mut h = FNV_OFFSET;
                for r in rows {
                    h = fnv1a(h, &r.to_be_bytes());
                }
                let mut key = [0u8; 9];
                key[0] = b as u8;
                key[1..].copy_from_slice(&h.to_be_bytes());
                key
            })
            .collect()
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    pub fn from_bytes(raw: &[u8]) -> Option<Signature> {
        if raw.len() != HASHES * 4 {
            return None;
        }
        let mut out = [0u32; HASHES];
        for (slot, chunk) in out.iter_mut().zip(raw.chunks_exact(4)) {
            *slot = u32::from_be_bytes(chunk.try_into().ok()?);
        }
        Some(Signature(out))
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const SEEDS_BASE: u64 = 0x9e37_79b9_7f4a_7c15;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hashes of the word shingles of `words` (one per shingle, repeats
/// included).
fn shingle_hashes(words: &[String]) -> impl Iterator<Item = u64> + '_ {
    words.windows(SHINGLE).map(|shingle| {
        let mut h = FNV_OFFSET;
        for w in shingle {
            h = fnv1a(h, w.as_bytes());
            h = fnv1a(h, &[0x1f]);
        }
        h
    })
}

/// The exact shingle set of a story's text (boilerplate left out), for the
/// exact re-check of the few candidates an estimate or a title found.
#[derive(Clone, Debug, Default)]
pub struct Shingles {
    set: std::collections::HashSet<u64>,
    /// The normalized words, for texts too short to have shingles.
    words: Vec<String>,
}

impl Shingles {
    /// The shingles of an HTML text, without its title.
    pub fn of_text(html: &str) -> Shingles {
        let words = story_words(html);
        Shingles {
            set: shingle_hashes(&words).collect(),
            words,
        }
    }

    /// The shingles of a title and an HTML text, as [`Signature::of`] reads
    /// them.
    pub fn of(title: &str, html: &str) -> Shingles {
        let mut words = words(title);
        words.extend(story_words(html));
        Shingles {
            set: shingle_hashes(&words).collect(),
            words,
        }
    }

    /// How many words the text has.
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The exact Jaccard similarity with `other`, in percent.
    pub fn jaccard_pct(&self, other: &Shingles) -> u8 {
        let common = self.common(other);
        let union = self.set.len() + other.set.len() - common;
        if union == 0 {
            return if self.words == other.words { 100 } else { 0 };
        }
        ((common * 100 + union / 2) / union) as u8
    }

    /// The share of the smaller set found in the larger one, in percent: a
    /// summary or a cut copy is contained in the whole. Texts too short for
    /// a shingle are contained when their words are equal.
    pub fn containment_pct(&self, other: &Shingles) -> u8 {
        let smaller = self.set.len().min(other.set.len());
        if smaller == 0 {
            return if !self.words.is_empty() && self.words == other.words {
                100
            } else {
                0
            };
        }
        ((self.common(other) * 100) / smaller) as u8
    }

    fn common(&self, other: &Shingles) -> usize {
        let (small, large) = if self.set.len() <= other.set.len() {
            (&self.set, &other.set)
        } else {
            (&other.set, &self.set)
        };
        small.iter().filter(|h| large.contains(h)).count()
    }
}

/// Separators of a publisher suffix in a title: `Story - Example News`,
/// `Story | Site`.
const SUFFIX_SEPARATORS: &[&str] = &[" - ", " | ", " – ", " — ", " · ", " :: "];

/// Most words a publisher suffix has.
const SUFFIX_WORDS: usize = 5;

/// A title as compared across publishers: normalized ([`words`]), without
/// a publisher suffix (the part after the last ` - `, ` | `, ` – `, ` — `,
/// ` · ` or ` :: ` when it has at most five words and the rest at least
/// two). Returns the title whole and, when it has a suffix, without it.
pub fn story_titles(title: &str) -> Vec<String> {
    let mut out = vec![words(title).join(" ")];
    let cut = SUFFIX_SEPARATORS
        .iter()
        .filter_map(|sep| title.rfind(sep))
        .max();
    if let Some(cut) = cut
        && let Some(head) = title.get(..cut)
    {
        let tail_words = title.get(cut..).map(|t| words(t).len()).unwrap_or(0);
        let head = words(head);
        if (1..=SUFFIX_WORDS).contains(&tail_words) && head.len() >= 2 {
            out.push(head.join(" "));
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// Whether two titles name the same story: equal once normalized, with or
/// without a publisher suffix on either.
pub fn same_story_title(a: &str, b: &str) -> bool {
    let a = story_titles(a);
    let b = story_titles(b);
    a.iter().any(|t| b.contains(t))
}

/// Phrases of a block that is boilerplate, not story: feed-wrapper lines,
/// share bars, newsletter and copyright blocks, "read more" links.
const BOILERPLATE: &[&str] = &[
    "appeared first on",
    "continue reading",
    "read more",
    "read the full",
    "read the rest",
    "keep reading",
    "share this",
    "share on",
    "share via",
    "click to share",
    "subscribe to",
    "sign up for",
    "sign up to",
    "newsletter",
    "unsubscribe",
    "all rights reserved",
    "copyright",
    "©",
    "follow us on",
    "related posts",
    "related articles",
];

/// Social networks a share bar names.
const SHARE_NAMES: &[&str] = &[
    "facebook",
    "twitter",
    "linkedin",
    "pinterest",
    "whatsapp",
    "reddit",
    "email",
    "telegram",
    "mastodon",
    "bluesky",
    "tumblr",
    "print",
];

/// Most words a boilerplate block has: longer blocks are story even when
/// they name a newsletter.
const BOILERPLATE_WORDS: usize = 80;

/// Whether a share bar: a short block naming two or more networks.
fn is_share_bar(words: &[String]) -> bool {
    let shares = SHARE_NAMES
        .iter()
        .filter(|n| words.iter().any(|w| w == *n))
        .count();
    shares >= 2 && words.len() <= 4 * shares + 4
}

/// The story words of one block of text (a paragraph, a list item, ...):
/// its sentences that are boilerplate left out, and nothing when they make
/// up most of it or it is a share bar. Blocks over [`BOILERPLATE_WORDS`]
/// words lose only their boilerplate sentences.
fn block_story_words(block: &str) -> Vec<String> {
    let all = words(block);
    if all.is_empty() || (all.len() <= BOILERPLATE_WORDS && is_share_bar(&all)) {
        return Vec::new();
    }
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    for sentence in sentences(block) {
        let lower = sentence.to_lowercase();
        let sentence_words = words(&lower);
        if BOILERPLATE.iter().any(|p| lower.contains(p)) {
            dropped += sentence_words.len();
        } else {
            kept.extend(sentence_words);
        }
    }
    if dropped * 2 >= all.len() && all.len() <= BOILERPLATE_WORDS {
        return Vec::new();
    }
    kept
}

/// The sentences of a text: split after `.`, `!`, `?` or `…` followed by
/// white space, and at line breaks.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_end = false;
    for (i, c) in text.char_indices() {
        if c == '\n' || (prev_end && c.is_whitespace()) {
            if let Some(s) = text.get(start..i) {
                out.push(s);
            }
            start = i;
        }
        prev_end = matches!(c, '.' | '!' | '?' | '…');
    }
    if let Some(s) = text.get(start..) {
        out.push(s);
    }
    out
}

/// The words of an HTML story text with its boilerplate left out.
pub fn story_words(html: &str) -> Vec<String> {
    blocks(html)
        .iter()
        .flat_map(|b| block_story_words(b))
        .collect()
}

/// Block-level elements: each starts or ends a block of text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "section",
    "footer",
    "header",
    "aside",
    "nav",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "table",
    "tr",
    "td",
    "figure",
    "figcaption",
    "pre",
    "article",
    "dl",
    "dt",
    "dd",
];

/// The text blocks of an HTML fragment: block-level tags separate them;
/// other tags and entities are word separators.
fn blocks(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut tag = String::new();
    let mut in_tag = false;
    let mut in_entity = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if BLOCK_TAGS.contains(&name.as_str()) {
                    if !text.trim().is_empty() {
                        out.push(std::mem::take(&mut text));
                    }
                    text.clear();
                } else {
                    text.push(' ');
                }
            }
            _ if in_tag => tag.push(c),
            '&' => in_entity = true,
            ';' if in_entity => {
                in_entity = false;
                text.push(' ');
            }
            _ if in_entity && (c.is_alphanumeric() || c == '#') => {}
            _ => {
                in_entity = false;
                text.push(c);
            }
        }
    }
    if !text.trim().is_empty() {
        out.push(text);
    }
    out
}

/// Lower-cased words of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = "The central bank raised its main interest rate by a quarter point on Tuesday, \
        the third increase this year, saying inflation remained stubbornly above its target. \
        Officials signalled that further rises were possible if price growth did not slow, \
        while markets had largely expected the move. The decision was backed by seven of the \
        nine members of the committee, two of whom voted to hold rates steady. Mortgage lenders \
        are expected to pass on the increase to borrowers within weeks.";

    #[test]
    fn same_story_with_other_intro_and_boilerplate_is_similar() {
        let a = Signature::of(
            "Central bank raises rates again",
            &format!("<p>LONDON (Wire) - {WIRE}</p><p>Subscribe to our newsletter for more.</p>"),
        )
        .unwrap();
        let b = Signature::of(
            "Central bank raises interest rates",
            &format!("<p>Posted by our economics desk.</p><p>{WIRE}</p><p>&copy; 2026 Daily Planet. All rights reserved.</p>"),
        )
        .unwrap();
        let s = a.similarity_pct(&b);
        assert!(s >= 60, "similarity {s}");
        assert!(a.bands().iter().zip(b.bands()).any(|(x, y)| *x == y));
    }

    #[test]
    fn different_stories_on_one_topic_are_not() {
        let a = Signature::of("Central bank raises rates", WIRE).unwrap();
        let b = Signature::of(
            "What the rate rise means for you",
            "Homeowners on variable mortgages will see their monthly payments climb after the \
             central bank decision, according to brokers, who urged borrowers to compare fixed \
             deals now. Savers may finally get better returns, although banks are often slow to \
             pass on higher rates to deposit accounts. First-time buyers face the toughest squeeze.",
        )
        .unwrap();
        let s = a.similarity_pct(&b);
        assert!(s < 20, "similarity {s}");
    }

    /// Signatures and band keys are stored: the same text gives the same
    /// values in every build (a change here would leave every stored
    /// signature unmatched, so it needs a store migration).
    #[test]
    fn signatures_and_bands_are_the_same_in_every_build() {
        let s = Signature::of("Central bank raises rates", WIRE).unwrap();
        assert_eq!(s.0[..4], [73_295_302, 124_435_402, 9_543_394, 14_759_348]);
        let sum: u64 = s.0.iter().map(|v| u64::from(*v)).sum();
        assert_eq!(sum, 3_458_368_462);
        let bands = s.bands();
        assert_eq!(bands[0], [0, 37, 212, 69, 48, 226, 192, 223, 125]);
        assert_eq!(bands[15][0], 15);
    }

    /// The hashes are the published FNV-1a (64-bit) and SplitMix64: their
    /// reference values.
    #[test]
    fn hashes_are_the_published_fnv1a_and_splitmix64() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(0x9e37_79b9_7f4a_7c15), 0x6e78_9e6a_a1b9_65f4);
    }

    /// The estimate rounds to the nearest percent: 1 equal position of 64
    /// is 1.56%, so 2; 32 is 50%; 63 is 98.4%, so 98.
    #[test]
    fn similarity_rounds_to_the_nearest_percent() {
        let base = Signature([0; HASHES]);
        let sharing = |n: usize| {
            let mut other = [1; HASHES];
            other[..n].fill(0);
            base.similarity_pct(&Signature(other))
        };
        assert_eq!(sharing(0), 0);
        assert_eq!(sharing(1), 2);
        assert_eq!(sharing(32), 50);
        assert_eq!(sharing(63), 98);
        assert_eq!(sharing(HASHES), 100);
    }

    /// A text of exactly [`MIN_WORDS`] words (title included) gets a
    /// signature; one word fewer does not.
    #[test]
    fn min_words_is_the_fewest_that_get_a_signature() {
        let words: Vec<String> = (0..MIN_WORDS).map(|i| format!("word{i}")).collect();
        let text = words[1..].join(" ");
        assert!(Signature::of(&words[0], &text).is_some());
        assert!(Signature::of("", &text).is_none());
    }

    /// Exact Jaccard rounds to the nearest percent, containment is the
    /// share of the smaller set (rounded down); both are symmetric, and
    /// texts too short for a shingle compare by their words.
    #[test]
    fn exact_jaccard_and_containment() {
        let of = |t: &str| Shingles::of_text(t);
        let five = of("w1 w2 w3 w4 w5");
        let four = of("w1 w2 w3 w4");
        let other = of("w1 w2 w3 w4 w9");
        // 2 shared of 3: 66.7%.
        assert_eq!(five.jaccard_pct(&four), 67);
        assert_eq!(four.jaccard_pct(&five), 67);
        assert_eq!(five.containment_pct(&four), 100);
        assert_eq!(four.containment_pct(&five), 100);
        // 2 shared, 4 in all; 2 of the smaller 3.
        assert_eq!(five.jaccard_pct(&other), 50);
        assert_eq!(five.containment_pct(&other), 66);
        assert_eq!(other.containment_pct(&five), 66);
        // 1 shared of 6: 16.7%.
        assert_eq!(
            of("w1 w2 w3 w4 w5 w6").jaccard_pct(&of("w1 w2 w3 z1 z2")),
            17
        );
        assert_eq!(four.word_count(), 4);
        // Too short for a shingle: equal words or nothing.
        assert_eq!(of("hi there").jaccard_pct(&of("Hi, there")), 100);
        assert_eq!(of("hi there").jaccard_pct(&of("hi you")), 0);
        assert_eq!(of("hi there").containment_pct(&of("<p>hi there</p>")), 100);
        assert_eq!(of("hi there").containment_pct(&of("hi you")), 0);
        assert_eq!(of("").containment_pct(&of("")), 0);
        assert_eq!(of("hi there").containment_pct(&five), 0);
        // Shingles::of reads the title first, as a signature does.
        assert_eq!(Shingles::of("w1 w2", "w3 w4 w5").jaccard_pct(&five), 100);
    }

    #[test]
    fn a_short_publisher_suffix_is_cut_from_a_title() {
        assert_eq!(
            story_titles("Rust 2 released - Example News"),
            ["rust 2 released example news", "rust 2 released"]
        );
        // Five words at most in the suffix, two at least before it.
        assert_eq!(story_titles("Big news | a b c d e").len(), 2);
        assert_eq!(story_titles("Big news | a b c d e f").len(), 1);
        assert_eq!(story_titles("Update - Example").len(), 1);
        assert_eq!(story_titles("Big news - !!").len(), 1);
        // The last separator, whichever it is.
        assert_eq!(
            story_titles("Alpha beta - gamma | Site")[1],
            "alpha beta gamma"
        );
        assert_eq!(
            story_titles("Alpha | beta gamma - Site")[1],
            "alpha beta gamma"
        );
        assert!(story_titles(" ").is_empty());
        assert!(same_story_title(
            "Rust 2 released - Example News",
            "Rust 2 released"
        ));
        assert!(same_story_title(
            "Rust 2 released",
            "rust 2 RELEASED | Other Site"
        ));
        assert!(!same_story_title("Rust 2 released", "Rust 3 released"));
    }

    #[test]
    fn share_bars_and_boilerplate_blocks_are_left_out() {
        let filler = |n: usize| {
            (0..n)
                .map(|i| format!("x{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(story_words("<p>Share on Facebook, Twitter</p>").is_empty());
        // One network named is a story's sentence.
        assert_eq!(story_words("<p>Seen on Facebook</p>").len(), 3);
        // Two networks: a bar up to 4 words per network plus 4.
        let bar = |n: usize| format!("<p>facebook twitter {}</p>", filler(n));
        assert!(story_words(&bar(10)).is_empty());
        assert_eq!(story_words(&bar(11)).len(), 13);
        // Boilerplate sentences are dropped; a block of which they are
        // half or more goes whole, unless it is long.
        assert!(story_words("<p>Subscribe to our newsletter. Big story here now.</p>").is_empty());
        assert_eq!(
            story_words("<p>Subscribe to our newsletter. Big story here right now.</p>"),
            ["big", "story", "here", "right", "now"]
        );
        let long = format!(
            "<p>Subscribe to our newsletter {}. {}.</p>",
            filler(BOILERPLATE_WORDS / 2),
            filler(BOILERPLATE_WORDS / 2)
        );
        assert_eq!(story_words(&long).len(), BOILERPLATE_WORDS / 2);
        // 80 words, 40 of them in the boilerplate sentence.
        let short = format!(
            "<p>Subscribe to our newsletter {}. {}.</p>",
            filler(BOILERPLATE_WORDS / 2 - 4),
            filler(BOILERPLATE_WORDS / 2)
        );
        assert!(story_words(&short).is_empty());
    }

    #[test]
    fn blocks_split_at_block_tags_and_sentences_at_their_ends() {
        assert_eq!(
            blocks("<p>one</p><P>two<BR>three</P>"),
            ["one", "two", "three"]
        );
        assert_eq!(blocks("<p>a<b>b</b>c</p>"), ["a b c"]);
        assert_eq!(blocks("<p> </p><div>x</div>"), ["x"]);
        // A `>` or `;` outside a tag or entity is text.
        assert_eq!(blocks("<p>x > y</p>"), ["x > y"]);
        assert_eq!(blocks("<p>a&amp;b</p>x;y"), ["a b", "x;y"]);
        assert_eq!(words("don&#8217;t"), ["don", "8217", "t"]);
        assert_eq!(story_words("don&#8217;t"), ["don", "t"]);
        assert_eq!(
            sentences("One. Two! Three? Four\u{2026} five\nsix"),
            [
                "One.",
                " Two!",
                " Three?",
                " Four\u{2026}",
                " five",
                "\nsix"
            ]
        );
        assert_eq!(sentences("3.5 percent"), ["3.5 percent"]);
    }

    #[test]
    fn short_texts_get_no_signature_and_bytes_round_trip() {
        assert!(Signature::of("Hello", "<p>one two three</p>").is_none());
        let s = Signature::of("A title", WIRE).unwrap();
        assert_eq!(Signature::from_bytes(&s.to_bytes()), Some(s.clone()));
        assert_eq!(Signature::from_bytes(b"short"), None);
        assert_eq!(s.bands().len(), BANDS);
        assert_eq!(story_words("a&amp;b <b>c</b>d"), ["a", "b", "c", "d"]);
    }
}
