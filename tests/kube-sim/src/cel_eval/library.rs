//! The CEL environment of CRD validation rules: the standard library, cel-go's string
//! extension, and the Kubernetes libraries the project's CRDs can use (URLs, lists, regex,
//! sets). Which functions exist is decided here, not by the `cel` crate: Kubernetes offers
//! fewer than the crate (no `flatten`, `sort`, …) and some the crate lacks.

use std::cmp::Ordering;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{Env, ExecutionError, Value as Cel};
use regex::Regex;

/// Functions Kubernetes declares that the simulator evaluates.
const IMPLEMENTED: &[&str] = &[
    // standard library
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "type",
    "dyn",
    "duration",
    "timestamp",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    // optional values
    "optional.of",
    "optional.none",
    "optional.ofNonZeroValue",
    "hasValue",
    "value",
    "or",
    "orValue",
    // cel-go strings extension
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "replace",
    "split",
    "substring",
    "trim",
    "join",
    "strings.quote",
    "format",
    // Kubernetes libraries
    "isURL",
    "isSorted",
    "sum",
    "min",
    "max",
    "find",
    "findAll",
    "sets.contains",
    "sets.equivalent",
    "sets.intersects",
];

/// Functions Kubernetes declares that the simulator does not evaluate: a rule using one is
/// refused loudly rather than judged wrongly.
const NOT_IMPLEMENTED: &[&str] = &[
    "url",
    "getScheme",
    "getHost",
    "getHostname",
    "getPort",
    "getEscapedPath",
    "getQuery",
    "quantity",
    "isQuantity",
    "sign",
    "isGreaterThan",
    "isLessThan",
    "compareTo",
    "add",
    "sub",
    "asInteger",
    "asApproximateFloat",
    "isInteger",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "family",
    "isUnspecified",
    "isLoopback",
    "isLinkLocalMulticast",
    "isLinkLocalUnicast",
    "isGlobalUnicast",
    "isCanonical",
    "containsIP",
    "containsCIDR",
    "prefixLength",
    "masked",
    "format.named",
    "validate",
    "semver",
    "isSemver",
    "major",
    "minor",
    "patch",
    "transformList",
    "transformMap",
    "transformMapEntry",
    "cel.bind",
    "reverse",
];

/// Accepts operators and declared functions; explains everything else.
pub fn check_function(name: &str) -> Result<(), String> {
    let operator = name.starts_with('_') || name.starts_with('@') || name == "!_" || name == "-_";
    // The parser reports `sets.contains(a, b)` as a call of `contains` on `sets`.
    let known = |list: &[&str]| {
        list.iter()
            .any(|f| *f == name || f.rsplit_once('.').is_some_and(|(_, last)| last == name))
    };
    if operator || known(IMPLEMENTED) {
        Ok(())
    } else if known(NOT_IMPLEMENTED) {
        Err(format!(
            "the Kubernetes CEL function '{name}' is not implemented by kube-sim"
        ))
    } else {
        Err(format!("undeclared reference to '{name}'"))
    }
}

pub fn kubernetes_env() -> Env {
    let mut env = Env::stdlib();
    // Registration only fails on duplicate declarations, which would be a bug here; the
    // functions then stay undeclared and every rule using them reports it at run time.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = register(&mut env);
    env
}

fn register(env: &mut Env) -> Result<(), cel::DeclarationError> {
    env.add_overload("isURL", "k8s_is_url", vec![STRING_TYPE], is_url)?;
    env.add_member_overload(
        "isSorted",
        "k8s_list_is_sorted",
        LIST_TYPE,
        vec![],
        is_sorted,
    )?;
    env.add_member_overload("sum", "k8s_list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "k8s_list_min", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "k8s_list_max", LIST_TYPE, vec![], max)?;
    env.add_member_overload(
        "indexOf",
        "k8s_list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of,
    )?;
    env.add_member_overload(
        "lastIndexOf",
        "k8s_list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of,
    )?;
    env.add_member_overload(
        "find",
        "k8s_string_find",
        STRING_TYPE,
        vec![STRING_TYPE],
        find,
    )?;
    env.add_member_overload(
        "findAll",
        "k8s_string_find_all",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all,
    )?;
    env.add_member_overload(
        "findAll",
        "k8s_string_find_all_n",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all_n,
    )?;
    env.add_overload(
        "sets.contains",
        "k8s_sets_contains",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "k8s_sets_equivalent",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "k8s_sets_intersects",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects,
    )?;
    Ok(())
}

type Out<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;
type Lists = (Arc<Vec<Cel>>, Arc<Vec<Cel>>);

fn value(arg: &CowVal<'_, '_>) -> Result<Cel, ExecutionError> {
    Cel::try_from(arg.as_ref() as &dyn Val)
}

fn owned<'b, 'v>(v: Cel) -> Out<'b, 'v> {
    let boxed: Box<dyn Val> = v.try_into()?;
    Ok(CowVal::from(boxed))
}

fn args<const N: usize>(
    function: &str,
    args: &[CowVal<'_, '_>],
) -> Result<[Cel; N], ExecutionError> {
    if args.len() != N {
        return Err(ExecutionError::invalid_argument_count(N, args.len()));
    }
    let values = args.iter().map(value).collect::<Result<Vec<_>, _>>()?;
    values
        .try_into()
        .map_err(|_| ExecutionError::function_error(function, "bad arguments"))
}

fn list(function: &str, v: Cel) -> Result<Arc<Vec<Cel>>, ExecutionError> {
    match v {
        Cel::List(items) => Ok(items),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected a list, got {}", other.type_of()),
        )),
    }
}

fn text(function: &str, v: Cel) -> Result<Arc<String>, ExecutionError> {
    match v {
        Cel::String(s) => Ok(s),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected a string, got {}", other.type_of()),
        )),
    }
}

fn compare(function: &str, a: &Cel, b: &Cel) -> Result<Ordering, ExecutionError> {
    a.partial_cmp(b).ok_or_else(|| {
        ExecutionError::function_error(
            function,
            format!("cannot compare {} and {}", a.type_of(), b.type_of()),
        )
    })
}

fn is_url<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [s] = args::<1>("isURL", &a)?;
    owned(Cel::Bool(super::request_uri::parses_as_request_uri(&text(
        "isURL", s,
    )?)))
}

fn is_sorted<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [l] = args::<1>("isSorted", &a)?;
    let items = list("isSorted", l)?;
    for pair in items.windows(2) {
        if compare("isSorted", &pair[0], &pair[1])? == Ordering::Greater {
            return owned(Cel::Bool(false));
        }
    }
    owned(Cel::Bool(true))
}

fn sum<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [l] = args::<1>("sum", &a)?;
    let items = list("sum", l)?;
    let mut total = Cel::Int(0);
    for (i, item) in items.iter().enumerate() {
        total = match (total, item) {
            (Cel::Int(t), Cel::Int(x)) => Cel::Int(
                t.checked_add(*x)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Cel::Int(_), Cel::Float(x)) if i == 0 => Cel::Float(*x),
            (Cel::Float(t), Cel::Float(x)) => Cel::Float(t + x),
            (Cel::Int(_), Cel::UInt(x)) if i == 0 => Cel::UInt(*x),
            (Cel::UInt(t), Cel::UInt(x)) => Cel::UInt(t.checked_add(*x).ok_or_else(|| {
                ExecutionError::function_error("sum", "unsigned integer overflow")
            })?),
            (_, other) => {
                return Err(ExecutionError::function_error(
                    "sum",
                    format!("cannot add {}", other.type_of()),
                ));
            }
        };
    }
    owned(total)
}

fn extreme<'b, 'v>(function: &str, a: Vec<CowVal<'b, 'v>>, keep: Ordering) -> Out<'b, 'v> {
    let [l] = args::<1>(function, &a)?;
    let items = list(function, l)?;
    let mut best: Option<&Cel> = None;
    for item in items.iter() {
        best = match best {
            Some(b) if compare(function, item, b)? != keep => Some(b),
            _ => Some(item),
        };
    }
    match best {
        Some(b) => owned(b.clone()),
        None => Err(ExecutionError::function_error(
            function,
            format!("{function} called on empty list"),
        )),
    }
}

fn min<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    extreme("min", a, Ordering::Less)
}

fn max<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    extreme("max", a, Ordering::Greater)
}

fn index_of<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [l, x] = args::<2>("indexOf", &a)?;
    let items = list("indexOf", l)?;
    let found = items.iter().position(|i| *i == x).map_or(-1, |i| i as i64);
    owned(Cel::Int(found))
}

fn last_index_of<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [l, x] = args::<2>("lastIndexOf", &a)?;
    let items = list("lastIndexOf", l)?;
    let found = items.iter().rposition(|i| *i == x).map_or(-1, |i| i as i64);
    owned(Cel::Int(found))
}

fn regex(function: &str, pattern: &str) -> Result<Regex, ExecutionError> {
    Regex::new(pattern).map_err(|e| ExecutionError::function_error(function, e))
}

fn find<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [s, p] = args::<2>("find", &a)?;
    let (s, p) = (text("find", s)?, text("find", p)?);
    let found = regex("find", &p)?.find(&s).map(|m| m.as_str().to_string());
    owned(Cel::String(Arc::new(found.unwrap_or_default())))
}

fn find_all_limited<'b, 'v>(s: Cel, p: Cel, limit: Option<i64>) -> Out<'b, 'v> {
    let (s, p) = (text("findAll", s)?, text("findAll", p)?);
    let re = regex("findAll", &p)?;
    let all = re
        .find_iter(&s)
        .map(|m| Cel::String(Arc::new(m.as_str().to_string())));
    let found: Vec<Cel> = match limit {
        Some(n) if n >= 0 => all.take(n as usize).collect(),
        _ => all.collect(),
    };
    owned(Cel::List(Arc::new(found)))
}

fn find_all<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [s, p] = args::<2>("findAll", &a)?;
    find_all_limited(s, p, None)
}

fn find_all_n<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let [s, p, n] = args::<3>("findAll", &a)?;
    let Cel::Int(n) = n else {
        return Err(ExecutionError::function_error(
            "findAll",
            "limit must be an int",
        ));
    };
    find_all_limited(s, p, Some(n))
}

fn two_lists(function: &str, a: &[CowVal<'_, '_>]) -> Result<Lists, ExecutionError> {
    let [x, y] = args::<2>(function, a)?;
    Ok((list(function, x)?, list(function, y)?))
}

fn sets_contains<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let (x, y) = two_lists("sets.contains", &a)?;
    owned(Cel::Bool(y.iter().all(|i| x.contains(i))))
}

fn sets_equivalent<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let (x, y) = two_lists("sets.equivalent", &a)?;
    owned(Cel::Bool(
        y.iter().all(|i| x.contains(i)) && x.iter().all(|i| y.contains(i)),
    ))
}

fn sets_intersects<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Out<'b, 'v> {
    let (x, y) = two_lists("sets.intersects", &a)?;
    owned(Cel::Bool(y.iter().any(|i| x.contains(i))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_function_is_declared_by_the_environment() {
        // A name in IMPLEMENTED that the environment lacks would pass the compile check and
        // then fail at run time: make sure each one resolves.
        let probes = [
            "isURL('/x')",
            "[1].isSorted()",
            "[1].sum() == 1",
            "[1].min() == 1",
            "[1].max() == 1",
            "[1].indexOf(1) == 0",
            "[1].lastIndexOf(1) == 0",
            "'a'.find('a') == 'a'",
            "'a'.findAll('a') == ['a']",
            "'a'.findAll('a', 1) == ['a']",
            "sets.contains([1], [1])",
            "sets.equivalent([1], [1])",
            "sets.intersects([1], [1])",
            "'a'.lowerAscii() == 'a'",
            "optional.of(1).hasValue()",
        ];
        for probe in probes {
            let rule = super::super::compile(probe).unwrap();
            assert!(
                rule.eval(&serde_json::Value::Null, None, None).is_ok(),
                "{probe}"
            );
        }
    }

    #[test]
    fn operators_pass_and_strangers_fail() {
        assert!(check_function("_==_").is_ok());
        assert!(check_function("@in").is_ok());
        assert!(check_function("!_").is_ok());
        assert!(check_function("flatten").is_err());
        assert!(
            check_function("isIP")
                .unwrap_err()
                .contains("not implemented")
        );
    }
}
