//! The corpus of hostile and broken IamRole and IamPolicy manifests (`tests/hostile/corpus/NN-short-name.yaml`,
//! two or three digits) and the header comments that say who must refuse each one and with what
//! message.
//!
//! ```yaml
//! # <why the manifest is hostile, one line>
//! # expect: <substring every refusing layer's message contains>
//! # expect-engine: <optional: a more precise substring of the engine's message>
//! # expect-crd: <optional: a more precise substring of the API server's message>
//! # layer: crd|engine|both
//! # stage: load        (optional: the file is not readable YAML; the CLI refuses the whole run)
//! ```

use std::path::{Path, PathBuf};

/// Who must refuse a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// The CRD's schema and CEL rules (kubectl never gets it past the API server).
    Crd,
    /// The engine (`rolesmith plan/apply`, the controller): the schema lets it through.
    Engine,
    Both,
}

impl Layer {
    pub fn engine(self) -> bool {
        matches!(self, Layer::Engine | Layer::Both)
    }

    pub fn crd(self) -> bool {
        matches!(self, Layer::Crd | Layer::Both)
    }
}

/// Where the CLI refuses the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The object is refused on its own (a rule, an unknown field, a type error): its error is
    /// one entry of the `-o json` result and the other objects still go ahead.
    Object,
    /// The file is not YAML a parser reads (duplicate keys, an alias bomb): no object in it can
    /// be named, so the run stops with an error on stderr and no JSON at all.
    Load,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub expect: String,
    pub expect_engine: Option<String>,
    pub expect_crd: Option<String>,
    pub layer: Layer,
    pub stage: Stage,
}

impl Header {
    /// The substrings the engine's message must contain.
    pub fn engine_fragments(&self) -> Vec<&str> {
        std::iter::once(self.expect.as_str())
            .chain(self.expect_engine.as_deref())
            .collect()
    }

    /// The substrings the API server's message must contain.
    pub fn crd_fragments(&self) -> Vec<&str> {
        std::iter::once(self.expect.as_str())
            .chain(self.expect_crd.as_deref())
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct Case<H = Header> {
    /// `NN-short-name`
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub header: H,
}

/// Reads the header: the leading `# key: value` comment lines (other leading comments are prose).
pub fn parse_header(text: &str) -> Result<Header, String> {
    let mut expect = None;
    let mut expect_engine = None;
    let mut expect_crd = None;
    let mut layer = None;
    let mut stage = Stage::Object;
    for line in text.lines().take_while(|line| line.starts_with('#')) {
        let Some((key, value)) = line.trim_start_matches('#').trim().split_once(": ") else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("header {key:?} is empty"));
        }
        let slot = match key {
            "expect" => &mut expect,
            "expect-engine" => &mut expect_engine,
            "expect-crd" => &mut expect_crd,
            "layer" => {
                layer = Some(match value {
                    "crd" => Layer::Crd,
                    "engine" => Layer::Engine,
                    "both" => Layer::Both,
                    other => return Err(format!("layer {other:?} is not crd, engine or both")),
                });
                continue;
            }
            "stage" => {
                stage = match value {
                    "load" => Stage::Load,
                    "object" => Stage::Object,
                    other => return Err(format!("stage {other:?} is not load or object")),
                };
                continue;
            }
            _ => continue,
        };
        if slot.replace(value.to_string()).is_some() {
            return Err(format!("header {key:?} is given twice"));
        }
    }
    let expect = expect.ok_or("no `# expect:` header")?;
    let layer = layer.ok_or("no `# layer:` header")?;
    if expect_engine.is_some() && !layer.engine() {
        return Err("expect-engine on a manifest only the CRD refuses".into());
    }
    if expect_crd.is_some() && !layer.crd() {
        return Err("expect-crd on a manifest only the engine refuses".into());
    }
    if stage == Stage::Load && !layer.engine() {
        return Err("stage: load on a manifest the engine accepts".into());
    }
    Ok(Header {
        expect,
        expect_engine,
        expect_crd,
        layer,
        stage,
    })
}

/// `NN-short-name.yaml` with a two- or three-digit number (`099` would be a second 99) and a
/// lower-case, dash-separated name.
pub fn well_formed_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".yaml") else {
        return false;
    };
    let Some((number, rest)) = stem.split_once('-') else {
        return false;
    };
    (number.len() == 2 || (number.len() == 3 && !number.starts_with('0')))
        && number.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && !rest.starts_with('-')
        && !rest.ends_with('-')
        && !rest.contains("--")
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The number a corpus file name starts with (empty for a file without one).
fn number_of(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split_once('-'))
        .map_or("", |(number, _)| number)
}

pub fn hostile_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("hostile")
        .join(name)
}

/// Every corpus file, in file-name order. Panics on a file the corpus rules do not allow.
pub fn load() -> Vec<Case> {
    load_dir(&hostile_path("corpus"), parse_header)
}

/// The `.yaml` files of `dir` in number order, each with its parsed header.
pub fn load_dir<H>(dir: &Path, parse: impl Fn(&str) -> Result<H, String>) -> Vec<Case<H>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    // Shorter numbers first, so 100 follows 99.
    entries.sort_by_key(|path| (number_of(path).len(), path.clone()));
    entries
        .into_iter()
        .map(|path| {
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            assert!(
                well_formed_file_name(&file_name),
                "{}: corpus files are named NN-short-name.yaml",
                path.display()
            );
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            let header = parse(&text)
                .unwrap_or_else(|error| panic!("{}: bad header: {error}", path.display()));
            Case {
                name: file_name.trim_end_matches(".yaml").to_string(),
                path,
                text,
                header,
            }
        })
        .collect()
}

/// The manifest as the API server would receive it (YAML → JSON, as kubectl converts it).
pub fn manifest_json(case: &Case) -> Result<serde_json::Value, String> {
    serde_saphyr::from_str(&case.text).map_err(|error| format!("{}: {error}", case.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_large_numbered_and_every_file_is_a_whole_object() {
        let cases = load();
        assert!(cases.len() >= 40, "only {} corpus files", cases.len());
        let mut numbers: Vec<&str> = cases.iter().map(|c| number_of(&c.path)).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), cases.len(), "corpus numbers repeat");
        // Every layer is exercised (a CRD-only case is not required: the engine is meant to
        // refuse everything the CRD refuses).
        for layer in [Layer::Engine, Layer::Both] {
            assert!(
                cases.iter().any(|c| c.header.layer == layer),
                "no {layer:?} case"
            );
        }
        let policies = cases
            .iter()
            .filter(|c| c.text.contains("kind: IamPolicy\n"))
            .count();
        assert!(policies >= 10, "only {policies} IamPolicy cases");
        for case in &cases {
            for line in [
                "apiVersion: iam.rolesmith.dev/v1alpha1\n",
                "metadata:\n",
                "spec:\n",
            ] {
                assert!(case.text.contains(line), "{}: no {line:?}", case.name);
            }
            assert!(
                case.text.contains("kind: IamRole\n") != case.text.contains("kind: IamPolicy\n"),
                "{}: not one IamRole or one IamPolicy",
                case.name
            );
            // A load-stage file is one no YAML parser reads; one that parses is mislabelled.
            if case.header.stage == Stage::Load {
                assert!(
                    manifest_json(case).is_err(),
                    "{}: stage: load, but the file is readable YAML",
                    case.name
                );
                continue;
            }
            let object = manifest_json(case).unwrap_or_else(|error| panic!("{error}"));
            for pointer in ["/metadata/name", "/metadata/namespace", "/spec"] {
                assert!(
                    object.pointer(pointer).is_some(),
                    "{}: no {pointer}",
                    case.name
                );
            }
            // Only the one field a case is about is wrong: the required one is there.
            let required = if object["kind"] == "IamPolicy" {
                "document"
            } else {
                "assumeRolePolicy"
            };
            assert!(
                object["spec"].get(required).is_some(),
                "{}: no spec.{required}",
                case.name
            );
        }
    }

    #[test]
    fn headers() {
        let ok = |expect: &str, layer, stage| Header {
            expect: expect.into(),
            expect_engine: None,
            expect_crd: None,
            layer,
            stage,
        };
        let cases: Vec<(&str, Result<Header, &str>)> = vec![
            (
                "# why\n# expect: spec.roleName\n# layer: both\napiVersion: v1\n",
                Ok(ok("spec.roleName", Layer::Both, Stage::Object)),
            ),
            (
                "# expect: a: b\n# layer: engine\n# stage: load\n",
                Ok(ok("a: b", Layer::Engine, Stage::Load)),
            ),
            (
                "# expect: x\n# expect-engine: y\n# expect-crd: z\n# layer: both\n",
                Ok(Header {
                    expect_engine: Some("y".into()),
                    expect_crd: Some("z".into()),
                    ..ok("x", Layer::Both, Stage::Object)
                }),
            ),
            // Only the leading comment block is the header.
            (
                "# expect: x\napiVersion: v1\n# layer: crd\n",
                Err("no `# layer:` header"),
            ),
            ("# layer: crd\n", Err("no `# expect:` header")),
            (
                "# expect: x\n# layer: kubectl\n",
                Err("is not crd, engine or both"),
            ),
            (
                "# expect: x\n# expect: y\n# layer: crd\n",
                Err("given twice"),
            ),
            (
                "# expect: x\n# expect-crd: y\n# layer: engine\n",
                Err("expect-crd on"),
            ),
            (
                "# expect: x\n# expect-engine: y\n# layer: crd\n",
                Err("expect-engine on"),
            ),
            (
                "# expect: x\n# layer: crd\n# stage: load\n",
                Err("stage: load on"),
            ),
            (
                "# expect: x\n# layer: crd\n# stage: later\n",
                Err("is not load or object"),
            ),
        ];
        for (text, want) in cases {
            match (parse_header(text), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn file_names() {
        for (name, ok) in [
            ("01-policy-json.yaml", true),
            ("42-x.yaml", true),
            ("7-x.yaml", false),
            ("100-x.yaml", true),
            ("1000-x.yaml", false),
            ("099-x.yaml", false),
            ("01-.yaml", false),
            ("01-Policy.yaml", false),
            ("01-a--b.yaml", false),
            ("01-a-.yaml", false),
            ("01-a.yml", false),
            ("01-a b.yaml", false),
        ] {
            assert_eq!(well_formed_file_name(name), ok, "{name}");
        }
    }
}
