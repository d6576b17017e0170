//! String formats kube-apiserver checks in CRDs (apiextensions' supported list, checked the
//! way go-openapi's strfmt checks them). Other formats are ignored, as the apiserver strips them.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

/// The patterns are constants: a typo makes the format reject everything, which its test sees.
fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

fn matches(re: &Option<Regex>, value: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(value))
}

static UUID: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"));
static UUID3: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
});
static TIME_OF_DAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static DURATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[0-9]+\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)$|^0$",
    )
});
static HEXCOLOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let c = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*";
    re(&format!(r"^rgb\({c},{c},{c}\)$"))
});
static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$"));
static ISBN10: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^(?:[0-9]{9}X|[0-9]{10})$"));
static ISBN13: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^(?:[0-9]{13})$"));
static CREDITCARD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-9]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$",
    )
});
static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^[^@\s<>()\[\],;:]+@[^@\s<>()\[\],;:]+$"));

/// `Some(valid)` for a format the apiserver checks, `None` for one it ignores.
pub fn check(format: &str, value: &str) -> Option<bool> {
    // strfmt matches names without dashes or underscores, case-insensitively.
    let normalized: String = format
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let ok = match normalized.as_str() {
        "datetime" => is_date_time(value),
        "date" => is_date(value),
        "uuid" => matches(&UUID, value),
        "uuid3" => matches(&UUID3, value),
        "uuid4" => matches(&UUID4, value),
        "uuid5" => matches(&UUID5, value),
        "byte" => is_base64(value),
        "ipv4" => value.parse::<IpAddr>().is_ok() && value.contains('.'),
        "ipv6" => value.parse::<IpAddr>().is_ok() && value.contains(':'),
        "cidr" => is_cidr(value),
        "mac" => is_mac(value),
        "hostname" => value.len() <= 255 && matches(&HOSTNAME, value),
        "email" => matches(&EMAIL, value),
        "uri" => crate::cel_eval::parses_as_request_uri(value),
        "duration" => matches(&DURATION, value),
        "hexcolor" => matches(&HEXCOLOR, value),
        "rgbcolor" => matches(&RGBCOLOR, value),
        "bsonobjectid" => value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        "password" => true,
        "isbn" => is_isbn(value),
        "isbn10" => matches(&ISBN10, &digits_only(value)),
        "isbn13" => matches(&ISBN13, &digits_only(value)),
        "creditcard" => matches(&CREDITCARD, &digits_only(value)),
        "ssn" => matches(&SSN, value),
        _ => return None,
    };
    Some(ok)
}

fn digits_only(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'X')
        .collect()
}

fn is_isbn(value: &str) -> bool {
    let d = digits_only(value);
    matches(&ISBN10, &d) || matches(&ISBN13, &d)
}

/// strfmt.IsDateTime: a full date, `t`, then a time with a zone, case-insensitively.
fn is_date_time(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let Some((date, time)) = lower.split_once('t') else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Some(caps) = TIME_OF_DAY.as_ref().and_then(|r| r.captures(time)) else {
        return false;
    };
    &caps[1] <= "23" && &caps[2] <= "59" && &caps[3] <= "59"
}

/// Go's `time.Parse("2006-01-02", s)`.
fn is_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i16>(), m.parse::<i8>(), d.parse::<i8>()) else {
        return false;
    };
    jiff::civil::Date::new(y, m, d).is_ok()
}

fn is_base64(value: &str) -> bool {
    let bytes = value.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|b| **b == b'=').count();
    if padding > 2 {
        return false;
    }
    bytes[..bytes.len() - padding]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

fn is_cidr(value: &str) -> bool {
    let Some((ip, bits)) = value.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `aa:bb`, `aa-bb` or `aabb.ccdd`.
fn is_mac(value: &str) -> bool {
    let octets_ok = |n: usize| n == 6 || n == 8 || n == 20;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    for sep in [':', '-'] {
        if value.contains(sep) {
            let groups: Vec<&str> = value.split(sep).collect();
            return octets_ok(groups.len()) && groups.iter().all(|g| g.len() == 2 && hex(g));
        }
    }
    if value.contains('.') {
        let groups: Vec<&str> = value.split('.').collect();
        return octets_ok(groups.len() * 2) && groups.iter().all(|g| g.len() == 4 && hex(g));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_accept_and_reject_like_strfmt() {
        let cases = [
            ("date-time", "2024-01-02T03:04:05Z", Some(true)),
            ("date-time", "2024-01-02T03:04:05.123+01:00", Some(true)),
            ("date-time", "2024-01-02 03:04:05Z", Some(false)),
            ("date-time", "2024-13-02T03:04:05Z", Some(false)),
            ("date-time", "yesterday", Some(false)),
            ("date", "2024-02-29", Some(true)),
            ("date", "2023-02-29", Some(false)),
            ("uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", Some(true)),
            ("uuid", "nope", Some(false)),
            ("byte", "aGVsbG8=", Some(true)),
            ("byte", "aGVsbG8", Some(false)),
            ("ipv4", "10.0.0.1", Some(true)),
            ("ipv4", "10.0.0.256", Some(false)),
            ("ipv6", "::1", Some(true)),
            ("cidr", "10.0.0.0/8", Some(true)),
            ("cidr", "10.0.0.0/33", Some(false)),
            ("mac", "00:00:5e:00:53:01", Some(true)),
            ("mac", "00:00:5e:00:53", Some(false)),
            ("hostname", "example.com", Some(true)),
            ("hostname", "-bad", Some(false)),
            ("uri", "https://example.com/x", Some(true)),
            ("uri", "example.com", Some(false)),
            ("duration", "1h30m", Some(true)),
            ("duration", "3 days", Some(true)),
            ("duration", "soon", Some(false)),
            ("hexcolor", "#fff", Some(true)),
            ("rgbcolor", "rgb(1, 2, 255)", Some(true)),
            ("bsonobjectid", "507f1f77bcf86cd799439011", Some(true)),
            ("int32", "anything", None),
            ("k8s-made-up", "anything", None),
        ];
        for (format, value, want) in cases {
            assert_eq!(check(format, value), want, "{format} {value}");
        }
    }
}
