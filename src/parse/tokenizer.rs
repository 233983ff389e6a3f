//! A tokenizer for `.proto` source that finds comments where protoc does.
//!
//! Generated docs come from comments, so the pure front end must attach
//! them exactly as protoc does. This tokenizer reproduces how protoc's own tokenizer
//! (`io/tokenizer.cc`, `NextWithComments`) splits the comments around the end
//! of a declaration into the previous declaration's trailing comment, detached
//! comments, and the next declaration's leading comment, so that code
//! generated without protoc carries the very same docs.
//!
//! Rules (from the protobuf language guide and protoc's behaviour):
//! - a comment that starts on the line of the previous token, after it, is
//!   that declaration's trailing comment; so is a comment block on the
//!   following lines that a blank line separates from the next token;
//! - the comment block right before a token, with no blank line between, is
//!   its leading comment; other blocks are detached;
//! - consecutive `//` lines form one comment; a `/* */` comment stands alone.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Before the first token.
    Start,
    /// A name or keyword.
    Ident,
    /// An integer or floating-point literal.
    Number,
    /// A quoted string, quotes included.
    Str,
    /// One punctuation character.
    Symbol,
    /// After the last token.
    End,
}

/// One token: its text and where it starts (0-based line and column, as in
/// `SourceCodeInfo` spans).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
}

/// Comments found between two tokens, split as protoc splits them.
#[derive(Debug, Default)]
pub(crate) struct Comments {
    /// The previous declaration's trailing comment.
    pub trailing: String,
    /// Comments attached to nothing.
    pub detached: Vec<String>,
    /// The next declaration's leading comment.
    pub leading: String,
}

pub(crate) struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    column: usize,
    current: Token<'a>,
    /// Where a block comment that never closes starts (0-based line and
    /// column), once the tokenizer has run into one.
    pub unterminated_comment: Option<(usize, usize)>,
}

/// How far a tab moves the column, as protoc's tokenizer counts.
const TAB_WIDTH: usize = 8;

fn is_space_no_newline(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Collects comments as protoc's `CommentCollector` does.
struct Collector {
    out: Comments,
    buffer: String,
    has_comment: bool,
    is_line_comment: bool,
    can_attach_to_prev: bool,
    has_trailing: bool,
    count: usize,
}

impl Collector {
    fn new() -> Self {
        Self {
            out: Comments::default(),
            buffer: String::new(),
            has_comment: false,
            is_line_comment: false,
            can_attach_to_prev: true,
            has_trailing: false,
            count: 0,
        }
    }

    fn start_line_comment(&mut self) {
        // Consecutive line comments join; a block comment does not.
        if self.has_comment && !self.is_line_comment {
            self.flush();
        }
        self.has_comment = true;
        self.is_line_comment = true;
    }

    fn start_block_comment(&mut self) {
        if self.has_comment {
            self.flush();
        }
        self.has_comment = true;
        self.is_line_comment = false;
    }

    /// The buffered comment is complete and not the next token's.
    fn flush(&mut self) {
        if !self.has_comment {
            return;
        }
        let text = std::mem::take(&mut self.buffer);
        if self.can_attach_to_prev {
            self.out.trailing.push_str(&text);
            self.has_trailing = true;
            self.can_attach_to_prev = false;
        } else {
            self.out.detached.push(text);
        }
        self.has_comment = false;
        self.count += 1;
    }

    /// With the previous and next tokens on one line, a lone comment
    /// belongs to neither.
    fn maybe_detach(&mut self) {
        let count = self.count + usize::from(self.has_comment);
        if count == 1 {
            if self.has_trailing {
                let trail = std::mem::take(&mut self.out.trailing);
                self.out.detached.insert(0, trail);
            }
            self.flush();
        }
    }

    fn finish(mut self) -> Comments {
        if self.has_comment {
            self.out.leading = std::mem::take(&mut self.buffer);
        }
        self.out
    }
}

enum CommentStart {
    Line,
    Block,
    SlashNotComment,
    None,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        // A UTF-8 byte order mark is not part of the source.
        let pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Self {
            text,
            pos,
            line: 0,
            column: 0,
            current: Token {
                kind: Kind::Start,
                text: "",
                line: 0,
                column: 0,
                end_column: 0,
            },
            unterminated_comment: None,
        }
    }

    pub(crate) fn current(&self) -> Token<'a> {
        self.current
    }

    fn peek(&self) -> u8 {
        self.text.as_bytes().get(self.pos).copied().unwrap_or(0)
    }

    fn peek_at(&self, ahead: usize) -> u8 {
        self.text
            .as_bytes()
            .get(self.pos + ahead)
            .copied()
            .unwrap_or(0)
    }

    fn at_eof(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn bump(&mut self) {
        let Some(&c) = self.text.as_bytes().get(self.pos) else {
            return;
        };
        self.pos += 1;
        // As protoc counts: bytes, a tab to the next multiple of 8.
        if c == b'\n' {
            self.line += 1;
            self.column = 0;
        } else if c == b'\t' {
            self.column += TAB_WIDTH - self.column % TAB_WIDTH;
        } else {
            self.column += 1;
        }
    }

    fn try_consume(&mut self, c: u8) -> bool {
        if !self.at_eof() && self.peek() == c {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_space_no_newline(&mut self) {
        while !self.at_eof() && is_space_no_newline(self.peek()) {
            self.bump();
        }
    }

    fn try_comment_start(&mut self) -> CommentStart {
        if self.peek() != b'/' {
            return CommentStart::None;
        }
        match self.peek_at(1) {
            b'/' => {
                self.bump();
                self.bump();
                CommentStart::Line
            }
            b'*' => {
                self.bump();
                self.bump();
                CommentStart::Block
            }
            _ => CommentStart::SlashNotComment,
        }
    }

    /// After `//`: the rest of the line, newline included.
    fn line_comment(&mut self, out: Option<&mut String>) {
        let start = self.pos;
        while !self.at_eof() && self.peek() != b'\n' {
            self.bump();
        }
        self.try_consume(b'\n');
        if let Some(out) = out {
            out.push_str(&self.text[start..self.pos]);
        }
    }

    /// After `/*`: up to `*/`, with each continuation line's leading
    /// whitespace and `*` left out.
    fn block_comment(&mut self, mut out: Option<&mut String>) {
        let mut from = self.pos;
        let opened = (self.line, self.column.saturating_sub(2));
        loop {
            while !self.at_eof() && !matches!(self.peek(), b'*' | b'/' | b'\n') {
                self.bump();
            }
            if self.at_eof() {
                self.unterminated_comment.get_or_insert(opened);
                if let Some(out) = out.as_deref_mut() {
                    out.push_str(&self.text[from..self.pos]);
                }
                return;
            }
            match self.peek() {
                b'\n' => {
                    self.bump();
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&self.text[from..self.pos]);
                    }
                    self.skip_space_no_newline();
                    if self.try_consume(b'*') && self.try_consume(b'/') {
                        return;
                    }
                    from = self.pos;
                }
                b'*' => {
                    self.bump();
                    if self.peek() == b'/' {
                        if let Some(out) = out.as_deref_mut() {
                            out.push_str(&self.text[from..self.pos - 1]);
                        }
                        self.bump();
                        return;
                    }
                }
                _ => self.bump(), // a '/'
            }
        }
    }

    /// Moves to the next token, skipping whitespace and comments.
    pub(crate) fn next(&mut self) -> Token<'a> {
        loop {
            while !self.at_eof() && (is_space_no_newline(self.peek()) || self.peek() == b'\n') {
                self.bump();
            }
            match self.try_comment_start() {
                CommentStart::Line => self.line_comment(None),
                CommentStart::Block => self.block_comment(None),
                CommentStart::SlashNotComment | CommentStart::None => break,
            }
        }
        self.read_token();
        self.current
    }

    fn read_token(&mut self) {
        let (line, column, start) = (self.line, self.column, self.pos);
        if self.at_eof() {
            self.current = Token {
                kind: Kind::End,
                text: "",
                line,
                column,
                end_column: column,
            };
            return;
        }
        let c = self.peek();
        let kind = if c.is_ascii_alphabetic() || c == b'_' {
            while self.peek().is_ascii_alphanumeric() || self.peek() == b'_' {
                self.bump();
            }
            Kind::Ident
        } else if c.is_ascii_digit() || (c == b'.' && self.peek_at(1).is_ascii_digit()) {
            let hex = c == b'0' && matches!(self.peek_at(1), b'x' | b'X');
            loop {
                let d = self.peek();
                let exponent_sign = matches!(d, b'+' | b'-')
                    && !hex
                    && matches!(self.text.as_bytes()[self.pos - 1], b'e' | b'E');
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exponent_sign {
                    self.bump();
                } else {
                    break;
                }
            }
            Kind::Number
        } else if c == b'"' || c == b'\'' {
            self.bump();
            loop {
                if self.at_eof() || self.peek() == b'\n' {
                    // Unterminated: the parser reports it.
                    break;
                }
                let d = self.peek();
                self.bump();
                if d == b'\\' {
                    // Whatever follows is escaped (the parser checks escapes).
                    if !self.at_eof() && self.peek() != b'\n' {
                        self.bump();
                    }
                } else if d == c {
                    break;
                }
            }
            Kind::Str
        } else {
            // One character, whole even if it is not ASCII.
            let width = self.text[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            for _ in 0..width {
                self.bump();
            }
            Kind::Symbol
        };
        self.current = Token {
            kind,
            text: &self.text[start..self.pos],
            line,
            column,
            end_column: self.column,
        };
    }

    /// Moves to the next token and returns the comments before it, split
    /// into the previous token's trailing comment, detached comments and the
    /// next token's leading comment, exactly as protoc's
    /// `Tokenizer::NextWithComments` does.
    pub(crate) fn next_with_comments(&mut self) -> Comments {
        let mut c = Collector::new();
        let mut prev_line = Some(self.line);
        let mut trailing_end_line = None;
        if self.current.kind == Kind::Start {
            c.can_attach_to_prev = false;
            prev_line = None;
        } else {
            // A comment on the same line belongs to the previous declaration.
            self.skip_space_no_newline();
            match self.try_comment_start() {
                CommentStart::Line => {
                    trailing_end_line = Some(self.line);
                    c.start_line_comment();
                    self.line_comment(Some(&mut c.buffer));
                    c.flush();
                }
                CommentStart::Block => {
                    c.start_block_comment();
                    self.block_comment(Some(&mut c.buffer));
                    trailing_end_line = Some(self.line);
                    self.skip_space_no_newline();
                    c.flush();
                }
                CommentStart::SlashNotComment => {
                    self.read_token();
                    return c.finish();
                }
                CommentStart::None => {
                    if !self.try_consume(b'\n') {
                        // The next token is on the same line: no comments.
                        self.next();
                        return c.finish();
                    }
                }
            }
        }
        // Now on a line after the previous token.
        loop {
            self.skip_space_no_newline();
            match self.try_comment_start() {
                CommentStart::Line => {
                    c.start_line_comment();
                    self.line_comment(Some(&mut c.buffer));
                }
                CommentStart::Block => {
                    c.start_block_comment();
                    self.block_comment(Some(&mut c.buffer));
                    // The rest of the line is not a blank line.
                    self.skip_space_no_newline();
                    self.try_consume(b'\n');
                }
                CommentStart::SlashNotComment => {
                    self.read_token();
                    return c.finish();
                }
                CommentStart::None => {
                    if self.try_consume(b'\n') {
                        // A blank line ends a comment block.
                        c.flush();
                        c.can_attach_to_prev = false;
                        continue;
                    }
                    self.next();
                    let token = self.current;
                    if token.kind == Kind::End || matches!(token.text, "}" | "]" | ")") {
                        // The end of a scope: a comment here documents
                        // nothing that follows.
                        c.flush();
                    }
                    if token.kind != Kind::End
                        && (prev_line == Some(token.line) || trailing_end_line == Some(token.line))
                    {
                        c.maybe_detach();
                    }
                    return c.finish();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments_after_first(src: &str) -> (Comments, String) {
        let mut t = Tokenizer::new(src);
        t.next();
        let c = t.next_with_comments();
        (c, t.current().text.to_owned())
    }

    #[test]
    fn tokens() {
        let mut t = Tokenizer::new("message Foo { int32 a = 1e+5; string s = \"a\\\"//b\"; } // x");
        let mut texts = Vec::new();
        while t.next().kind != Kind::End {
            texts.push(t.current().text);
        }
        assert_eq!(
            texts,
            [
                "message",
                "Foo",
                "{",
                "int32",
                "a",
                "=",
                "1e+5",
                ";",
                "string",
                "s",
                "=",
                "\"a\\\"//b\"",
                ";",
                "}"
            ]
        );
    }

    #[test]
    fn trailing_detached_and_leading() {
        let (c, next) = comments_after_first(
            "; // trailing\n// detached 1\n\n/* detached 2 */\n\n// leading a\n// leading b\nnext",
        );
        assert_eq!(c.trailing, " trailing\n");
        assert_eq!(c.detached, [" detached 1\n", " detached 2 "]);
        assert_eq!(c.leading, " leading a\n leading b\n");
        assert_eq!(next, "next");
    }

    #[test]
    fn a_block_on_the_next_line_followed_by_a_blank_is_trailing() {
        let (c, _) = comments_after_first(";\n// after\n\nnext");
        assert_eq!(c.trailing, " after\n");
        assert_eq!(c.leading, "");
        let (c, _) = comments_after_first(";\n// before\nnext");
        assert_eq!(c.trailing, "");
        assert_eq!(c.leading, " before\n");
    }

    #[test]
    fn block_comments_lose_their_stars() {
        let (c, _) = comments_after_first(";\n/*\n * one\n * two\n */\nnext");
        assert_eq!(c.leading, "\n one\n two\n");
    }

    #[test]
    fn no_leading_comment_before_a_closing_brace() {
        let (c, next) = comments_after_first(";\n// dangling\n}");
        assert_eq!(next, "}");
        assert_eq!(c.leading, "");
        assert_eq!(c.trailing, " dangling\n");
    }

    #[test]
    fn same_line_neighbours_detach_a_lone_comment() {
        let (c, _) = comments_after_first("; /* between */ next");
        assert_eq!(c.trailing, "");
        assert_eq!(c.leading, "");
        assert_eq!(c.detached, [" between "]);
    }

    #[test]
    fn unterminated_strings_and_comments_end_at_the_line_or_file() {
        let mut t = Tokenizer::new("\"abc\nnext /* never closed");
        assert_eq!(t.next().text, "\"abc");
        assert_eq!(t.next().text, "next");
        assert_eq!(t.next().kind, Kind::End);
    }
}
