//! A small evaluator for feedparser's `Expect:` lines: a subset of Python
//! expressions (`and`/`or`/`not`, comparisons, `in`, subscripts, attribute
//! access, `len()`, literals) evaluated against a feedparser-shaped view of
//! our [`ParsedFeed`] (built in [`crate::view`]).
//!
//! Three-valued: a clause that touches a field our model does not have (or a
//! construct this evaluator does not know) is *not applicable* rather than
//! failed. The top-level `and` is split so that each conjunct counts as one
//! assertion.

use std::collections::BTreeMap;

/// A Python value, or "not applicable".
#[derive(Clone, Debug)]
pub enum V {
    /// The clause touches something our model cannot express.
    Na,
    /// A key our model knows but the feed does not have (a KeyError in Python).
    Missing,
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Plain text from our model (titles): compared with markup removed.
    Text(String),
    /// HTML from our model: compared after canonicalizing both sides.
    Html(String),
    /// An encoding name: compared by WHATWG label.
    Encoding(String),
    List(Vec<V>),
    Tuple(Vec<V>),
    /// A dict whose listed keys are known to our model; others are `Na`.
    Obj(BTreeMap<String, V>),
}

/// The result of one assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    NotApplicable,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    Op(&'static str),
}

fn tokenize(src: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    const OPS: [&str; 18] = [
        "==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "-", "+",
        "*",
    ];
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // String literal, with optional prefixes u, r, b.
        let mut j = i;
        let mut raw = false;
        while j < chars.len() && matches!(chars[j], 'u' | 'U' | 'r' | 'R' | 'b' | 'B') && j - i < 2
        {
            if matches!(chars[j], 'r' | 'R') {
                raw = true;
            }
            j += 1;
        }
        if j < chars.len() && (chars[j] == '\'' || chars[j] == '"') {
            let quote = chars[j];
            let triple = j + 2 < chars.len() && chars[j + 1] == quote && chars[j + 2] == quote;
            let mut k = if triple { j + 3 } else { j + 1 };
            let mut s = String::new();
            loop {
                if k >= chars.len() {
                    return None;
                }
                if triple {
                    if k + 2 < chars.len()
                        && chars[k] == quote
                        && chars[k + 1] == quote
                        && chars[k + 2] == quote
                    {
                        k += 3;
                        break;
                    }
                } else if chars[k] == quote {
                    k += 1;
                    break;
                }
                if chars[k] == '\\' && !raw {
                    let e = *chars.get(k + 1)?;
                    k += 2;
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        '0' => s.push('\0'),
                        '\\' => s.push('\\'),
                        '\'' => s.push('\''),
                        '"' => s.push('"'),
                        '\n' => {}
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = chars.get(k..k + n)?.iter().collect();
                            let code = u32::from_str_radix(&hex, 16).ok()?;
                            s.push(char::from_u32(code)?);
                            k += n;
                        }
                        other => {
                            s.push('\\');
                            s.push(other);
                        }
                    }
                } else {
                    s.push(chars[k]);
                    k += 1;
                }
            }
            // Adjacent literals concatenate.
            if let Some(Tok::Str(prev)) = out.last_mut() {
                prev.push_str(&s);
            } else {
                out.push(Tok::Str(s));
            }
            i = k;
            continue;
        }
        if c.is_ascii_digit() {
            let mut k = i;
            while k < chars.len() && (chars[k].is_ascii_digit() || chars[k] == '.') {
                k += 1;
            }
            let text: String = chars[i..k].iter().collect();
            if text.contains('.') {
                out.push(Tok::Float(text.parse().ok()?));
            } else {
                out.push(Tok::Int(text.parse().ok()?));
            }
            i = k;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut k = i;
            while k < chars.len() && (chars[k].is_alphanumeric() || chars[k] == '_') {
                k += 1;
            }
            out.push(Tok::Name(chars[i..k].iter().collect()));
            i = k;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op = OPS.iter().find(|op| rest.starts_with(**op))?;
        out.push(Tok::Op(op));
        i += op.chars().count();
    }
    Some(out)
}

#[derive(Clone, Debug)]
enum Expr {
    Name(String),
    Lit(V),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Index(Box<Expr>, Box<Expr>),
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(Box<Expr>, String, Box<Expr>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == name)
    }
    fn eat_op(&mut self, op: &str) -> Option<()> {
        self.is_op(op).then(|| self.pos += 1)
    }
    fn or(&mut self) -> Option<Expr> {
        let mut parts = vec![self.and()?];
        while self.is_name("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }
    fn and(&mut self) -> Option<Expr> {
        let mut parts = vec![self.not()?];
        while self.is_name("and") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Some(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }
    fn not(&mut self) -> Option<Expr> {
        if self.is_name("not") {
            self.pos += 1;
            return Some(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Option<Expr> {
        let left = self.unary()?;
        let op = match self.peek() {
            Some(Tok::Op(o)) if matches!(*o, "==" | "!=" | "<" | ">" | "<=" | ">=") => {
                o.to_string()
            }
            Some(Tok::Name(n)) if n == "in" => "in".into(),
            Some(Tok::Name(n)) if n == "is" => "is".into(),
            Some(Tok::Name(n)) if n == "not" => {
                if matches!(self.toks.get(self.pos + 1), Some(Tok::Name(m)) if m == "in") {
                    self.pos += 1;
                    "not in".into()
                } else {
                    return Some(left);
                }
            }
            _ => return Some(left),
        };
        self.pos += 1;
        let op = if op == "is" && self.is_name("not") {
            self.pos += 1;
            "is not".into()
        } else {
            op
        };
        let right = self.unary()?;
        Some(Expr::Cmp(Box::new(left), op, Box::new(right)))
    }
    fn unary(&mut self) -> Option<Expr> {
        if self.eat_op("-").is_some() {
            return Some(Expr::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }
    fn postfix(&mut self) -> Option<Expr> {
        let mut e = self.atom()?;
        loop {
            if self.eat_op("[").is_some() {
                let idx = self.or()?;
                self.eat_op("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else if self.eat_op(".").is_some() {
                let Some(Tok::Name(n)) = self.peek().cloned() else {
                    return None;
                };
                self.pos += 1;
                e = Expr::Attr(Box::new(e), n);
            } else if self.eat_op("(").is_some() {
                let args = self.seq(")")?;
                e = Expr::Call(Box::new(e), args);
            } else {
                return Some(e);
            }
        }
    }
    fn seq(&mut self, close: &str) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        loop {
            if self.eat_op(close).is_some() {
                return Some(items);
            }
            items.push(self.or()?);
            if self.eat_op(",").is_none() {
                self.eat_op(close)?;
                return Some(items);
            }
        }
    }
    fn atom(&mut self) -> Option<Expr> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        Some(match tok {
            Tok::Str(s) => Expr::Lit(V::Str(s)),
            Tok::Int(n) => Expr::Lit(V::Int(n)),
            Tok::Float(f) => Expr::Lit(V::Float(f)),
            Tok::Name(n) => match n.as_str() {
                "None" => Expr::Lit(V::None),
                "True" => Expr::Lit(V::Bool(true)),
                "False" => Expr::Lit(V::Bool(false)),
                _ => Expr::Name(n),
            },
            Tok::Op("(") => {
                let items = self.seq(")")?;
                if items.len() == 1 {
                    // Parenthesized expression (a 1-tuple needs a comma; rare).
                    items.into_iter().next()?
                } else {
                    Expr::Tuple(items)
                }
            }
            Tok::Op("[") => Expr::List(self.seq("]")?),
            Tok::Op("{") => {
                let mut pairs = Vec::new();
                loop {
                    if self.eat_op("}").is_some() {
                        break;
                    }
                    let k = self.or()?;
                    self.eat_op(":")?;
                    let v = self.or()?;
                    pairs.push((k, v));
                    if self.eat_op(",").is_none() {
                        self.eat_op("}")?;
                        break;
                    }
                }
                Expr::Dict(pairs)
            }
            _ => return None,
        })
    }
}

/// Parses an Expect expression and returns its top-level conjuncts.
pub fn clauses(src: &str) -> Option<Vec<Clause>> {
    let toks = tokenize(src.trim())?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return None;
    }
    let parts = match e {
        Expr::And(parts) => parts,
        other => vec![other],
    };
    Some(parts.into_iter().map(Clause).collect())
}

/// One top-level conjunct of an Expect line.
#[derive(Clone, Debug)]
pub struct Clause(Expr);

impl Clause {
    /// True when the clause is about `bozo` only.
    pub fn is_bozo(&self) -> bool {
        match &self.0 {
            Expr::Name(n) => n == "bozo",
            Expr::Not(e) => matches!(&**e, Expr::Name(n) if n == "bozo"),
            Expr::Cmp(l, _, _) => matches!(&**l, Expr::Name(n) if n == "bozo"),
            _ => false,
        }
    }

    /// Evaluates the clause in `env` (the names feedparser's result has).
    pub fn eval(&self, env: &BTreeMap<String, V>) -> Outcome {
        match truth(&eval(&self.0, env)) {
            Some(true) => Outcome::Pass,
            Some(false) => Outcome::Fail,
            None => Outcome::NotApplicable,
        }
    }
}

/// Python truthiness; `None` when not applicable.
fn truth(v: &V) -> Option<bool> {
    Some(match v {
        V::Na => return None,
        V::Missing | V::None => false,
        V::Bool(b) => *b,
        V::Int(n) => *n != 0,
        V::Float(f) => *f != 0.0,
        V::Str(s) | V::Text(s) | V::Html(s) | V::Encoding(s) => !s.is_empty(),
        V::List(l) | V::Tuple(l) => !l.is_empty(),
        V::Obj(m) => !m.is_empty(),
    })
}

fn eval(e: &Expr, env: &BTreeMap<String, V>) -> V {
    match e {
        Expr::Name(n) => env.get(n).cloned().unwrap_or(V::Na),
        Expr::Lit(v) => v.clone(),
        Expr::List(items) => V::List(items.iter().map(|i| eval(i, env)).collect()),
        Expr::Tuple(items) => V::Tuple(items.iter().map(|i| eval(i, env)).collect()),
        Expr::Dict(pairs) => {
            // Dict literals are compared with our objects rarely; not applicable.
            if pairs.is_empty() {
                V::Obj(BTreeMap::new())
            } else {
                V::Na
            }
        }
        Expr::Neg(inner) => match eval(inner, env) {
            V::Int(n) => V::Int(-n),
            V::Float(f) => V::Float(-f),
            _ => V::Na,
        },
        Expr::Index(base, idx) => index(eval(base, env), eval(idx, env)),
        Expr::Attr(base, name) => match eval(base, env) {
            v @ V::Obj(_) => index(v, V::Str(name.clone())),
            V::Missing => V::Missing,
            _ => V::Na,
        },
        Expr::Call(f, args) => match (&**f, args.as_slice()) {
            (Expr::Name(n), [arg]) if n == "len" => match eval(arg, env) {
                V::List(l) | V::Tuple(l) => V::Int(l.len() as i64),
                V::Str(s) | V::Text(s) | V::Html(s) => V::Int(s.chars().count() as i64),
                V::Missing => V::Missing,
                _ => V::Na,
            },
            (Expr::Attr(base, m), [key]) if m == "get" => match eval(base, env) {
                v @ V::Obj(_) => match index(v, eval(key, env)) {
                    V::Missing => V::None,
                    other => other,
                },
                _ => V::Na,
            },
            _ => V::Na,
        },
        Expr::Not(inner) => match truth(&eval(inner, env)) {
            Some(b) => V::Bool(!b),
            None => V::Na,
        },
        Expr::And(parts) => {
            let mut na = false;
            for p in parts {
                match truth(&eval(p, env)) {
                    Some(false) => return V::Bool(false),
                    None => na = true,
                    Some(true) => {}
                }
            }
            if na { V::Na } else { V::Bool(true) }
        }
        Expr::Or(parts) => {
            let mut na = false;
            for p in parts {
                match truth(&eval(p, env)) {
                    Some(true) => return V::Bool(true),
                    None => na = true,
                    Some(false) => {}
                }
            }
            if na { V::Na } else { V::Bool(false) }
        }
        Expr::Cmp(l, op, r) => {
            let (l, r) = (eval(l, env), eval(r, env));
            let b = match op.as_str() {
                "==" | "is" => equal(&l, &r),
                "!=" | "is not" => equal(&l, &r).map(|b| !b),
                "in" => contains(&r, &l),
                "not in" => contains(&r, &l).map(|b| !b),
                _ => order(&l, &r, op),
            };
            b.map(V::Bool).unwrap_or(V::Na)
        }
    }
}

fn index(base: V, idx: V) -> V {
    match (base, idx) {
        (V::Obj(map), V::Str(key)) => map.get(&key).cloned().unwrap_or(V::Na),
        (V::List(items), V::Int(i)) | (V::Tuple(items), V::Int(i)) => {
            let i = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(V::Missing)
        }
        (V::Missing, _) => V::Missing,
        _ => V::Na,
    }
}

fn contains(container: &V, item: &V) -> Option<bool> {
    match (container, item) {
        (V::Na, _) | (_, V::Na) => None,
        (V::Missing, _) => Some(false),
        (V::Obj(map), V::Str(key)) => match map.get(key) {
            None | Some(V::Na) => None,
            Some(V::Missing) => Some(false),
            Some(_) => Some(true),
        },
        (V::List(items) | V::Tuple(items), _) => {
            let mut na = false;
            for i in items {
                match equal(i, item) {
                    Some(true) => return Some(true),
                    None => na = true,
                    Some(false) => {}
                }
            }
            if na { None } else { Some(false) }
        }
        (V::Html(hay), V::Str(needle)) => {
            Some(hay.contains(needle.as_str()) || canon_html(hay).contains(&canon_html(needle)))
        }
        (V::Str(hay) | V::Text(hay), V::Str(needle)) => Some(hay.contains(needle.as_str())),
        _ => None,
    }
}

fn order(l: &V, r: &V, op: &str) -> Option<bool> {
    let (a, b) = match (l, r) {
        (V::Int(a), V::Int(b)) => (*a as f64, *b as f64),
        (V::Float(a), V::Float(b)) => (*a, *b),
        (V::Int(a), V::Float(b)) => (*a as f64, *b),
        (V::Float(a), V::Int(b)) => (*a, *b as f64),
        _ => return None,
    };
    Some(match op {
        "<" => a < b,
        ">" => a > b,
        "<=" => a <= b,
        _ => a >= b,
    })
}

/// Python `==` between a value of our view and an expected literal.
pub fn equal(l: &V, r: &V) -> Option<bool> {
    match (l, r) {
        (V::Na, _) | (_, V::Na) => None,
        (V::Missing, _) | (_, V::Missing) => Some(false),
        (V::Text(ours), V::Str(exp)) | (V::Str(exp), V::Text(ours)) => {
            Some(ours == exp || *ours == html_text(exp))
        }
        (V::Html(ours), V::Str(exp)) | (V::Str(exp), V::Html(ours)) => {
            Some(ours == exp || canon_html(ours) == canon_html(exp))
        }
        (V::Encoding(ours), V::Str(exp)) | (V::Str(exp), V::Encoding(ours)) => {
            let a = encoding_rs::Encoding::for_label(ours.trim().as_bytes());
            let b = encoding_rs::Encoding::for_label(exp.trim().as_bytes());
            Some(ours.eq_ignore_ascii_case(exp) || (a.is_some() && a == b))
        }
        (V::Str(a), V::Str(b)) => Some(a == b),
        (V::Int(a), V::Int(b)) => Some(a == b),
        (V::Bool(a), V::Bool(b)) => Some(a == b),
        (V::Bool(a), V::Int(b)) | (V::Int(b), V::Bool(a)) => Some(i64::from(*a) == *b),
        (V::None, V::None) => Some(true),
        (V::Float(a), V::Float(b)) => Some(a == b),
        (V::Tuple(a), V::Tuple(b)) | (V::List(a), V::List(b)) => {
            // Dates are 9-tuples; weekday/yearday/dst follow from the rest.
            let n = if a.len() == 9 && b.len() == 9 {
                6
            } else {
                if a.len() != b.len() {
                    return Some(false);
                }
                a.len()
            };
            let mut na = false;
            for (x, y) in a.iter().zip(b).take(n) {
                match equal(x, y) {
                    Some(false) => return Some(false),
                    None => na = true,
                    Some(true) => {}
                }
            }
            if na { None } else { Some(true) }
        }
        (V::Obj(a), V::Obj(b)) if b.is_empty() => Some(a.is_empty()),
        _ => Some(false),
    }
}

/// Markup removed, entities decoded, whitespace collapsed: how a plain-text
/// title of ours compares with feedparser's (which may keep markup).
pub fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = decode_entities(&out);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = if let Some(num) = name.strip_prefix('#') {
                let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    num.parse().ok()
                };
                code.and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    _ => None,
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A canonical form of an HTML fragment so that two serializers' outputs
/// compare equal when they mean the same markup: tag and attribute names
/// lowercased, `<br/>` = `<br>`, entities decoded and re-escaped the same
/// way, attribute quotes normalized, the `rel="noopener noreferrer"` our
/// sanitizer adds to links dropped, whitespace runs collapsed.
pub fn canon_html(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        let tag_src = &rest[lt..];
        match tag_src.find('>') {
            Some(gt) if tag_src[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') => {
                out.push_str(&canon_tag(&tag_src[1..gt]));
                rest = &tag_src[gt + 1..];
            }
            _ => {
                push_text(&mut out, "<");
                rest = &tag_src[1..];
            }
        }
    }
    push_text(&mut out, rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_text(out: &mut String, text: &str) {
    for c in decode_entities(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push(' '),
            c => out.push(c),
        }
    }
}

fn canon_tag(inner: &str) -> String {
    let inner = inner.trim().trim_end_matches('/').trim_end();
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let name_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &after[1..];
                let end = body.find(q).unwrap_or(body.len());
                value = body[..end].to_string();
                rest = body.get(end + 1..).unwrap_or("").trim_start();
            } else {
                let end = after
                    .find(|c: char| c.is_whitespace())
                    .unwrap_or(after.len());
                value = after[..end].to_string();
                rest = after[end..].trim_start();
            }
        } else if key.is_empty() {
            break;
        }
        if key == "rel" && value == "noopener noreferrer" {
            continue;
        }
        if key == "style" {
            value = canon_css(&decode_entities(&value));
            if value.is_empty() {
                // `style=""` means no style.
                continue;
            }
        }
        let value = decode_entities(&value)
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\u{a0}', " ");
        attrs.push(format!("{key}=\"{value}\""));
    }
    let mut tag = String::from("<");
    if closing {
        tag.push('/');
    }
    tag.push_str(&name);
    for a in attrs {
        tag.push(' ');
        tag.push_str(&a);
    }
    tag.push('>');
    tag
}

/// CSS declarations in one form: `prop:value` joined by `;`, property
/// names lowercased, whitespace collapsed (and removed around `,`, `(`,
/// `)`), no trailing `;`.
fn canon_css(style: &str) -> String {
    style
        .split(';')
        .filter_map(|decl| {
            let (prop, value) = decl.split_once(':')?;
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            let value = value
                .replace(", ", ",")
                .replace("( ", "(")
                .replace(" )", ")");
            Some(format!("{}:{value}", prop.trim().to_ascii_lowercase()))
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, V> {
        let mut feed = BTreeMap::new();
        feed.insert("title".to_string(), V::Text("Example feed".into()));
        feed.insert("link".to_string(), V::Missing);
        let mut env = BTreeMap::new();
        env.insert("feed".to_string(), V::Obj(feed));
        env.insert("bozo".to_string(), V::Bool(false));
        env
    }

    fn run(src: &str) -> Vec<Outcome> {
        clauses(src)
            .expect("parses")
            .iter()
            .map(|c| c.eval(&env()))
            .collect()
    }

    #[test]
    fn evaluates_conjuncts_three_valued() {
        use Outcome::*;
        assert_eq!(
            run("not bozo and feed['title'] == u'Example feed'"),
            [Pass, Pass]
        );
        assert_eq!(run("feed['title'] == 'Other'"), [Fail]);
        assert_eq!(run("feed['link'] == 'http://x/'"), [Fail]);
        assert_eq!(run("feed['rights'] == 'x'"), [NotApplicable]);
        assert_eq!(run("feed.title == \"Example feed\""), [Pass]);
        assert_eq!(run("'title' in feed"), [Pass]);
    }

    #[test]
    fn canonical_html_ignores_syntax_only() {
        assert_eq!(canon_html("<br/>a&#160;b"), canon_html("<BR>a\u{a0}b"));
        assert_eq!(
            canon_html("<a href='x' rel=\"noopener noreferrer\">t</a>"),
            canon_html("<a href=\"x\">t</a>")
        );
        assert_ne!(
            canon_html("<span prompt=\"\"></span>"),
            canon_html("<span></span>")
        );
    }
}
