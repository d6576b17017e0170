//! When two policy documents mean the same thing, following the rules of
//! hashicorp/awspolicyequivalence, so a document IAM reformatted or reordered is
//! never rewritten: rewriting it would be an update storm.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::arn::Arn;

/// Whether two JSON policy documents are semantically the same.
///
/// If either text is not JSON, only identical text counts as the same. If either document
/// has a shape outside IAM's grammar (a number as `Statement`, an object inside `Action`),
/// it cannot be normalised safely and the two must be structurally equal JSON.
pub fn equivalent(a: &str, b: &str) -> bool {
    let (Ok(left), Ok(right)) = (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) else {
        return a == b;
    };
    match (Document::parse(&left), Document::parse(&right)) {
        (Some(left), Some(right)) => left.same_as(&right),
        _ => left == right,
    }
}

/// Whether `narrower` keeps only some of `wider`'s statements and drops nothing but `Allow`
/// statements: then it can only let fewer principals in (or grant less), never more. Dropping a
/// `Deny` widens, and any statement that is not one of `wider`'s may widen, so both answer false.
pub fn only_drops_allow_statements(narrower: &str, wider: &str) -> bool {
    let (Ok(left), Ok(right)) = (
        serde_json::from_str::<Value>(narrower),
        serde_json::from_str::<Value>(wider),
    ) else {
        return false;
    };
    let (Some(narrower), Some(wider)) = (Document::parse(&left), Document::parse(&right)) else {
        return false;
    };
    if narrower.version != wider.version || narrower.id != wider.id || narrower.other != wider.other
    {
        return false;
    }
    let kept = |statement: &Statement| narrower.statements.iter().any(|n| n.same_as(statement));
    narrower
        .statements
        .iter()
        .all(|n| wider.statements.iter().any(|w| w.same_as(n)))
        && wider
            .statements
            .iter()
            .all(|w| kept(w) || w.effect == "allow")
}

type StringSet = BTreeSet<String>;

#[derive(Debug)]
struct Document {
    // Missing and "" are the same; missing and "2012-10-17" are not (IAM defaults a missing
    // Version to 2008-10-17, which changes how policy variables are read).
    version: String,
    id: String,
    statements: Vec<Statement>,
    other: BTreeMap<String, Value>,
}

#[derive(Debug)]
struct Statement {
    sid: String,
    effect: String,
    action: StringSet,
    not_action: StringSet,
    resource: StringSet,
    not_resource: StringSet,
    principal: Principal,
    not_principal: Principal,
    condition: BTreeMap<String, BTreeMap<String, StringSet>>,
    other: BTreeMap<String, Value>,
}

#[derive(Debug)]
enum Principal {
    /// `"*"`, kept apart from `{"AWS": "*"}` as awspolicyequivalence does.
    Text(String),
    /// Kinds with no members are dropped, so missing, `{}` and `{"AWS": []}` are all empty.
    Map(BTreeMap<String, StringSet>),
}

impl Document {
    fn parse(value: &Value) -> Option<Document> {
        let object = value.as_object()?;
        let statements = match object.get("Statement")? {
            Value::Object(_) => vec![Statement::parse(object.get("Statement")?)?],
            Value::Array(list) => list
                .iter()
                .map(Statement::parse)
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        Some(Document {
            version: optional_text(object.get("Version"))?,
            id: optional_text(object.get("Id"))?,
            statements,
            other: others(object, &["Version", "Id", "Statement"]),
        })
    }

    fn same_as(&self, other: &Document) -> bool {
        self.version == other.version
            && self.id == other.id
            && self.other == other.other
            && perfect_matching(&self.statements, &other.statements)
    }
}

impl Statement {
    fn parse(value: &Value) -> Option<Statement> {
        let object = value.as_object()?;
        Some(Statement {
            sid: optional_text(object.get("Sid"))?,
            effect: optional_text(object.get("Effect"))?.to_lowercase(),
            action: string_set(object.get("Action"), false)?,
            not_action: string_set(object.get("NotAction"), false)?,
            resource: string_set(object.get("Resource"), false)?,
            not_resource: string_set(object.get("NotResource"), false)?,
            principal: Principal::parse(object.get("Principal"))?,
            not_principal: Principal::parse(object.get("NotPrincipal"))?,
            condition: conditions(object.get("Condition"))?,
            other: others(
                object,
                &[
                    "Sid",
                    "Effect",
                    "Action",
                    "NotAction",
                    "Resource",
                    "NotResource",
                    "Principal",
                    "NotPrincipal",
                    "Condition",
                ],
            ),
        })
    }

    fn same_as(&self, other: &Statement) -> bool {
        self.sid == other.sid
            && self.effect == other.effect
            && self.action == other.action
            && self.not_action == other.not_action
            && self.resource == other.resource
            && self.not_resource == other.not_resource
            && self.condition == other.condition
            && self.other == other.other
            && self.principal.same_as(&other.principal)
            && self.not_principal.same_as(&other.not_principal)
    }
}

impl Principal {
    fn parse(value: Option<&Value>) -> Option<Principal> {
        match value {
            None | Some(Value::Null) => Some(Principal::Map(BTreeMap::new())),
            Some(Value::String(text)) => Some(Principal::Text(text.clone())),
            Some(Value::Object(kinds)) => {
                let mut map = BTreeMap::new();
                for (kind, members) in kinds {
                    let members = string_set(Some(members), false)?;
                    if !members.is_empty() {
                        map.insert(kind.clone(), members);
                    }
                }
                Some(Principal::Map(map))
            }
            Some(_) => None,
        }
    }

    fn same_as(&self, other: &Principal) -> bool {
        match (self, other) {
            (Principal::Text(a), Principal::Text(b)) => same_principal(a, b),
            (Principal::Map(a), Principal::Map(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(kind, ours)| {
                        b.get(kind)
                            .is_some_and(|theirs| same_principal_set(ours, theirs))
                    })
            }
            _ => false,
        }
    }
}

/// Sets compared under `same_principal`, which is not transitive (`111122223333` matches
/// both the aws and the aws-cn root ARN, which do not match each other): each member must
/// match some member on the other side, both ways.
fn same_principal_set(ours: &StringSet, theirs: &StringSet) -> bool {
    let covered = |from: &StringSet, to: &StringSet| {
        from.iter().all(|a| to.iter().any(|b| same_principal(a, b)))
    };
    covered(ours, theirs) && covered(theirs, ours)
}

/// IAM rewrites a bare account id to its root ARN, so the two must compare equal.
fn same_principal(a: &str, b: &str) -> bool {
    a == b || is_root_of(a, b) || is_root_of(b, a)
}

fn is_root_of(arn: &str, account: &str) -> bool {
    Arn::parse(arn).is_ok_and(|arn| arn.is_root_of(account))
}

/// A multiset comparison of statements: every statement must pair with a distinct equivalent
/// one on the other side. Kuhn's augmenting paths, because statement equivalence inherits the
/// non-transitive principal rule and a greedy pairing could miss a valid one.
fn perfect_matching(ours: &[Statement], theirs: &[Statement]) -> bool {
    if ours.len() != theirs.len() {
        return false;
    }
    let fits: Vec<Vec<bool>> = ours
        .iter()
        .map(|a| theirs.iter().map(|b| a.same_as(b)).collect())
        .collect();
    let mut owner_of: Vec<Option<usize>> = vec![None; theirs.len()];
    (0..ours.len()).all(|i| {
        let mut seen = vec![false; theirs.len()];
        augment(i, &fits, &mut seen, &mut owner_of)
    })
}

fn augment(
    i: usize,
    fits: &[Vec<bool>],
    seen: &mut [bool],
    owner_of: &mut [Option<usize>],
) -> bool {
    for j in 0..owner_of.len() {
        if fits[i][j] && !seen[j] {
            seen[j] = true;
            let free = match owner_of[j] {
                None => true,
                Some(other) => augment(other, fits, seen, owner_of),
            };
            if free {
                owner_of[j] = Some(i);
                return true;
            }
        }
    }
    false
}

/// Missing and null are "" (as in awspolicyequivalence); a non-string is outside the grammar.
fn optional_text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => None,
    }
}

/// A string and a one-element list are the same set. Condition values may also be booleans
/// or numbers, which IAM treats as their string form (`true` ≡ `"true"`, `5` ≡ `"5"`).
fn string_set(value: Option<&Value>, scalars: bool) -> Option<StringSet> {
    let member = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) if scalars => Some(flag.to_string()),
        Value::Number(number) if scalars => Some(number_text(number)),
        _ => None,
    };
    match value {
        None | Some(Value::Null) => Some(StringSet::new()),
        Some(Value::Array(list)) => list.iter().map(member).collect(),
        Some(one) => member(one).map(|text| StringSet::from([text])),
    }
}

/// `5`, `5.0` and `5e0` are all "5", as Go's shortest float formatting writes them.
fn number_text(number: &serde_json::Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    match number.as_f64() {
        Some(float) => float.to_string(),
        None => number.to_string(),
    }
}

fn conditions(value: Option<&Value>) -> Option<BTreeMap<String, BTreeMap<String, StringSet>>> {
    let operators = match value {
        // A missing Condition and an empty one restrict nothing alike.
        None | Some(Value::Null) => return Some(BTreeMap::new()),
        Some(Value::Object(operators)) => operators,
        Some(_) => return None,
    };
    operators
        .iter()
        .map(|(operator, keys)| {
            let keys = keys
                .as_object()?
                .iter()
                .map(|(key, values)| Some((key.clone(), string_set(Some(values), true)?)))
                .collect::<Option<BTreeMap<_, _>>>()?;
            Some((operator.clone(), keys))
        })
        .collect()
}

/// Keys outside IAM's grammar: IAM would reject them, but if they are there they must match.
fn others(object: &Map<String, Value>, known: &[&str]) -> BTreeMap<String, Value> {
    object
        .iter()
        .filter(|(key, _)| !known.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
