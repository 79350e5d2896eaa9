//! Just enough GraphQL for the fake: parse an operation (fields, aliases, arguments with variables, inline
//! fragments `... on Type { … }`), price it the way Shopify does, and trim an answer to what was selected.
//!
//! Cost rules ("GraphQL Admin API rate limits", "Cost calculation",
//! https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and enums 0, objects 1,
//! interfaces and unions the maximum of their possible selections, mutations 10, connections 2 plus
//! `first` × the cost of a node. The requested cost uses `first`; the actual cost counts the nodes returned.
//! An inline fragment's fields join the enclosing selection, marked with their type; the requested cost
//! adds them up, which is that maximum for the single fragment per field that Pivota's documents use.

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Query,
    Mutation,
}

#[derive(Debug)]
pub(crate) struct Operation {
    pub kind: Kind,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub(crate) struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub args: Vec<(String, Value)>,
    pub selection: Vec<Field>,
    /// The type condition of the inline fragment the field was selected in: answered only for that type.
    pub on: Option<String>,
}

impl Field {
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|(key, _)| key == name).map(|(_, value)| value).filter(|value| !value.is_null())
    }

    pub fn child(&self, name: &str) -> Option<&Field> {
        self.selection.iter().find(|field| field.name == name)
    }

    fn first(&self) -> Option<u64> {
        self.arg("first").or_else(|| self.arg("last")).and_then(Value::as_u64)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Punct(char),
    Name(String),
    Str(String),
    Num(String),
    Spread,
}

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() || c == ',' => {
                chars.next();
            }
            '#' => while chars.next().is_some_and(|c| c != '\n') {},
            '.' => {
                for _ in 0..3 {
                    chars.next().filter(|&c| c == '.').ok_or("expected `...`")?;
                }
                tokens.push(Token::Spread);
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ':' | '!' | '$' | '=' | '@' => {
                tokens.push(Token::Punct(c));
                chars.next();
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next().ok_or("unterminated string")? {
                        '"' => break,
                        '\\' => match chars.next().ok_or("unterminated string")? {
                            'n' => text.push('\n'),
                            other => text.push(other),
                        },
                        other => text.push(other),
                    }
                }
                tokens.push(Token::Str(text));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut text = String::new();
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '+'))
                {
                    text.push(c);
                    chars.next();
                }
                tokens.push(Token::Num(text));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut text = String::new();
                while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
                    text.push(c);
                    chars.next();
                }
                tokens.push(Token::Name(text));
            }
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    variables: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, String> {
        let token = self.tokens.get(self.at).cloned().ok_or("unexpected end of document")?;
        self.at += 1;
        Ok(token)
    }

    fn eat(&mut self, punct: char) -> bool {
        if self.peek() == Some(&Token::Punct(punct)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, punct: char) -> Result<(), String> {
        if self.eat(punct) { Ok(()) } else { Err(format!("expected `{punct}`")) }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.next()? {
            Token::Name(name) => Ok(name),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn operation(&mut self) -> Result<Operation, String> {
        let kind = match self.peek() {
            Some(Token::Name(word)) if word == "mutation" => Kind::Mutation,
            _ => Kind::Query,
        };
        if matches!(self.peek(), Some(Token::Name(_))) {
            self.next()?;
            if matches!(self.peek(), Some(Token::Name(_))) {
                self.next()?;
            }
            if self.eat('(') {
                // Variable definitions: their values come from `variables`.
                let mut depth = 1;
                while depth > 0 {
                    match self.next()? {
                        Token::Punct('(') => depth += 1,
                        Token::Punct(')') => depth -= 1,
                        _ => {}
                    }
                }
            }
        }
        let fields = self.selection()?;
        Ok(Operation { kind, fields })
    }

    fn selection(&mut self) -> Result<Vec<Field>, String> {
        self.expect('{')?;
        let mut fields = Vec::new();
        while !self.eat('}') {
            if self.peek() == Some(&Token::Spread) {
                self.next()?;
                if self.name()? != "on" {
                    return Err("only inline fragments with a type condition are supported".into());
                }
                let on = self.name()?;
                for mut field in self.selection()? {
                    field.on.get_or_insert_with(|| on.clone());
                    fields.push(field);
                }
                continue;
            }
            let mut name = self.name()?;
            let mut alias = None;
            if self.eat(':') {
                alias = Some(name);
                name = self.name()?;
            }
            let mut args = Vec::new();
            if self.eat('(') {
                while !self.eat(')') {
                    let key = self.name()?;
                    self.expect(':')?;
                    args.push((key, self.value()?));
                }
            }
            let selection = if self.peek() == Some(&Token::Punct('{')) { self.selection()? } else { Vec::new() };
            fields.push(Field { alias, name, args, selection, on: None });
        }
        Ok(fields)
    }

    fn value(&mut self) -> Result<Value, String> {
        Ok(match self.next()? {
            Token::Punct('$') => {
                let name = self.name()?;
                self.variables.get(&name).cloned().unwrap_or(Value::Null)
            }
            Token::Str(text) => Value::String(text),
            Token::Num(text) => serde_json::from_str(&text).map_err(|_| format!("bad number `{text}`"))?,
            Token::Name(word) => match word.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => Value::String(word),
            },
            Token::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            Token::Punct('{') => {
                let mut object = Map::new();
                while !self.eat('}') {
                    let key = self.name()?;
                    self.expect(':')?;
                    object.insert(key, self.value()?);
                }
                Value::Object(object)
            }
            other => return Err(format!("unexpected {other:?}")),
        })
    }
}

pub(crate) fn parse(document: &str, variables: &Value) -> Result<Operation, String> {
    let mut parser = Parser { tokens: tokenize(document)?, at: 0, variables };
    parser.operation()
}

const MUTATION_COST: u64 = 10;

pub(crate) fn requested_cost(operation: &Operation) -> u64 {
    match operation.kind {
        Kind::Mutation => MUTATION_COST * operation.fields.len() as u64,
        Kind::Query => operation.fields.iter().map(|field| field_cost(field, None)).sum(),
    }
}

pub(crate) fn actual_cost(operation: &Operation, data: &Value) -> u64 {
    match operation.kind {
        Kind::Mutation => MUTATION_COST * operation.fields.len() as u64,
        Kind::Query => operation.fields.iter().map(|field| field_cost(field, Some(&data[field.key()]))).sum(),
    }
}

/// `data`: `None` prices the request (connections full to `first`); `Some` prices what was returned.
fn field_cost(field: &Field, data: Option<&Value>) -> u64 {
    if field.selection.is_empty() {
        return 0;
    }
    let children = |selection: &[Field], data: Option<&Value>| -> u64 {
        selection
            .iter()
            // A fragment on another type than the one returned was not answered, so costs nothing.
            .filter(|child| child.on.is_none() || data.is_none_or(|data| data.get(child.key()).is_some()))
            .map(|child| field_cost(child, data.map(|data| &data[child.key()])))
            .sum()
    };
    let Some(first) = field.first() else {
        return match data {
            Some(Value::Null) => 1,
            _ => 1 + children(&field.selection, data),
        };
    };
    let mut cost = 2;
    for child in &field.selection {
        let returned = data.map(|data| &data[child.key()]);
        let per_node = |node: Option<&Value>| match child.name.as_str() {
            // `edges { cursor node { … } }`: the node is the object.
            "edges" => child
                .selection
                .iter()
                .map(|grandchild| match grandchild.name.as_str() {
                    "node" => 1 + children(&grandchild.selection, node.map(|edge| &edge[grandchild.key()])),
                    _ => field_cost(grandchild, node.map(|edge| &edge[grandchild.key()])),
                })
                .sum::<u64>(),
            _ => 1 + children(&child.selection, node),
        };
        cost += match (child.name.as_str(), returned) {
            ("nodes" | "edges", None) => first * per_node(None),
            ("nodes" | "edges", Some(list)) => {
                list.as_array().map_or(0, |nodes| nodes.iter().map(|node| per_node(Some(node))).sum())
            }
            _ => field_cost(child, returned),
        };
    }
    cost
}

/// Keeps only the selected fields of `value`, under their aliases, as a GraphQL server answers.
pub(crate) fn project(value: &Value, selection: &[Field]) -> Value {
    if selection.is_empty() {
        return value.clone();
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|item| project(item, selection)).collect()),
        Value::Object(object) => Value::Object(
            selection
                .iter()
                .filter(|field| {
                    field.on.is_none() || object.get("__typename").and_then(Value::as_str) == field.on.as_deref()
                })
                .map(|field| {
                    let value = object.get(&field.name).map_or(Value::Null, |value| project(value, &field.selection));
                    (field.key().to_owned(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prices_connections_by_first_and_by_what_came_back() {
        let document = "query P($after: String) { shop { currencyCode } products(first: 50, after: $after) { \
            pageInfo { hasNextPage endCursor } nodes { id featuredMedia { ... on MediaImage { image { url } } } \
            variants(first: 13) { pageInfo { hasNextPage } nodes { id price } } } } }";
        let operation = parse(document, &json!({ "after": "abc" })).unwrap();
        assert_eq!(operation.fields[1].arg("after"), Some(&json!("abc")));
        assert_eq!(requested_cost(&operation), 954);
        let data = json!({
            "shop": { "currencyCode": "EUR" },
            "products": {
                "pageInfo": { "hasNextPage": false, "endCursor": null },
                "nodes": [
                    { "id": "1", "featuredMedia": null,
                      "variants": { "pageInfo": { "hasNextPage": false }, "nodes": [{ "id": "v", "price": "1.00" }] } },
                    { "id": "2", "featuredMedia": { "image": { "url": "https://cdn.example/2.jpg" } },
                      "variants": { "pageInfo": { "hasNextPage": false }, "nodes": [] } },
                    { "id": "3", "featuredMedia": {},
                      "variants": { "pageInfo": { "hasNextPage": false }, "nodes": [] } }
                ]
            }
        });
        // shop 1 + products 2 + pageInfo 1 + (product 1 + media 1 + variants 2 + pageInfo 1 + 1 variant)
        // + (product 1 + media 1 + image 1 + variants 2 + pageInfo 1) + (a video: product 1 + media 1 + 3).
        assert_eq!(actual_cost(&operation, &data), 4 + 6 + 6 + 5);
        assert_eq!(requested_cost(&parse("{ products(first: 250) { nodes { id } } }", &json!({})).unwrap()), 252);
        assert!(parse("{ shop { ...ShopFields } }", &json!({})).is_err());
        let mutation =
            parse("mutation { orderMarkAsPaid(input: { id: \"x\" }) { userErrors { message } } }", &json!({}));
        assert_eq!(requested_cost(&mutation.unwrap()), 10);
    }

    #[test]
    fn an_inline_fragment_answers_only_for_its_type() {
        let operation =
            parse("{ product { featuredMedia { ... on MediaImage { image { url } } } } }", &json!({})).unwrap();
        let selection = &operation.fields[0].selection;
        let image = json!({ "__typename": "MediaImage", "image": { "url": "u" }, "alt": "a" });
        let video = json!({ "__typename": "Video", "image": { "url": "u" } });
        let answer = |media: Value| project(&json!({ "featuredMedia": media }), selection);
        assert_eq!(answer(image), json!({ "featuredMedia": { "image": { "url": "u" } } }));
        assert_eq!(answer(video), json!({ "featuredMedia": {} }));
        assert_eq!(answer(Value::Null), json!({ "featuredMedia": null }));
    }
}
