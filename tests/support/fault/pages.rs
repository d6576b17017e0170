//! Pagination as real IAM does it, for the bulk reads moto answers in one page whatever
//! MaxItems says: the proxy asks moto for everything, then serves it `size` members at a time
//! with its own markers, so the client must follow `IsTruncated`/`Marker` to see every role.

/// The list element each paginated action answers with.
pub fn list_element(action: &str) -> Option<&'static str> {
    match action {
        "ListRoles" => Some("Roles"),
        "GetAccountAuthorizationDetails" => Some("RoleDetailList"),
        _ => None,
    }
}

const MARKER_PREFIX: &str = "proxy-page-";

/// moto answers every role when asked for this many: it pages ListRoles by MaxItems (not the
/// bulk read), and a page of moto's would end the proxy's pages early.
const EVERYTHING: &str = "MaxItems=1000000";

/// The request body without its `Marker` (moto would not know ours) and asking moto for every
/// role, and where to start.
pub fn take_marker(body: &[u8]) -> (Vec<u8>, usize) {
    let text = String::from_utf8_lossy(body);
    let mut offset = 0;
    let kept: Vec<&str> = text
        .split('&')
        .filter_map(|pair| {
            if let Some(value) = pair.strip_prefix("Marker=") {
                offset = value
                    .strip_prefix(MARKER_PREFIX)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                None
            } else if pair.starts_with("MaxItems=") {
                Some(EVERYTHING)
            } else {
                Some(pair)
            }
        })
        .collect();
    (kept.join("&").into_bytes(), offset)
}

/// moto's whole HTTP answer cut to members `offset..offset + size` of `list`, with IAM's
/// `IsTruncated` and `Marker` set accordingly and the Content-Length fixed.
pub fn cut(response: &[u8], list: &str, offset: usize, size: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return response.to_vec();
    };
    let (open, close) = (format!("<{list}>"), format!("</{list}>"));
    let (Some(start), Some(end)) = (body.find(&open), body.find(&close)) else {
        return response.to_vec();
    };
    let inner = &body[start + open.len()..end];
    let members = members(inner);
    let total = members.len();
    let last = (offset + size).min(total);
    let kept: String = members[offset.min(total)..last].concat();
    let truncated = last < total;
    let mut out = format!("{}{open}{kept}{}", &body[..start], &body[end..]);
    out = set_element(
        &out,
        "IsTruncated",
        if truncated { "true" } else { "false" },
    );
    out = remove_element(&out, "Marker");
    if truncated {
        let marker = format!("<Marker>{MARKER_PREFIX}{last}</Marker>");
        if let Some(at) = out.find("</IsTruncated>") {
            out.insert_str(at + "</IsTruncated>".len(), &marker);
        }
    }
    let head: Vec<&str> = head
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("content-length:"))
        .collect();
    format!(
        "{}\r\nContent-Length: {}\r\n\r\n{out}",
        head.join("\r\n"),
        out.len()
    )
    .into_bytes()
}

/// The direct `<member>` children of a list, each with its tags.
fn members(inner: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let (mut depth, mut start, mut at) = (0usize, 0usize, 0usize);
    while at < inner.len() {
        let rest = &inner[at..];
        if rest.starts_with("<member>") {
            if depth == 0 {
                start = at;
            }
            depth += 1;
            at += "<member>".len();
        } else if rest.starts_with("</member>") {
            depth = depth.saturating_sub(1);
            at += "</member>".len();
            if depth == 0 {
                found.push(&inner[start..at]);
            }
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    found
}

fn set_element(xml: &str, name: &str, value: &str) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    match (xml.find(&open), xml.find(&close)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{open}{value}{}", &xml[..start], &xml[end..])
        }
        _ => xml.to_string(),
    }
}

fn remove_element(xml: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    match (xml.find(&open), xml.find(&close)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{}", &xml[..start], &xml[end + close.len()..])
        }
        _ => xml.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(members: &[&str]) -> Vec<u8> {
        let list: String = members
            .iter()
            .map(|m| format!("<member><RoleName>{m}</RoleName><Tags><member><Key>k</Key></member></Tags></member>"))
            .collect();
        let body = format!(
            "<R><Result><IsTruncated>false</IsTruncated><Roles>{list}</Roles></Result></R>"
        );
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn pages_follow_markers_to_the_end() {
        let full = answer(&["a", "b", "c", "d", "e"]);
        let first = String::from_utf8(cut(&full, "Roles", 0, 2)).unwrap();
        assert!(
            first.contains("<RoleName>a</RoleName>") && first.contains("<RoleName>b</RoleName>")
        );
        assert!(!first.contains("<RoleName>c</RoleName>"));
        assert!(first.contains("<IsTruncated>true</IsTruncated><Marker>proxy-page-2</Marker>"));
        let body_len = first.split_once("\r\n\r\n").unwrap().1.len();
        assert!(first.contains(&format!("Content-Length: {body_len}\r\n")));
        let last = String::from_utf8(cut(&full, "Roles", 4, 2)).unwrap();
        assert!(
            last.contains("<RoleName>e</RoleName>")
                && last.contains("<IsTruncated>false</IsTruncated>")
        );
        assert!(!last.contains("<Marker>"));
        assert_eq!(
            last.matches("<Key>k</Key>").count(),
            1,
            "nested members stay whole"
        );
    }

    #[test]
    fn markers_are_taken_out_and_moto_is_asked_for_every_role() {
        let (body, offset) =
            take_marker(b"Action=ListRoles&MaxItems=1000&Marker=proxy-page-4&Version=2010-05-08");
        assert_eq!(offset, 4);
        assert_eq!(
            body,
            b"Action=ListRoles&MaxItems=1000000&Version=2010-05-08"
        );
        assert_eq!(take_marker(b"Action=ListRoles").1, 0);
    }
}
