//! Kubernetes' `isURL` is Go's `url.ParseRequestURI` succeeding: an absolute URI or an
//! absolute path. The `url` crate follows WHATWG rules instead (it refuses `/path` and
//! accepts bad escapes), hence this small port of Go's checks.

pub fn parses_as_request_uri(raw: &str) -> bool {
    if raw.is_empty() || raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if raw == "*" {
        return true;
    }
    let Some((scheme, rest)) = split_scheme(raw) else {
        return false;
    };
    let rest = match rest.split_once('?') {
        Some((before, _query)) => before,
        None => rest,
    };
    if !rest.starts_with('/') {
        // `mailto:x` is an opaque URI; a bare `example.com` is not a request URI.
        return !scheme.is_empty();
    }
    let path = if !scheme.is_empty() && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        if !valid_authority(authority) {
            return false;
        }
        path
    } else {
        rest
    };
    valid_escapes(path)
}

/// `Some(("", raw))` when there is no scheme; `None` when the scheme is malformed.
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((&raw[..i], &raw[i + 1..])),
            _ => return Some(("", raw)),
        }
    }
    Some(("", raw))
}

fn valid_authority(authority: &str) -> bool {
    let host = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            if !userinfo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
                || !valid_escapes(userinfo)
            {
                return false;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    valid_host(host)
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return false;
        };
        return valid_port(&inner[end + 1..]) && valid_escapes(&inner[..end]);
    }
    let (name, port) = match host.rfind(':') {
        Some(i) => (&host[..i], &host[i..]),
        None => (host, ""),
    };
    valid_port(port)
        && valid_escapes(name)
        && name.chars().all(|c| {
            !c.is_ascii() || c.is_ascii_alphanumeric() || "-_.~!$&'()*+,;=:[]<>\"%".contains(c)
        })
}

/// Empty, or `:` followed by digits only.
fn valid_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_escapes(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_parse_request_uri() {
        let cases = [
            ("https://example.com", true),
            ("https://example.com:8443/a/b?c=d#frag", true),
            ("http://user:pw@host/x", true),
            ("http://[::1]:80/", true),
            ("/absolute/path", true),
            ("mailto:someone@example.com", true),
            ("*", true),
            ("example.com", false),
            ("relative/path", false),
            ("", false),
            (":nope", false),
            ("http://exa mple.com/", false),
            ("http://host:port/", false),
            ("http://host/%zz", false),
            ("http://host/a\nb", false),
            ("1http://x", false),
        ];
        for (raw, want) in cases {
            assert_eq!(parses_as_request_uri(raw), want, "{raw:?}");
        }
    }
}
