//! A small expression tree for the quantities the SBML export derives from the named
//! parameters (pass fractions, rate constants, entry fractions): written out as MathML so
//! that a simulator recomputes them when a parameter is edited, and evaluated here so
//! that a test holds the written algebra against `model::Model::assemble`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// An arithmetic expression over SBML identifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A dimensionless number.
    Num(f64),
    /// A number in an SBML unit (cells, hours, cells/h).
    Measured(f64, &'static str),
    /// A parameter, derived quantity or species, by SBML id.
    Id(String),
    /// The sum of the terms.
    Sum(Vec<Expr>),
    /// The product of the factors.
    Product(Vec<Expr>),
    /// The first minus the second.
    Minus(Box<Expr>, Box<Expr>),
    /// The first divided by the second.
    Divide(Box<Expr>, Box<Expr>),
    /// The first to the power of the second.
    Power(Box<Expr>, Box<Expr>),
    /// The larger of the two (the mechanisms clip states at zero as `system.rs` does).
    Max(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// A reference to `id`.
    pub fn id(id: &str) -> Expr {
        Expr::Id(id.to_string())
    }

    /// `1 - self` (the share that passes an organ whose extraction is `self`).
    pub fn complement(&self) -> Expr {
        Expr::Minus(Box::new(Expr::Num(1.0)), Box::new(self.clone()))
    }

    /// `self - other`.
    pub fn minus(&self, other: &Expr) -> Expr {
        Expr::Minus(Box::new(self.clone()), Box::new(other.clone()))
    }

    /// `self ^ exponent`.
    pub fn pow(&self, exponent: &Expr) -> Expr {
        Expr::Power(Box::new(self.clone()), Box::new(exponent.clone()))
    }

    /// `max(self, 0)`, the 0 in `unit` (the unit of `self`, so that unit checks pass).
    pub fn at_least_zero(&self, unit: &'static str) -> Expr {
        Expr::Max(Box::new(self.clone()), Box::new(Expr::Measured(0.0, unit)))
    }

    /// `self / by`.
    pub fn over(&self, by: &Expr) -> Expr {
        Expr::Divide(Box::new(self.clone()), Box::new(by.clone()))
    }

    /// `self * by`, leaving out factors of exactly 1 so the MathML stays readable.
    pub fn times(&self, by: &Expr) -> Expr {
        let mut factors = Vec::new();
        for e in [self, by] {
            match e {
                Expr::Num(v) if *v == 1.0 => {}
                Expr::Product(inner) => factors.extend(inner.iter().cloned()),
                other => factors.push(other.clone()),
            }
        }
        match factors.len() {
            0 => Expr::Num(1.0),
            1 => factors.remove(0),
            _ => Expr::Product(factors),
        }
    }

    /// `self + other`, flattening nested sums.
    pub fn plus(&self, other: &Expr) -> Expr {
        let mut terms = Vec::new();
        for e in [self, other] {
            match e {
                Expr::Sum(inner) => terms.extend(inner.iter().cloned()),
                other => terms.push(other.clone()),
            }
        }
        Expr::Sum(terms)
    }

    /// The value, with every identifier looked up in `values`; `None` names an identifier
    /// that is not there.
    pub fn eval(&self, values: &HashMap<String, f64>) -> Result<f64, String> {
        Ok(match self {
            Expr::Num(v) | Expr::Measured(v, _) => *v,
            Expr::Id(id) => *values.get(id).ok_or_else(|| id.clone())?,
            Expr::Sum(terms) => terms
                .iter()
                .map(|t| t.eval(values))
                .sum::<Result<f64, _>>()?,
            Expr::Product(factors) => factors
                .iter()
                .map(|f| f.eval(values))
                .product::<Result<f64, _>>()?,
            Expr::Minus(a, b) => a.eval(values)? - b.eval(values)?,
            Expr::Divide(a, b) => a.eval(values)? / b.eval(values)?,
            Expr::Power(a, b) => a.eval(values)?.powf(b.eval(values)?),
            Expr::Max(a, b) => a.eval(values)?.max(b.eval(values)?),
        })
    }

    /// Adds every identifier the expression uses to `ids`.
    pub fn collect_ids(&self, ids: &mut BTreeSet<String>) {
        match self {
            Expr::Num(_) | Expr::Measured(..) => {}
            Expr::Id(id) => {
                ids.insert(id.clone());
            }
            Expr::Sum(es) | Expr::Product(es) => es.iter().for_each(|e| e.collect_ids(ids)),
            Expr::Minus(a, b) | Expr::Divide(a, b) | Expr::Power(a, b) | Expr::Max(a, b) => {
                a.collect_ids(ids);
                b.collect_ids(ids);
            }
        }
    }

    /// The content MathML of the expression (without the enclosing `<math>`, which must
    /// declare the `sbml` namespace that numbers' units use).
    pub fn mathml(&self) -> String {
        let mut out = String::new();
        self.write_mathml(&mut out);
        out
    }

    fn write_mathml(&self, out: &mut String) {
        let apply = |out: &mut String, op: &str, args: &[&Expr]| {
            write!(out, "<apply><{op}/>").expect("writing to a String cannot fail");
            for a in args {
                a.write_mathml(out);
            }
            out.push_str("</apply>");
        };
        match self {
            // Shortest round-trip decimal (no exponent, which MathML writes differently).
            Expr::Num(v) => write!(out, "<cn sbml:units=\"dimensionless\">{v}</cn>")
                .expect("writing to a String cannot fail"),
            Expr::Measured(v, unit) => write!(out, "<cn sbml:units=\"{unit}\">{v}</cn>")
                .expect("writing to a String cannot fail"),
            Expr::Id(id) => write!(out, "<ci>{id}</ci>").expect("writing to a String cannot fail"),
            Expr::Sum(terms) => apply(out, "plus", &terms.iter().collect::<Vec<_>>()),
            Expr::Product(factors) => apply(out, "times", &factors.iter().collect::<Vec<_>>()),
            Expr::Minus(a, b) => apply(out, "minus", &[a, b]),
            Expr::Divide(a, b) => apply(out, "divide", &[a, b]),
            Expr::Power(a, b) => apply(out, "power", &[a, b]),
            Expr::Max(a, b) => apply(out, "max", &[a, b]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_and_writes_the_same_tree() {
        let e = Expr::id("e");
        let x = Expr::id("q").over(&Expr::id("v")).times(&e.complement());
        let values: HashMap<String, f64> = [("e", 0.25), ("q", 6.0), ("v", 2.0)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(x.eval(&values), Ok(2.25));
        assert_eq!(
            x.mathml(),
            "<apply><times/><apply><divide/><ci>q</ci><ci>v</ci></apply><apply><minus/>\
             <cn sbml:units=\"dimensionless\">1</cn><ci>e</ci></apply></apply>"
        );
        assert_eq!(Expr::id("a").eval(&HashMap::new()), Err("a".to_string()));
    }
}
