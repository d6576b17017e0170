//! The worst-case cost kube-apiserver estimates for a CEL rule when a CRD is written
//! (cel-go `checker.Cost` with the Kubernetes library's estimator): each identifier and
//! field selection costs 1, a function call 1 plus its arguments, string functions a tenth of
//! a unit per byte, a regex match the product of the string and regex lengths, and a
//! comprehension (`all`, `exists`, `map`, …) its step cost times the size of what it iterates.
//! Sizes come from the schema ([`Decl`]): where it sets no maxLength/maxItems/maxProperties the
//! server assumes whatever fits in a 3 MiB request. Only the maximum is computed, which is all
//! the limits are checked against.

use cel::common::ast::{ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};

use super::decl::{Decl, StrKind};

const STRING_TRAVERSAL_COST_FACTOR: f64 = 0.1;
const REGEX_STRING_LENGTH_COST_FACTOR: f64 = 0.25;
const LIST_CREATE_BASE_COST: u64 = 10;
const MAP_CREATE_BASE_COST: u64 = 30;
const STRUCT_CREATE_BASE_COST: u64 = 40;
const UNKNOWN: u64 = u64::MAX;

/// The estimated maximum cost of one evaluation of `expr` with `self` (and `oldSelf`) typed by
/// `root`, the declaration of the schema node the rule sits on.
pub fn estimate(expr: &IdedExpr, root: &Decl) -> u64 {
    Coster {
        root,
        locals: Vec::new(),
    }
    .cost(expr)
    .cost
}

/// Go's `multiplyByCostFactor`: rounded up, saturating.
fn by_factor(x: u64, factor: f64) -> u64 {
    let product = (x as f64 * factor).ceil();
    if product >= 18_446_744_073_709_551_616.0 {
        UNKNOWN
    } else {
        product as u64
    }
}

fn sum(costs: impl IntoIterator<Item = u64>) -> u64 {
    costs.into_iter().fold(0, u64::saturating_add)
}

/// What the type checker would know of an expression's type.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Int,
    Uint,
    Double,
    Bool,
    Str,
    Bytes,
    Null,
    Duration,
    Timestamp,
    List(Box<Ty>),
    Map(Box<Ty>),
    Object,
    /// Kubernetes library values (quantity, URL, IP, …) and optionals.
    Opaque,
    Dyn,
}

impl Ty {
    fn of(decl: &Decl) -> Ty {
        match decl {
            Decl::Int => Ty::Int,
            Decl::Double => Ty::Double,
            Decl::Bool => Ty::Bool,
            Decl::Str { kind, .. } => match kind {
                StrKind::String => Ty::Str,
                StrKind::Bytes => Ty::Bytes,
                StrKind::Duration => Ty::Duration,
                StrKind::Timestamp => Ty::Timestamp,
            },
            Decl::List { elem, .. } => Ty::List(Box::new(Ty::of(elem))),
            Decl::Map { elem, .. } => Ty::Map(Box::new(Ty::of(elem))),
            Decl::Object { .. } => Ty::Object,
            Decl::IntOrString { .. } => Ty::Dyn,
        }
    }

    /// `isScalar`: types whose size is always 1.
    fn is_scalar(&self) -> bool {
        matches!(
            self,
            Ty::Int | Ty::Uint | Ty::Double | Ty::Bool | Ty::Duration | Ty::Timestamp
        )
    }

    fn elem(&self) -> Ty {
        match self {
            Ty::List(e) | Ty::Map(e) => (**e).clone(),
            _ => Ty::Dyn,
        }
    }
}

/// Where an expression's field path leads in the declarations, which is what sizes it.
#[derive(Clone, Copy, Debug)]
enum At<'a> {
    /// No path: literals, call results, accumulators.
    NoPath,
    /// A path the declarations do not resolve.
    Missing,
    Decl(&'a Decl),
}

#[derive(Clone, Debug)]
struct Node<'a> {
    cost: u64,
    ty: Ty,
    at: At<'a>,
    /// The declaration of the value, for typing (unlike `at`, never the root by accident).
    decl: Option<&'a Decl>,
    /// A size derived from the expression itself (literals, function results).
    size: Option<u64>,
    /// The size is exact (a literal), so its minimum is known too.
    exact: bool,
    /// The size a local variable was bound with, the estimator's last resort.
    var_size: Option<u64>,
}

impl<'a> Node<'a> {
    fn new(cost: u64, ty: Ty) -> Self {
        Node {
            cost,
            ty,
            at: At::NoPath,
            decl: None,
            size: None,
            exact: false,
            var_size: None,
        }
    }

    fn sized(mut self, size: Option<u64>) -> Self {
        self.size = size;
        self
    }
}

#[derive(Clone)]
struct Local<'a> {
    name: String,
    at: At<'a>,
    decl: Option<&'a Decl>,
    ty: Ty,
    size: Option<u64>,
}

struct Coster<'a> {
    root: &'a Decl,
    locals: Vec<Local<'a>>,
}

impl<'a> Coster<'a> {
    /// `computeSize`, falling back to "anything" (`UnknownSizeEstimate`).
    fn size(&self, n: &Node<'a>) -> u64 {
        if let Some(s) = n.size {
            return s;
        }
        if let At::Decl(d) = n.at {
            return d.max_elements();
        }
        if n.ty.is_scalar() {
            return 1;
        }
        n.var_size.unwrap_or(UNKNOWN)
    }

    /// The smallest size, known only for literals; 0 otherwise.
    fn min_size(&self, n: &Node<'a>) -> u64 {
        if n.exact { n.size.unwrap_or(0) } else { 0 }
    }

    /// A path one step further: cel-go treats the first element of a path as the variable, so
    /// a step from an expression without a path lands on the root declaration.
    fn step(&self, at: At<'a>, next: impl FnOnce(&'a Decl) -> Option<&'a Decl>) -> At<'a> {
        match at {
            At::NoPath => At::Decl(self.root),
            At::Missing => At::Missing,
            At::Decl(d) => next(d).map_or(At::Missing, At::Decl),
        }
    }

    fn local(&self, name: &str) -> Option<&Local<'a>> {
        self.locals.iter().rev().find(|l| l.name == name)
    }

    fn cost(&mut self, e: &IdedExpr) -> Node<'a> {
        match &e.expr {
            Expr::Literal(lit) => literal(lit),
            Expr::Ident(name) => self.ident(name),
            Expr::Select(sel) => {
                let operand = self.cost(&sel.operand);
                if sel.test {
                    // has(): the presence test costs 1 on top of its operand.
                    return Node::new(operand.cost.saturating_add(1), Ty::Bool);
                }
                let extra = u64::from(matches!(operand.ty, Ty::Map(_) | Ty::Object));
                let decl = operand.decl.and_then(|d| match d {
                    Decl::Map { elem, .. } => Some(&**elem),
                    _ => d.field(&sel.field),
                });
                let ty = decl.map_or_else(
                    || match &operand.ty {
                        Ty::Map(v) => (**v).clone(),
                        _ => Ty::Dyn,
                    },
                    Ty::of,
                );
                let field = sel.field.as_str();
                Node {
                    cost: operand.cost.saturating_add(extra),
                    ty,
                    at: self.step(operand.at, |d| d.field(field)),
                    decl,
                    size: None,
                    exact: false,
                    var_size: None,
                }
            }
            Expr::Call(call) => self.call(&call.func_name, call.target.as_deref(), &call.args),
            Expr::List(list) => {
                let items: Vec<Node<'a>> = list.elements.iter().map(|x| self.cost(x)).collect();
                let ty = items.first().map_or(Ty::Dyn, |n| n.ty.clone());
                let mut n = Node::new(
                    sum(items.iter().map(|i| i.cost)).saturating_add(LIST_CREATE_BASE_COST),
                    Ty::List(Box::new(ty)),
                )
                .sized(Some(list.elements.len() as u64));
                n.exact = true;
                n
            }
            Expr::Map(map) => {
                let mut total = MAP_CREATE_BASE_COST;
                let mut value_ty = Ty::Dyn;
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(kv) = &entry.expr {
                        total = total.saturating_add(self.cost(&kv.key).cost);
                        let v = self.cost(&kv.value);
                        value_ty = v.ty;
                        total = total.saturating_add(v.cost);
                    }
                }
                let mut n = Node::new(total, Ty::Map(Box::new(value_ty)))
                    .sized(Some(map.entries.len() as u64));
                n.exact = true;
                n
            }
            Expr::Struct(st) => {
                let mut total = STRUCT_CREATE_BASE_COST;
                for entry in &st.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        total = total.saturating_add(self.cost(&f.value).cost);
                    }
                }
                Node::new(total, Ty::Opaque)
            }
            Expr::Comprehension(comp) => self.comprehension(comp),
            Expr::Unspecified => Node::new(0, Ty::Dyn),
        }
    }

    fn ident(&self, name: &str) -> Node<'a> {
        if let Some(local) = self.local(name) {
            return Node {
                cost: 1,
                ty: local.ty.clone(),
                at: local.at,
                decl: local.decl,
                size: None,
                exact: false,
                var_size: local.size,
            };
        }
        let (ty, decl) = match name {
            "self" | "oldSelf" => (Ty::of(self.root), Some(self.root)),
            _ => (Ty::Dyn, None),
        };
        // Any other name (a type such as `string`) is a one-element path: the root.
        Node {
            cost: 1,
            ty,
            at: At::Decl(self.root),
            decl,
            size: None,
            exact: false,
            var_size: None,
        }
    }

    fn comprehension(&mut self, comp: &ComprehensionExpr) -> Node<'a> {
        let range = self.cost(&comp.iter_range);
        let init = self.cost(&comp.accu_init);
        let bind = matches!(&comp.iter_range.expr, Expr::List(l) if l.elements.is_empty())
            && matches!(
                &comp.loop_cond.expr,
                Expr::Literal(LiteralValue::Boolean(b)) if !**b
            )
            && comp.accu_var != "@result"
            && comp.accu_var != "__result__";
        let accu = Local {
            name: comp.accu_var.clone(),
            // Accumulators never carry a path to the declarations.
            at: if bind { init.at } else { At::NoPath },
            decl: init.decl,
            ty: init.ty.clone(),
            size: Some(self.size(&init)),
        };
        if bind {
            self.locals.push(accu);
            let result = self.cost(&comp.result);
            self.locals.pop();
            let mut n = result.clone();
            n.cost = sum([range.cost, init.cost, result.cost]);
            return n;
        }
        self.locals.push(accu);
        let is_map = matches!(range.ty, Ty::Map(_));
        let elem_decl = range.decl.and_then(Decl::elem);
        let key_decl = range.decl.and_then(Decl::key);
        let elem_at = self.step(range.at, Decl::elem);
        let key_at = self.step(range.at, Decl::key);
        let pushed = match &comp.iter_var2 {
            None => {
                let (at, decl, ty) = if is_map {
                    (key_at, key_decl, Ty::Str)
                } else {
                    (elem_at, elem_decl, range.ty.elem())
                };
                self.locals.push(Local {
                    name: comp.iter_var.clone(),
                    at,
                    decl,
                    ty,
                    size: None,
                });
                1
            }
            Some(second) => {
                let (key, key_decl, key_ty) = if is_map {
                    (key_at, key_decl, Ty::Str)
                } else {
                    // `@indices` resolves to nothing.
                    (self.step(range.at, |_| None), None, Ty::Int)
                };
                self.locals.push(Local {
                    name: comp.iter_var.clone(),
                    at: key,
                    decl: key_decl,
                    ty: key_ty,
                    size: None,
                });
                self.locals.push(Local {
                    name: second.clone(),
                    at: elem_at,
                    decl: elem_decl,
                    ty: range.ty.elem(),
                    size: None,
                });
                2
            }
        };
        let loop_cost = self.cost(&comp.loop_cond).cost;
        let step_cost = self.cost(&comp.loop_step).cost;
        for _ in 0..pushed {
            self.locals.pop();
        }
        let result = self.cost(&comp.result);
        self.locals.pop();
        let count = self.size(&range);
        let per_item = loop_cost.saturating_add(step_cost);
        let size = match &comp.accu_init.expr {
            Expr::Literal(_) => Some(self.size(&init)),
            Expr::List(_) | Expr::Map(_) => Some(count),
            _ => result.size,
        };
        Node::new(
            sum([
                range.cost,
                init.cost,
                result.cost,
                count.saturating_mul(per_item),
            ]),
            result.ty,
        )
        .sized(size)
    }

    fn call(&mut self, name: &str, target: Option<&IdedExpr>, args: &[IdedExpr]) -> Node<'a> {
        // `sets.contains(a, b)` and friends parse as calls on a namespace identifier.
        if let Some(IdedExpr {
            expr: Expr::Ident(ns),
            ..
        }) = target
            && matches!(ns.as_str(), "sets" | "strings" | "optional" | "math")
            && self.local(ns).is_none()
        {
            return self.call(&format!("{ns}.{name}"), None, args);
        }
        if name == "dyn" && target.is_none() && args.len() == 1 {
            let arg = self.cost(&args[0]);
            let size = self.size(&arg);
            return Node::new(arg.cost.saturating_add(1), Ty::Dyn).sized(Some(size));
        }
        let t = target.map(|t| self.cost(t));
        let a: Vec<Node<'a>> = args.iter().map(|x| self.cost(x)).collect();
        let args_cost = sum(a.iter().map(|n| n.cost));
        let target_cost = t.as_ref().map_or(0, |t| t.cost);
        // `split`'s limit bounds the result only when it is written as an int literal.
        let split_limit = match args.get(1).map(|x| &x.expr) {
            Some(Expr::Literal(LiteralValue::Int(n))) => Some(u64::try_from(**n).unwrap_or(0)),
            _ => None,
        };
        let mut out = self.function(name, t.as_ref(), &a, args_cost, split_limit);
        out.cost = out.cost.saturating_add(target_cost);
        out
    }

    /// `functionCost` with the Kubernetes estimator first, for one call whose target and
    /// arguments are already costed; the result's cost includes the arguments' (not the target's).
    fn function(
        &self,
        name: &str,
        t: Option<&Node<'a>>,
        a: &[Node<'a>],
        args: u64,
        split_limit: Option<u64>,
    ) -> Node<'a> {
        let arg = |i: usize| a.get(i);
        let size = |n: Option<&Node<'a>>| n.map_or(UNKNOWN, |n| self.size(n));
        let one = || args.saturating_add(1);
        let traverse = |n: Option<&Node<'a>>, factor: f64| by_factor(size(n), factor);
        match name {
            "_&&_" | "_||_" => Node::new(args, Ty::Bool),
            "_?_:_" => {
                let (yes, no) = (arg(1), arg(2));
                let cost = sum([
                    arg(0).map_or(0, |n| n.cost),
                    yes.map_or(0, |n| n.cost).max(no.map_or(0, |n| n.cost)),
                ]);
                let ty = match yes.map(|n| &n.ty) {
                    Some(Ty::Dyn) | None => no.map_or(Ty::Dyn, |n| n.ty.clone()),
                    Some(ty) => ty.clone(),
                };
                Node::new(cost, ty).sized(Some(size(yes).max(size(no))))
            }
            "_==_" | "_!=_" => {
                let opaque = arg(0).is_some_and(|n| n.ty == Ty::Opaque)
                    && arg(1).is_some_and(|n| n.ty == Ty::Opaque);
                let cost = if name == "_==_" && opaque {
                    1
                } else {
                    by_factor(size(arg(0)).min(size(arg(1))), STRING_TRAVERSAL_COST_FACTOR)
                };
                Node::new(args.saturating_add(cost), Ty::Bool)
            }
            "_<_" | "_<=_" | "_>_" | "_>=_" => {
                let strings =
                    by_factor(size(arg(0)).min(size(arg(1))), STRING_TRAVERSAL_COST_FACTOR);
                let is = |n: Option<&Node<'a>>, ty: &[Ty]| n.is_some_and(|n| ty.contains(&n.ty));
                let cost = if is(arg(0), &[Ty::Str, Ty::Bytes]) || is(arg(1), &[Ty::Str, Ty::Bytes])
                {
                    strings
                } else if is(arg(0), &[Ty::Dyn]) || is(arg(1), &[Ty::Dyn]) {
                    // A dynamic operand matches every overload: the costliest counts.
                    strings.max(1)
                } else {
                    1
                };
                Node::new(args.saturating_add(cost), Ty::Bool)
            }
            "_+_" => {
                let lhs = arg(0).map_or(Ty::Dyn, |n| n.ty.clone());
                let total = size(arg(0)).saturating_add(size(arg(1)));
                match lhs {
                    Ty::Str | Ty::Bytes | Ty::Dyn => Node::new(
                        args.saturating_add(by_factor(total, STRING_TRAVERSAL_COST_FACTOR)),
                        if lhs == Ty::Dyn {
                            arg(1).map_or(Ty::Dyn, |n| n.ty.clone())
                        } else {
                            lhs
                        },
                    )
                    .sized(Some(total)),
                    Ty::List(_) => Node::new(one(), lhs).sized(Some(total)),
                    other => Node::new(one(), other),
                }
            }
            "_-_" | "_*_" | "_/_" | "_%_" | "-_" => {
                Node::new(one(), arg(0).map_or(Ty::Dyn, |n| n.ty.clone()))
            }
            "!_" | "@not_strictly_false" => Node::new(one(), Ty::Bool),
            "_[_]" | "_[?_]" => {
                let container = arg(0);
                let decl = container.and_then(|c| c.decl).and_then(Decl::elem);
                let ty = decl.map_or_else(|| container.map_or(Ty::Dyn, |c| c.ty.elem()), Ty::of);
                let at = container.map_or(At::Missing, |c| self.step(c.at, Decl::elem));
                let mut n = Node::new(one(), ty);
                n.at = at;
                n.decl = decl;
                n
            }
            "@in" => {
                let cost = match arg(1).map(|n| &n.ty) {
                    Some(Ty::Map(_)) => 1,
                    _ => size(arg(1)),
                };
                Node::new(args.saturating_add(cost), Ty::Bool)
            }
            "size" => Node::new(one(), Ty::Int),
            "matches" if t.is_some() => {
                let text = by_factor(size(t).saturating_add(1), STRING_TRAVERSAL_COST_FACTOR);
                let regex = traverse(arg(0), REGEX_STRING_LENGTH_COST_FACTOR);
                Node::new(args.saturating_add(text.saturating_mul(regex)), Ty::Bool)
            }
            "contains" if t.is_some() => {
                let text = traverse(t, STRING_TRAVERSAL_COST_FACTOR);
                let sub = traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR);
                Node::new(args.saturating_add(text.saturating_mul(sub)), Ty::Bool)
            }
            "startsWith" | "endsWith" if t.is_some() => Node::new(
                args.saturating_add(traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Bool,
            ),
            "string" if arg(0).is_some_and(|n| n.ty == Ty::Bytes) => Node::new(
                args.saturating_add(traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Str,
            )
            .sized(Some(size(arg(0)))),
            "bytes" if arg(0).is_some_and(|n| n.ty == Ty::Str) => Node::new(
                args.saturating_add(traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Bytes,
            )
            .sized(Some(size(arg(0)).saturating_mul(4))),
            "strings.quote" => Node::new(
                args.saturating_add(traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Str,
            )
            .sized(Some(size(arg(0)).saturating_mul(2).saturating_add(2))),
            "format" if t.is_some() => Node::new(
                args.saturating_add(traverse(t, STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Str,
            ),
            "lowerAscii" | "upperAscii" | "substring" | "trim" if t.is_some() => Node::new(
                args.saturating_add(traverse(t, STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Str,
            )
            .sized(Some(size(t))),
            "replace" if t.is_some() && a.len() >= 2 => {
                let text = size(t);
                let (old_min, new_max) = (self.min_size(&a[0]), size(arg(1)));
                let result = if old_min == 0 {
                    text.saturating_add(1)
                        .saturating_mul(new_max)
                        .saturating_add(text)
                } else if new_max <= old_min {
                    text
                } else {
                    text.div_ceil(old_min).saturating_mul(new_max)
                };
                Node::new(
                    args.saturating_add(traverse(t, 2.0 * STRING_TRAVERSAL_COST_FACTOR)),
                    Ty::Str,
                )
                .sized(Some(result))
            }
            "split" if t.is_some() => {
                let max = split_limit.unwrap_or_else(|| size(t));
                Node::new(
                    args.saturating_add(traverse(t, 2.0 * STRING_TRAVERSAL_COST_FACTOR)),
                    Ty::List(Box::new(Ty::Str)),
                )
                .sized(Some(max))
            }
            "join" if t.is_some() => {
                let list = size(t);
                let elem = t.map_or(UNKNOWN, |t| self.list_elem_size(t));
                let mut total = list.saturating_mul(elem);
                if let Some(sep) = arg(0) {
                    total =
                        total.saturating_add(self.size(sep).saturating_mul(list.saturating_sub(1)));
                }
                Node::new(
                    args.saturating_add(by_factor(total, STRING_TRAVERSAL_COST_FACTOR)),
                    Ty::Str,
                )
                .sized(Some(total))
            }
            "indexOf" | "lastIndexOf" | "isSorted" | "sum" | "min" | "max" if t.is_some() => {
                let target = t.map(|t| (t.ty.clone(), t));
                let (cost, ty) = match target {
                    Some((Ty::List(elem), t)) => {
                        let mut per = 1u64;
                        if matches!(*elem, Ty::Str | Ty::Bytes) {
                            per = per.saturating_add(by_factor(
                                self.list_elem_size(t),
                                STRING_TRAVERSAL_COST_FACTOR,
                            ));
                        }
                        let ty = match name {
                            "isSorted" => Ty::Bool,
                            "indexOf" | "lastIndexOf" => Ty::Int,
                            _ => *elem,
                        };
                        (size(Some(t)).saturating_mul(per), ty)
                    }
                    Some((_, t)) => (traverse(Some(t), STRING_TRAVERSAL_COST_FACTOR), Ty::Int),
                    None => (1, Ty::Dyn),
                };
                Node::new(args.saturating_add(cost), ty)
            }
            "find" | "findAll" if t.is_some() => {
                let text = by_factor(size(t).saturating_add(1), STRING_TRAVERSAL_COST_FACTOR);
                let regex = traverse(arg(0), REGEX_STRING_LENGTH_COST_FACTOR);
                let ty = if name == "find" {
                    Ty::Str
                } else {
                    Ty::List(Box::new(Ty::Str))
                };
                Node::new(args.saturating_add(text.saturating_mul(regex)), ty).sized(Some(size(t)))
            }
            "url" if t.is_none() => Node::new(
                args.saturating_add(traverse(arg(0), STRING_TRAVERSAL_COST_FACTOR)),
                Ty::Opaque,
            )
            .sized(Some(size(arg(0)))),
            "sets.contains" | "sets.equivalent" | "sets.intersects" => Node::new(
                args.saturating_add(size(arg(0)).saturating_mul(size(arg(1))))
                    .saturating_add(1),
                Ty::Bool,
            ),
            _ => Node::new(one(), result_type(name, t, a)),
        }
    }

    /// The size of a list's items (`listElementNode`): looked up through the list's path.
    fn list_elem_size(&self, list: &Node<'a>) -> u64 {
        match list.at {
            At::Decl(d) => d.elem().map_or(UNKNOWN, Decl::max_elements),
            At::Missing | At::NoPath => UNKNOWN,
        }
    }
}

fn literal<'a>(lit: &LiteralValue) -> Node<'a> {
    let (ty, size) = match lit {
        LiteralValue::Boolean(_) => (Ty::Bool, 1),
        LiteralValue::Bytes(b) => (Ty::Bytes, b.len() as u64),
        LiteralValue::Double(_) => (Ty::Double, 1),
        LiteralValue::Int(_) => (Ty::Int, 1),
        LiteralValue::Null => (Ty::Null, 1),
        LiteralValue::String(s) => (Ty::Str, s.chars().count() as u64),
        LiteralValue::UInt(_) => (Ty::Uint, 1),
    };
    let mut n = Node::new(0, ty).sized(Some(size));
    n.exact = true;
    n
}

/// Result types of the O(1) functions, where later costs depend on them.
fn result_type(name: &str, target: Option<&Node<'_>>, args: &[Node<'_>]) -> Ty {
    match name {
        "int" | "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
        | "getDayOfWeek" | "getHours" | "getMinutes" | "getSeconds" | "getMilliseconds"
        | "indexOf" | "lastIndexOf" | "sign" | "asInteger" | "compareTo" => Ty::Int,
        "uint" => Ty::Uint,
        "double" | "asApproximateFloat" => Ty::Double,
        "string" | "charAt" | "lowerAscii" | "upperAscii" | "substring" | "trim" | "replace"
        | "join" | "format" | "getScheme" | "getHost" | "getHostname" | "getPort"
        | "getEscapedPath" => Ty::Str,
        "bytes" => Ty::Bytes,
        "bool" | "contains" | "startsWith" | "endsWith" | "matches" | "isURL" | "isSorted"
        | "hasValue" | "isQuantity" | "isInteger" | "isLessThan" | "isGreaterThan" | "isIP"
        | "isCIDR" => Ty::Bool,
        "timestamp" => Ty::Timestamp,
        "duration" => Ty::Duration,
        "split" | "findAll" => Ty::List(Box::new(Ty::Str)),
        "value" | "orValue" => match name {
            "orValue" => args.first().map_or(Ty::Dyn, |a| a.ty.clone()),
            _ => Ty::Dyn,
        },
        "sum" | "min" | "max" => target.map_or(Ty::Dyn, |t| t.ty.elem()),
        "quantity"
        | "url"
        | "ip"
        | "cidr"
        | "semver"
        | "optional.of"
        | "optional.none"
        | "optional.ofNonZeroValue"
        | "or"
        | "add"
        | "sub" => Ty::Opaque,
        _ => Ty::Dyn,
    }
}

#[cfg(test)]
mod tests {
    use super::super::decl::decl_type;
    use super::*;
    use serde_json::json;

    fn cost(rule: &str, schema: serde_json::Value) -> u64 {
        let expr = crate::cel_eval::parse(rule).unwrap();
        estimate(&expr, &decl_type(&schema, false).unwrap())
    }

    fn unbounded_strings() -> serde_json::Value {
        json!({"type": "array", "items": {"type": "string"}})
    }

    #[test]
    fn constant_time_rules_are_cheap() {
        let obj = json!({"type": "object", "properties": {
            "n": {"type": "integer"}, "s": {"type": "string"}, "t": {"type": "string", "maxLength": 10}}});
        let cases = [
            ("self.n == 1", 2),
            ("self.n >= 1 && self.n <= 5", 6),
            // the presence test (1) and `self` (1): the field itself is not selected.
            ("has(self.s)", 2),
            // the target (2) and a tenth of the prefix, rounded up: no call cost of its own.
            ("self.s.startsWith('ab')", 3),
            // equality is bounded by the shorter side: the literal.
            ("self.s == 'abc'", 3),
            ("size(self.s) <= 10", 4),
            // (40 + 1) / 10 rounded up, times 4 / 4.
            ("self.t.matches('^a+$')", 2 + 5),
        ];
        for (rule, want) in cases {
            assert_eq!(cost(rule, obj.clone()), want, "{rule}");
        }
    }

    #[test]
    fn iterating_multiplies_the_step_by_the_size() {
        // 1,048,575 items of an unbounded list of strings, each matched against a 6-byte
        // regex: (3,145,726 + 1) / 10 rounded up, times 6/4 rounded up, per item.
        let per_item = 2 + 1 + (1 + 314_573 * 2);
        assert_eq!(
            cost("self.all(x, x.matches('^a.*$'))", unbounded_strings()),
            1 + 1 + 1_048_575 * per_item
        );
        let bounded =
            json!({"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 5}});
        // (20 + 1) / 10 -> 3, times 2.
        assert_eq!(
            cost("self.all(x, x.matches('^a.*$'))", bounded),
            2 + 10 * (2 + 1 + 1 + 3 * 2)
        );
    }

    #[test]
    fn map_keys_are_sized_zero_like_the_server() {
        let tags = json!({"type": "object", "additionalProperties": {"type": "string"}});
        // 393,215 entries; `k.matches(...)` on a key of size 0 costs 1 x 2.
        assert_eq!(
            cost("self.all(k, k.matches('^a.*$'))", tags.clone()),
            2 + 393_215 * (2 + 1 + 1 + 2)
        );
        // The values are unbounded strings.
        assert!(cost("self.all(k, self[k].matches('^a.*$'))", tags) > 100_000_000_000);
    }

    #[test]
    fn unknown_sizes_are_unbounded() {
        let obj = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        // string(int) has no size estimate: concatenating it is "infinitely" expensive.
        assert!(cost("'n=' + string(self.n) == 'n=1'", obj) > 1_000_000_000_000_000_000);
    }
}
