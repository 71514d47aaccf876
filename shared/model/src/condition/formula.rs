//! Numbered clauses combined by a formula, as the seed's screens write a condition:
//! "(1 AND 2) OR 3". The formula is parsed into the same tree a group makes; a formula that
//! mixes AND and OR at one level without brackets is refused rather than given a precedence
//! nobody reads the same way.

use super::Clause;
use super::compile::{ConditionScope, Node};
use crate::schema::ModuleSchema;
use crate::validation::Problems;

/// A parsed formula: clause numbers are 0-based indices into the clause list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Formula {
    Clause(usize),
    All(Vec<Formula>),
    Any(Vec<Formula>),
}

/// The longest formula accepted: far beyond any screen's clause list.
pub const MAX_FORMULA_LEN: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Number(usize),
    And,
    Or,
    Open,
    Close,
}

fn tokens(formula: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = formula.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            c if c.is_ascii_digit() => {
                let mut end = at + c.len_utf8();
                while let Some((i, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    end = i + d.len_utf8();
                    chars.next();
                }
                let number: usize = formula[at..end]
                    .parse()
                    .map_err(|_| format!("'{}' is not a clause number", &formula[at..end]))?;
                out.push(Token::Number(number));
            }
            c if c.is_alphabetic() => {
                let mut end = at + c.len_utf8();
                while let Some((i, d)) = chars.peek().copied().filter(|(_, d)| d.is_alphabetic()) {
                    end = i + d.len_utf8();
                    chars.next();
                }
                let word = formula[at..end].to_uppercase();
                out.push(match word.as_str() {
                    "AND" | "VÀ" => Token::And,
                    "OR" | "HOẶC" => Token::Or,
                    _ => {
                        return Err(format!(
                            "'{}' is not AND or OR (write clauses as their numbers, for example \"(1 AND 2) OR 3\")",
                            &formula[at..end]
                        ));
                    }
                });
            }
            other => return Err(format!("unexpected '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    clauses: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// A list of operands joined by one operator (AND or OR, never both without brackets).
    fn expression(&mut self, depth: usize) -> Result<Formula, String> {
        if depth > 8 {
            return Err("brackets nest at most 8 deep".into());
        }
        let mut operands = vec![self.operand(depth)?];
        let mut joiner: Option<Token> = None;
        while let Some(op) = self.peek().cloned() {
            if op != Token::And && op != Token::Or {
                break;
            }
            match &joiner {
                Some(j) if *j != op => {
                    return Err(
                        "AND and OR are mixed without brackets: write for example \"(1 AND 2) OR 3\""
                            .into(),
                    );
                }
                _ => joiner = Some(op),
            }
            self.at += 1;
            operands.push(self.operand(depth)?);
        }
        Ok(match joiner {
            None => operands.remove(0),
            Some(Token::And) => Formula::All(operands),
            Some(_) => Formula::Any(operands),
        })
    }

    fn operand(&mut self, depth: usize) -> Result<Formula, String> {
        match self.peek().cloned() {
            Some(Token::Number(n)) => {
                self.at += 1;
                if n == 0 || n > self.clauses {
                    return Err(format!(
                        "there is no clause {n}: the condition has clauses 1 to {}",
                        self.clauses
                    ));
                }
                Ok(Formula::Clause(n - 1))
            }
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.expression(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a bracket is opened and never closed".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Close) => Err("a bracket is closed that was never opened".into()),
            Some(_) => Err("AND or OR needs a clause on each side".into()),
            None => Err("the formula ends where a clause number is expected".into()),
        }
    }
}

/// Parses `formula` over `clauses` numbered clauses; every clause must appear in it.
pub(super) fn parse(formula: &str, clauses: usize) -> Result<Formula, String> {
    if formula.chars().count() > MAX_FORMULA_LEN {
        return Err(format!("at most {MAX_FORMULA_LEN} characters"));
    }
    let mut parser = Parser {
        tokens: tokens(formula)?,
        at: 0,
        clauses,
    };
    if parser.tokens.is_empty() {
        return Err("is required, for example \"(1 AND 2) OR 3\"".into());
    }
    let parsed = parser.expression(0)?;
    match parser.peek() {
        None => {}
        Some(Token::Close) => return Err("a bracket is closed that was never opened".into()),
        Some(_) => return Err("clauses must be joined by AND or OR".into()),
    }
    let mut used = vec![false; clauses];
    parsed.mark(&mut used);
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(format!(
            "clause {} is not in the formula: use every clause, or remove it",
            unused + 1
        ));
    }
    Ok(parsed)
}

impl Formula {
    fn mark(&self, used: &mut [bool]) {
        match self {
            Formula::Clause(i) => used[*i] = true,
            Formula::All(parts) | Formula::Any(parts) => parts.iter().for_each(|p| p.mark(used)),
        }
    }
}

/// The most clauses a formula numbers: as many as a screen shows.
const MAX_FORMULA_CLAUSES: usize = 50;

pub(super) fn compile(
    clauses: &[Clause],
    formula: &str,
    schema: &ModuleSchema,
    scope: ConditionScope,
    path: &str,
    problems: &mut Problems,
) -> Option<Node> {
    if clauses.is_empty() || clauses.len() > MAX_FORMULA_CLAUSES {
        problems.push(
            format!("{path}/clauses"),
            format!("a formula numbers 1 to {MAX_FORMULA_CLAUSES} clauses"),
        );
        return None;
    }
    let nodes: Vec<Option<Node>> = clauses
        .iter()
        .enumerate()
        .map(|(i, clause)| {
            super::compile::compile_clause(
                clause,
                schema,
                scope,
                &format!("{path}/clauses/{i}"),
                problems,
            )
        })
        .collect();
    let parsed = match parse(formula, clauses.len()) {
        Ok(parsed) => parsed,
        Err(message) => {
            problems.push(format!("{path}/formula"), message);
            return None;
        }
    };
    if nodes.iter().any(Option::is_none) {
        return None;
    }
    Some(formula_node(&parsed, &nodes))
}

fn formula_node(formula: &Formula, clauses: &[Option<Node>]) -> Node {
    match formula {
        // Every clause compiled (checked by the caller); an index comes from the parser, in range.
        Formula::Clause(i) => clauses[*i].clone().unwrap_or(Node::All(Vec::new())),
        Formula::All(parts) => Node::All(parts.iter().map(|p| formula_node(p, clauses)).collect()),
        Formula::Any(parts) => Node::Any(parts.iter().map(|p| formula_node(p, clauses)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_group_clauses_as_written() {
        assert_eq!(
            parse("(1 AND 2) OR 3", 3),
            Ok(Formula::Any(vec![
                Formula::All(vec![Formula::Clause(0), Formula::Clause(1)]),
                Formula::Clause(2),
            ]))
        );
        assert_eq!(
            parse("1 and (2 hoặc 3)", 3),
            Ok(Formula::All(vec![
                Formula::Clause(0),
                Formula::Any(vec![Formula::Clause(1), Formula::Clause(2)]),
            ]))
        );
        assert_eq!(parse(" 1 ", 1), Ok(Formula::Clause(0)));
    }

    #[test]
    fn mistakes_are_named() {
        let error = |f: &str, n| parse(f, n).unwrap_err();
        assert!(error("(1 AND 2", 2).contains("never closed"));
        assert!(error("1 AND 2) OR 3", 3).contains("never opened"));
        assert!(error("1 AND 2 OR 3", 3).contains("mixed"));
        assert!(error("1 AND 4", 3).contains("no clause 4"));
        assert!(error("1 AND 0", 3).contains("no clause 0"));
        assert!(error("1 AND 2", 3).contains("clause 3 is not in the formula"));
        assert!(error("1 2", 2).contains("joined by AND or OR"));
        assert!(error("1 AND", 1).contains("ends where"));
        assert!(error("1 XOR 2", 2).contains("'XOR' is not AND or OR"));
        assert!(error("", 0).contains("required"));
        assert!(error("1 & 2", 2).contains("unexpected '&'"));
        assert!(error(&"(".repeat(20), 1).contains("8 deep"));
        assert!(error("99999999999999999999999", 1).contains("not a clause number"));
    }
}
