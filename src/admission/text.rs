//! How values are quoted in messages.

/// The distinct characters `allowed` refuses, quoted, with their code point when they are not
/// plain ASCII (so a look-alike letter is recognisable in the message).
pub(super) fn invalid_chars(text: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in text.chars().filter(|c| !allowed(*c)) {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| {
            if c.is_ascii_graphic() || *c == ' ' {
                format!("{c:?}")
            } else {
                format!("{c:?} (U+{:04X})", u32::from(*c))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value quoted for a message, shortened so a 1000-character mistake does not flood it.
pub(super) fn shown(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT - 1).collect();
        format!("{head:?}…")
    }
}
