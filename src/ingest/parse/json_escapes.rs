//! Repairs the string escapes of a JSON text that `serde_json` rejects, so
//! that one bad field never loses a JSON Feed: a lone UTF-16 surrogate
//! (`"\ud83d"`, an emoji cut in half), an unknown escape (`\x`), a short
//! `\u` escape, and a raw control character inside a string. Each becomes
//! U+FFFD (a control character is escaped instead: it is kept as it was
//! meant). Outside strings nothing is touched, so a text that is broken
//! in its structure stays broken.

/// The text with its string escapes repaired, and how many were; `None`
/// when nothing needed it.
pub(crate) fn repair(text: &str) -> Option<(String, usize)> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut repaired = 0;
    let mut in_string = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !in_string {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(c);
            }
            '\\' => match chars.peek().map(|&(_, n)| n) {
                Some(n @ ('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't')) => {
                    chars.next();
                    out.push('\\');
                    out.push(n);
                }
                Some('u') => {
                    chars.next();
                    let start = i + 2;
                    match hex4(text, start) {
                        Some(unit @ 0xD800..=0xDBFF) => {
                            let low = text
                                .get(start + 4..start + 6)
                                .filter(|s| *s == "\\u")
                                .and_then(|_| hex4(text, start + 6))
                                .filter(|l| (0xDC00..=0xDFFF).contains(l));
                            match low {
                                Some(low) => {
                                    out.push_str(&format!("\\u{unit:04x}\\u{low:04x}"));
                                    skip(&mut chars, 10);
                                }
                                None => {
                                    out.push_str("\\ufffd");
                                    repaired += 1;
                                    skip(&mut chars, 4);
                                }
                            }
                        }
                        Some(0xDC00..=0xDFFF) => {
                            out.push_str("\\ufffd");
                            repaired += 1;
                            skip(&mut chars, 4);
                        }
                        Some(unit) => {
                            out.push_str(&format!("\\u{unit:04x}"));
                            skip(&mut chars, 4);
                        }
                        None => {
                            // A short escape: the digits that follow stay text.
                            out.push_str("\\ufffd");
                            repaired += 1;
                        }
                    }
                }
                Some(_) => {
                    // An unknown escape: it and its character.
                    chars.next();
                    out.push_str("\\ufffd");
                    repaired += 1;
                }
                None => {
                    out.push_str("\\ufffd");
                    repaired += 1;
                }
            },
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
                repaired += 1;
            }
            c => out.push(c),
        }
    }
    (repaired > 0).then_some((out, repaired))
}

/// The four hex digits at `at`, as a number.
fn hex4(text: &str, at: usize) -> Option<u32> {
    let digits = text.get(at..at + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

fn skip(chars: &mut impl Iterator<Item = (usize, char)>, n: usize) {
    for _ in 0..n {
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::repair;

    fn fixed(json: &str) -> (String, usize) {
        let (text, n) = repair(json).unwrap_or((json.to_string(), 0));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        (value["t"].as_str().unwrap().to_string(), n)
    }

    #[test]
    fn lone_surrogates_and_bad_escapes_become_replacement_characters() {
        assert_eq!(fixed(r#"{"t":"cut \ud83d"}"#), ("cut \u{fffd}".into(), 1));
        assert_eq!(fixed(r#"{"t":"\ude00 low"}"#), ("\u{fffd} low".into(), 1));
        assert_eq!(
            fixed(r#"{"t":"\ud83d\ud83d\ude00"}"#),
            ("\u{fffd}😀".into(), 1)
        );
        assert_eq!(fixed(r#"{"t":"ok \ud83d\ude00"}"#), ("ok 😀".into(), 0));
        assert_eq!(fixed(r#"{"t":"\x41"}"#), ("\u{fffd}41".into(), 1));
        assert_eq!(fixed(r#"{"t":"\u12"}"#), ("\u{fffd}12".into(), 1));
        assert_eq!(fixed("{\"t\":\"tab\there\"}"), ("tab\there".into(), 1));
        assert_eq!(
            fixed(r#"{"t":"é \"q\" \\ \/"}"#),
            ("é \"q\" \\ /".into(), 0)
        );
    }

    #[test]
    fn structure_is_left_alone() {
        assert_eq!(repair(r#"{"a": [1, 2], "b": "x"}"#), None);
        let (text, _) = repair("{\"a\": \"\\ud800\", \"b\": tru").unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }
}
