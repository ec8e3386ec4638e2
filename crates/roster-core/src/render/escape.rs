//! Escaping for the two places a value from a roster or an account is shown: a terminal,
//! and GitHub Markdown (pull-request comments, drift issues). There a value shows as its
//! text and does nothing else: no escape sequence, markup, HTML, mention or link.
//!
//! Each function borrows its input when nothing in it needs escaping, so the renderers
//! allocate nothing for the ordinary names and emails of a large plan.

use std::borrow::Cow;

/// A zero-width space as an HTML entity, which GitHub decodes: it splits what GitHub
/// would turn into a mention, a reference or a link (`@team`, `#12`, `www.`) without
/// changing what a reader sees, as Renovate does for the same reason.
const BREAK: &str = "&#8203;";

/// What a control character shows as: its picture from the Control Pictures block for
/// C0 and DEL (ESC as ␛, a line break as ␊), as `roster validate` shows them; U+FFFD for
/// C1 controls (0x9B is a one-byte CSI to some terminals) and for the direction
/// overrides and isolates, which would reorder the text after them.
fn picture(c: char) -> Option<char> {
    match c {
        '\0'..='\x1f' => char::from_u32(0x2400 + u32::from(c)),
        '\x7f' => Some('\u{2421}'),
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => Some('\u{fffd}'),
        _ => None,
    }
}

/// Whether a byte of UTF-8 is neither a control character nor the lead byte of one
/// that [`picture`] replaces (C1 controls start with 0xC2, direction controls with
/// 0xE2): a string of such bytes is shown as it is, without a look at its characters.
fn printable(b: u8) -> bool {
    b >= b' ' && b != b'\x7f' && b != 0xc2 && b != 0xe2
}

/// A rewrite of `src` that copies it only once something changes.
struct Rewrite<'a> {
    src: &'a str,
    out: Option<String>,
    /// Bytes of `src` already accounted for in `out`.
    done: usize,
}

impl<'a> Rewrite<'a> {
    fn new(src: &'a str) -> Self {
        Rewrite {
            src,
            out: None,
            done: 0,
        }
    }

    /// Puts `parts` in place of the character `c` at byte `at` of `src`.
    fn put(&mut self, at: usize, c: char, parts: &[&str]) {
        let room = self.src.len() + 16;
        let out = self.out.get_or_insert_with(|| String::with_capacity(room));
        out.push_str(&self.src[self.done..at]);
        parts.iter().for_each(|p| out.push_str(p));
        self.done = at + c.len_utf8();
    }

    /// Puts the picture of `c` in its place, if it is a control character.
    fn picture(&mut self, at: usize, c: char) -> bool {
        let Some(p) = picture(c) else {
            return false;
        };
        self.put(at, c, &[p.encode_utf8(&mut [0; 4])]);
        true
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.src),
            Some(mut out) => {
                out.push_str(&self.src[self.done..]);
                Cow::Owned(out)
            }
        }
    }
}

/// `s` for a terminal: control characters as their pictures, so a value can neither
/// send an escape sequence nor begin a line of its own. Every value roster prints to a
/// terminal goes through this function.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if s.bytes().all(printable) {
        return Cow::Borrowed(s);
    }
    let mut w = Rewrite::new(s);
    for (i, c) in s.char_indices() {
        w.picture(i, c);
    }
    w.finish()
}

/// A line of a fenced code block (the plan's changes in a comment): `s` as for a
/// terminal, and with a zero-width space inside `<!--` and `-->`. A code block shows
/// both as text, but a search of the comment's source for roster's hidden markers
/// would find them, and entities are not decoded there.
pub(crate) fn code_block(s: &str) -> Cow<'_, str> {
    if s.bytes().all(printable) && !s.contains("<!") && !s.contains("->") {
        return Cow::Borrowed(s);
    }
    let mut w = Rewrite::new(s);
    let mut prev = None;
    for (i, c) in s.char_indices() {
        let rest = &s[i + c.len_utf8()..];
        if !w.picture(i, c) {
            let opens = c == '!' && prev == Some('<') && rest.starts_with("--");
            if opens || (c == '-' && rest.starts_with("->")) {
                w.put(i, c, &[c.encode_utf8(&mut [0; 4]), "\u{200b}"]);
            }
        }
        prev = Some(c);
    }
    w.finish()
}

/// `s` as Markdown text that GitHub shows as written, in a table cell, a list item, a
/// heading or a paragraph: control characters as pictures; HTML, emphasis, code, links,
/// table pipes and a block marker at its start escaped; mentions, issue references,
/// autolinks and math broken without a visible change. Ordinary names come back
/// unchanged; an email keeps its `@` (a mention needs one after a non-word character)
/// and gets an invisible break before the first dot of its domain, so it is not linked.
pub fn markdown(s: &str) -> Cow<'_, str> {
    inline(s, true)
}

/// [`markdown`], escaping what would open a block only when `s` may start a line
/// (`line_start`); a part of a sentence after a code span does not.
pub(crate) fn inline(s: &str, line_start: bool) -> Cow<'_, str> {
    // Most names are letters, digits and spaces: nothing in them needs a closer look.
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b' ' || (b >= 0x80 && printable(b));
    if s.bytes().all(plain) && !(line_start && s.starts_with(' ')) {
        return Cow::Borrowed(s);
    }
    let lead = if line_start { block_marker(s) } else { None };
    let bytes = s.as_bytes();
    // GitHub reads a mention as `@` and an ASCII letter or digit after a non-word.
    let ascii_alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut w = Rewrite::new(s);
    let mut prev: Option<char> = None;
    // Inside the domain after a kept `@`, before its first dot: an email GitHub would link.
    let mut domain = false;
    for (i, c) in s.char_indices() {
        domain &= c == '.' || c == '-' || c == '_' || c.is_ascii_alphanumeric();
        if w.picture(i, c) {
            prev = Some(c);
            continue;
        }
        let rest = &s[i + c.len_utf8()..];
        let next = rest.chars().next();
        let after =
            |word: &[u8]| i >= word.len() && bytes[i - word.len()..i].eq_ignore_ascii_case(word);
        let mut ch = [0; 4];
        let ch = &*c.encode_utf8(&mut ch);
        let parts: &[&str] = match c {
            '#' if next.is_some_and(|n| n.is_ascii_digit()) => &["#", BREAK],
            '-' if next.is_some_and(|n| n.is_ascii_digit()) && after(b"gh") => &["-", BREAK],
            _ if Some(i) == lead => &["\\", ch],
            ' ' if i == 0 && line_start => &["&#32;"],
            '\\' | '`' | '*' | '~' | '[' | ']' | '|' => &["\\", ch],
            '_' if !(alphanumeric(prev) && alphanumeric(next)) => &["\\_"],
            '<' => &["&lt;"],
            '>' => &["&gt;"],
            // GitHub's documented way to show a dollar sign that math would take.
            '$' => &["<span>$</span>"],
            '&' if names_a_character(rest) => &["\\&"],
            '@' if ascii_alnum(next) && !ascii_alnum(prev) => &["@", BREAK],
            '@' => {
                domain = next.is_some_and(|n| n == '-' || n == '_' || n.is_ascii_alphanumeric());
                &[]
            }
            '.' if domain || after(b"www") => {
                domain = false;
                &[BREAK, "."]
            }
            ':' if rest.starts_with("//") => &[":", BREAK],
            _ => &[],
        };
        if !parts.is_empty() {
            w.put(i, c, parts);
        }
        prev = Some(c);
    }
    w.finish()
}

/// Whether `&` before `rest` opens a character reference (`&lt;`, `&#64;`), which
/// GitHub would decode.
fn names_a_character(rest: &str) -> bool {
    let name = rest.strip_prefix('#').unwrap_or(rest);
    let len = name.len()
        - name
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric())
            .len();
    len > 0 && name[len..].starts_with(';')
}

/// A letter or digit of any script: an `_` between two of them emphasises nothing.
fn alphanumeric(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// The byte of `s` to escape so that, at the start of a line, it opens no list item,
/// heading or thematic break: a leading `-`, `+` or `#`, or the `.` or `)` of `1.`.
fn block_marker(s: &str) -> Option<usize> {
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = &s[digits..];
    match rest.chars().next()? {
        '-' | '+' | '#' if digits == 0 => Some(0),
        '.' | ')'
            if (1..=9).contains(&digits)
                && matches!(rest[1..].chars().next(), None | Some(' ')) =>
        {
            Some(digits)
        }
        _ => None,
    }
}

/// `s` as a complete inline code span, backticks included, safe for any content and in
/// a table cell: a fence longer than any run of backticks in it, control characters as
/// pictures, and, when it holds a pipe, `<!--` or `-->` (which a code span cannot
/// escape), an HTML `<code>` element around [`markdown`] text instead.
pub fn code_span(s: &str) -> String {
    let shown = terminal(s);
    if shown.is_empty() || shown.contains('|') || shown.contains("<!--") || shown.contains("-->") {
        return format!("<code>{}</code>", inline(&shown, false));
    }
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both have one; a backtick at an
    // end would join the fence.
    let spaced = shown.starts_with(' ') && shown.ends_with(' ') && !shown.trim_start().is_empty();
    let pad = if shown.starts_with('`') || shown.ends_with('`') || spaced {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// A sentence roster wrote around values (a warning, a guard's detail) as Markdown: its
/// `backticked` parts as code spans and the rest as text, each escaped. A value with
/// backticks of its own may pair them differently, but no part leaves text or code.
pub(crate) fn sentence(s: &str) -> Cow<'_, str> {
    if !s.contains('`') {
        return markdown(s);
    }
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return markdown(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (k, part) in parts.iter().enumerate() {
        if k % 2 == 1 {
            out.push_str(&code_span(part));
        } else {
            out.push_str(&inline(part, k == 0));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_controls_as_pictures_and_borrows_the_rest() {
        assert!(matches!(terminal("José Núñez"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\x1b[31mb\nc\td\x7f"), "a␛[31mb␊c␉d␡");
        assert_eq!(terminal("\u{9b}2J \u{202e}txt"), "\u{fffd}2J \u{fffd}txt");
        assert_eq!(terminal("\u{200d}👩‍👩‍👧"), "\u{200d}👩‍👩‍👧");
    }

    #[test]
    fn ordinary_names_and_emails_are_unchanged() {
        for s in [
            "José Núñez",
            "Ana Silva",
            "Mary-Jane O'Brien Jr.",
            "Support Tier 1",
            "AT&T",
            "2 deactivation(s) exceed the limit 1",
        ] {
            assert!(
                matches!(markdown(s), Cow::Borrowed(_)),
                "{s} -> {}",
                markdown(s)
            );
        }
    }

    #[test]
    fn markup_and_html_show_as_text() {
        assert_eq!(
            markdown("</details><img src=x> <!-- x -->"),
            "&lt;/details&gt;&lt;img src=x&gt; &lt;!-- x --&gt;"
        );
        assert_eq!(
            markdown("*a* _b_ ~c~ `d` [e](f) g|h \\"),
            "\\*a\\* \\_b\\_ \\~c\\~ \\`d\\` \\[e\\](f) g\\|h \\\\"
        );
        assert_eq!(markdown("snake_case"), "snake_case");
        assert_eq!(markdown("AT&T &amp; co"), "AT&T \\&amp; co");
        assert_eq!(markdown("$x$"), "<span>$</span>x<span>$</span>");
        assert_eq!(markdown("a\nb"), "a␊b");
    }

    #[test]
    fn mentions_references_and_links_are_broken_invisibly() {
        assert_eq!(markdown("@team"), "@&#8203;team");
        assert_eq!(markdown("hi @acme/admins"), "hi @&#8203;acme/admins");
        assert_eq!(markdown("see #12, gh-7"), "see #&#8203;12, gh-&#8203;7");
        assert_eq!(
            markdown("https://evil.example"),
            "https:&#8203;//evil.example"
        );
        assert_eq!(markdown("WWW.evil.example"), "WWW&#8203;.evil.example");
        assert_eq!(
            markdown("mail ana@acme.example"),
            "mail ana@acme.example".replace("acme.", "acme&#8203;.")
        );
    }

    #[test]
    fn a_block_marker_at_the_start_is_escaped_only_there() {
        assert_eq!(markdown("# a # b"), "\\# a # b");
        assert_eq!(markdown("- a - b"), "\\- a - b");
        assert_eq!(markdown("1. a 2. b"), "1\\. a 2. b");
        assert_eq!(markdown("1.5 hours"), "1.5 hours");
        assert_eq!(markdown("    code"), "&#32;   code");
        assert_eq!(inline(" is left", false), " is left");
        assert_eq!(markdown("#12"), "#&#8203;12");
    }

    #[test]
    fn code_spans_fit_their_content() {
        assert_eq!(code_span("acme"), "`acme`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`a"), "`` `a ``");
        assert_eq!(code_span(" a "), "`  a  `");
        assert_eq!(code_span("<img src=x> @team"), "`<img src=x> @team`");
        assert_eq!(code_span("a|b"), "<code>a\\|b</code>");
        assert_eq!(code_span("<!-- x -->"), "<code>&lt;!-- x --&gt;</code>");
        assert_eq!(code_span(""), "<code></code>");
        assert_eq!(code_span("a\x1b\nb"), "`a␛␊b`");
    }

    #[test]
    fn code_block_lines_lose_comment_delimiters() {
        assert_eq!(
            code_block("a <!-- b --> c"),
            "a <!\u{200b}-- b -\u{200b}-> c"
        );
        assert_eq!(code_block("<!-->"), "<!\u{200b}-\u{200b}->");
        assert!(matches!(
            code_block("+ user ana@acme.example"),
            Cow::Borrowed(_)
        ));
        assert_eq!(code_block("\x1b[2J"), "␛[2J");
    }

    #[test]
    fn sentences_keep_their_code_spans() {
        assert_eq!(sentence("team `Billing` is left"), "team `Billing` is left");
        assert_eq!(
            sentence("team `a|b` @x"),
            "team <code>a\\|b</code> @&#8203;x"
        );
        assert_eq!(sentence("odd ` tick"), "odd \\` tick");
    }
}
