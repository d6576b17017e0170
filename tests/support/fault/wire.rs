//! HTTP/1.1 as the proxy needs it: read one request, forward it to moto, write IAM's error
//! bodies (query-protocol XML, `Type` Sender or Receiver, a RequestId).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};

pub struct Request {
    pub head: Vec<String>,
    pub body: Vec<u8>,
}

pub fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { head, body })
}

/// The access key id of a SigV4 `Authorization` header (`Credential=AKID/date/…`).
pub fn access_key(head: &[String]) -> Option<String> {
    head.iter()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').next())
        .map(str::to_string)
}

/// The text of the first `<name>…</name>` element of an XML answer.
pub fn xml_value(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].to_string())
}

/// The decoded value of one parameter of an `application/x-www-form-urlencoded` body.
pub fn form_value(body: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            let spaced = value.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// moto's whole answer, and its status code (0 if it sent something that is not HTTP).
pub fn forward(upstream_port: u16, request: &Request) -> std::io::Result<(u16, Vec<u8>)> {
    let mut upstream = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream_port))?;
    let mut head = String::new();
    for line in &request.head {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(&request.body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok((status_of(&response), response))
}

fn status_of(response: &[u8]) -> u16 {
    let end = response.len().min(64);
    String::from_utf8_lossy(&response[..end])
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

pub fn error_response(
    status: u16,
    code: &str,
    message: &str,
    retry_after_ms: Option<u64>,
) -> Vec<u8> {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    \
         <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>6f8a1c9e-0000-4000-8000-fault0proxy0</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message)
    );
    let retry_after = retry_after_ms
        .map(|ms| format!("x-amz-retry-after: {ms}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: 6f8a1c9e-0000-4000-8000-fault0proxy0\r\n{retry_after}Connection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    )
    .into_bytes()
}

/// A 200 answer carrying `body` as IAM's XML document.
pub fn success_response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: 6f8a1c9e-0000-4000-8000-fault0proxy0\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded() {
        let body = b"Action=CreateRole&RoleName=team%2Bapp%40x%3D1%2C2&Path=%2F&Empty=&Spaced=a+b";
        let cases = [
            ("Action", Some("CreateRole")),
            ("RoleName", Some("team+app@x=1,2")),
            ("Path", Some("/")),
            ("Empty", Some("")),
            ("Spaced", Some("a b")),
            ("Missing", None),
        ];
        for (name, want) in cases {
            assert_eq!(form_value(body, name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn statuses_of_answers() {
        let cases: [(&[u8], u16); 4] = [
            (b"HTTP/1.1 200 OK\r\n\r\n", 200),
            (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404),
            (b"garbage", 0),
            (b"", 0),
        ];
        for (response, want) in cases {
            assert_eq!(status_of(response), want);
        }
    }

    #[test]
    fn error_bodies() {
        let text = String::from_utf8(error_response(
            403,
            "AccessDenied",
            "not authorized to perform: iam:TagRole on \"x\" & y",
            Some(250),
        ))
        .unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
        assert!(head.contains("x-amz-retry-after: 250\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(body.contains("<Type>Sender</Type>"), "{body}");
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        assert!(
            body.contains("iam:TagRole on &quot;x&quot; &amp; y</Message>"),
            "{body}"
        );
        let server =
            String::from_utf8(error_response(500, "ServiceFailure", "boom", None)).unwrap();
        assert!(server.contains("<Type>Receiver</Type>"));
        assert!(!server.contains("x-amz-retry-after"));
    }
}
